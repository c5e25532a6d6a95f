#version 330
// The resolved, multisampled face box copied into the frame at its place (nodes/render/portrait.py).
uniform sampler2D box;
uniform ivec2 origin;  // the frame pixel of the box's pixel (0, 0)
out vec4 color;
void main() {
    color = texelFetch(box, ivec2(gl_FragCoord.xy) - origin, 0);
}
