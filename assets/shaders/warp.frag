#version 330
// Textured warp. Where the mouth opens wider than in the portrait (shade > 0) its inside is drawn,
// not stretched from the lips: a dark cavity, lit near the upper lip where the teeth are.
uniform sampler2D portrait;
uniform vec3 cavity_color;
uniform vec3 teeth_color;
in vec2 uv;       // portrait coordinates, or mouth coordinates (u across, v upper->lower lip)
in float shade;   // 0 textured, 1 synthetic mouth interior
out vec4 color;
void main() {
    if (shade <= 0.0) {
        color = vec4(texture(portrait, uv).rgb, 1.0);
        return;
    }
    float teeth = smoothstep(0.34, 0.16, uv.y) * smoothstep(0.0, 0.25, 0.5 - abs(uv.x - 0.5));
    float depth = 1.0 - abs(uv.x - 0.5) * 2.0;
    vec3 inside = mix(cavity_color * (1.0 - 0.5 * depth), teeth_color, teeth);
    color = vec4(inside, 1.0);
}
