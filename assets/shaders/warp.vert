#version 330
// Mesh warp: vertices at their posed pixel positions and depths, sampling the portrait where they were.
uniform vec2 viewport;   // output size in the mesh's pixel units
uniform vec4 window;     // the part of the output the framebuffer holds: origin, size (0..1 of it)
in vec2 in_pos;          // posed position, pixels, y down
in float in_depth;       // 0 near .. 1 far: a turned face hides its own far side
in vec2 in_uv;           // source position in the portrait, 0..1, y down
in vec2 in_st;           // the layer's own coordinates (eye: iris radii; mouth: driver or mouth space;
                         // skin: its left-right counterpart's uv)
in float in_layer;       // see warp_mesh.py: 0 skin + its counterpart's share, 1/2 mouth gap + its shade,
                         // 3/5 eye + eyeball weight
out vec2 uv;
out vec2 st;
out float layer;        // interpolated: the mouth's gap varies its fraction across the mouth
void main() {
    vec2 ndc = (in_pos / viewport - window.xy) / window.zw * 2.0 - 1.0;
    gl_Position = vec4(ndc, in_depth * 2.0 - 1.0, 1.0);   // pixel row 0 lands on GL row 0: top row first
    uv = in_uv;
    st = in_st;
    layer = in_layer;
}
