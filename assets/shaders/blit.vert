#version 330
// A full-window quad from gl_VertexID, no vertex buffer needed; uv y down (row 0 = top of the image).
out vec2 uv;
uniform vec2 scale;  // letterboxing: the image's share of the window on each axis
void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
    uv = vec2(corner.x, 1.0 - corner.y);
    gl_Position = vec4((corner * 2.0 - 1.0) * scale, 0.0, 1.0);
}
