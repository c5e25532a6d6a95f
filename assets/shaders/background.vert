#version 330
// The background layer (warp_mesh.py): only what it needs, so each of its many pixels costs little.
uniform vec2 viewport;   // output size in the mesh's pixel units
uniform vec4 window;     // the part of the output the framebuffer holds: origin, size (0..1 of it)
in vec2 in_pos;          // posed position, pixels, y down
in float in_depth;       // behind the face, except on the outline it shares with it
in vec2 in_uv;           // source position in the portrait, 0..1, y down
out vec2 uv;
void main() {
    gl_Position = vec4((in_pos / viewport - window.xy) / window.zw * 2.0 - 1.0, in_depth * 2.0 - 1.0, 1.0);
    uv = in_uv;
}
