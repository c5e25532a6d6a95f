#version 330
// Mesh warp: vertices at their posed pixel positions, sampling the target portrait where they were.
uniform vec2 viewport;   // output size in the mesh's pixel units
in vec2 in_pos;          // posed position, pixels, y down
in vec2 in_uv;           // source position in the portrait, 0..1, y down
in float in_shade;       // 0 for textured geometry, 1 for the synthetic mouth interior
out vec2 uv;
out float shade;
void main() {
    vec2 ndc = in_pos / viewport * 2.0 - 1.0;
    gl_Position = vec4(ndc, 0.0, 1.0);   // pixel row 0 lands on GL row 0: images keep their top row first
    uv = in_uv;
    shade = in_shade;
}
