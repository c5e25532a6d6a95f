#version 330
// Textured warp. Where the mouth opens wider than in the portrait (shade > 0) its inside is not
// stretched from the lips: it is the driver's own mouth interior (shade 2), colour-matched to the
// portrait's lips, or a drawn cavity lit near the upper lip where the teeth are (0 < shade <= 1).
uniform sampler2D portrait;
uniform sampler2D driver;
uniform vec3 driver_gain;  // per-channel: the portrait's lip colour over the driver's
uniform vec3 cavity_color;
uniform vec3 teeth_color;
in vec2 uv;       // portrait coordinates, driver coordinates, or mouth coordinates (u across, v upper->lower lip)
in float shade;   // 0 textured, 0..1 drawn mouth interior, 2 the driver's mouth
out vec4 color;
void main() {
    if (shade <= 0.0) {
        color = vec4(texture(portrait, uv).rgb, 1.0);
        return;
    }
    if (shade > 1.5) {
        color = vec4(clamp(texture(driver, uv).rgb * driver_gain, 0.0, 1.0), 1.0);
        return;
    }
    float teeth = smoothstep(0.34, 0.16, uv.y) * smoothstep(0.0, 0.25, 0.5 - abs(uv.x - 0.5));
    float depth = 1.0 - abs(uv.x - 0.5) * 2.0;
    vec3 inside = mix(cavity_color * (1.0 - 0.5 * depth), teeth_color, teeth);
    color = vec4(inside, 1.0);
}
