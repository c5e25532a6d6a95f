#version 330
// The layers of the portrait render (nodes/render/warp_mesh.py):
// 0 the portrait itself; 1 a drawn mouth cavity, lit near the upper lip where the teeth are; 2 the
// driver's own mouth interior, colour-matched to the portrait's lips and teeth (both shaded into the
// cavity by the layer's fraction, and mixed by gap_own with the portrait's own interior: a mouth opened no
// wider than the portrait's shows its own);
// 3 (right) / 5 (left) an eye:
// the portrait's own eye, faded (by the layer's fraction) into an eyeball made of the portrait's iris
// disc on its sclera colour, so a wide-open eye is not a stretched smear of lashes;
// 7 the portrait's own upper teeth mirrored as its lower teeth (mouth.py), in the upper ones' shadow.
// The background around the face is drawn by background.frag.
uniform sampler2D portrait;   // RGB, and the person mask as alpha
uniform sampler2D driver;
uniform sampler2D plate;      // the room behind the person
uniform sampler2D extended;   // the person's colours carried past their silhouette over the room
uniform float turned_back;    // 0..1: how far the pose turns a turned head back toward the camera
uniform vec2 viewport;        // the portrait's size in pixels
uniform vec2 out_size;        // the framebuffer's size
uniform vec2 frame_origin;  // the output pixel of the framebuffer's pixel (0, 0)
uniform vec3 driver_gain;     // per channel: the portrait's lip colour over the driver's
uniform vec3 driver_teeth_gain;  // the same for teeth (lip_colour.py)
uniform vec3 driver_light;       // the driver's colours times this are a well-lit face's in daylight (lip_colour.py)
uniform vec3 driver_teeth_tint;  // the hue of the driver's own teeth (about 1 per channel): as grey as them is teeth
uniform float mouth_exposure;    // the drawn cavity and teeth times this are in the portrait's exposure
uniform float mouth_saturation;  // 0..1: how much colour the interior keeps (0 in a black and white portrait);
uniform vec3 mouth_tint;         // the rest is its brightness in the photo's cast
uniform float driver_share;   // how much of the gap the driver's mouth fills (a mouth a few pixels high: little)
uniform float gap_own;        // how much of the gap is the portrait's own interior
uniform vec3 cavity_color;
uniform vec3 teeth_color;
uniform vec2 iris[2];         // portrait 0..1 iris centres, right and left
uniform vec2 iris_radius[2];  // portrait 0..1 iris radii along x and y
uniform vec2 sclera[4];       // two sample points on the white of each eye (right eye first)
uniform vec2 lashes[6];       // three points just inside each eye's upper lid edge, on its lashes (right eye first)
uniform float eye_closure[2]; // 0..1: nearly shut, the slit left between the lids is drawn as the lashes
const float LOWER_TEETH_LIGHT = 0.8;  // lower teeth sit in the upper ones' shadow
in vec2 uv;
in vec2 st;
in float layer;
out vec4 color;
#include "sharp_sample.glsl"

vec3 brighter(vec3 a, vec3 b) {
    return dot(a, vec3(0.299, 0.587, 0.114)) > dot(b, vec3(0.299, 0.587, 0.114)) ? a : b;
}

vec3 darker(vec3 a, vec3 b) {
    return brighter(a, b) == a ? b : a;
}

vec3 eyeball(int eye) {
    float r = length(st);
    vec3 white = brighter(texture(portrait, sclera[2 * eye]).rgb, texture(portrait, sclera[2 * eye + 1]).rgb);
    white *= 0.82 + 0.18 * smoothstep(-1.8, 0.6, st.y);  // the upper lid's shadow
    vec3 disc = sampled(portrait, iris[eye] + st * iris_radius[eye]).rgb;  // moved with the gaze, as skin is
    disc *= mix(1.0, 0.7, smoothstep(0.75, 1.0, r));        // the darker limbal ring
    return mix(disc, white, smoothstep(0.95, 1.08, r));
}

float moved_pixels() {  // how far the portrait's pixel drawn here moved
    return length((uv - (gl_FragCoord.xy + frame_origin) / out_size) * viewport);
}

// An own pixel that is the person's colour blended with the room behind it (the soft silhouette: a far
// eye's corner, a cheek's edge), moved inside the face, takes the person's colour alone (`carried`): a
// turned portrait's, stretched by a laugh, ran down the far cheek as a blue tear; a frontal one's, turned,
// was a pale line across the cheek with the ear lobe beyond it. A brow, lash or shadow is no such blend.
vec3 unblended(vec3 own, vec3 carried, float moved) {
    vec3 towards = texture(plate, uv).rgb - carried;
    float room_share = clamp(dot(own - carried, towards) / max(dot(towards, towards), 1e-4), 0.0, 1.0);
    float blend = room_share * (1.0 - smoothstep(0.08, 0.2, length(own - carried - room_share * towards)));
    return mix(own, carried, smoothstep(0.1, 0.3, blend) * smoothstep(2.0, 12.0, moved));
}

// The face's skin, code 0, most of the face's pixels: llvmpipe runs every branch of a shader whether a
// pixel takes it or not, so skin is drawn by a variant of this program with TEXTURED_ONLY defined
// (twice as cheap; with TURNED too for a turned portrait), the mouth's and eyes' layers by one without it.
vec3 textured() {
#ifdef TURNED  // a turned portrait (edges.py); a frontal one has neither of these and is drawn without them
    // the layer's fraction: how far this point draws its left-right counterpart's skin (at st) instead of
    // its own: a turned face's far side, which the portrait saw edge-on or hid behind its nose
    vec4 own = sampled(portrait, uv);
    vec4 counterpart = sampled(portrait, st);
    vec3 carried = texture(extended, uv).rgb;
    // where a point draws any of its counterpart, an own pixel that is not the person's colour (the far eye's
    // corner and cheek blended with the room at the silhouette) gives way to it altogether: mixed in only as
    // far as the point draws its counterpart, it ran down the far cheek as a blue-grey streak (a pixel that
    // draws an eighth of its counterpart or more takes all of it)
    float off_colour = smoothstep(0.08, 0.2, distance(own.rgb, carried));
    // and one blended with the room at the soft silhouette takes the person's colour alone (unblended)
    own.rgb = unblended(own.rgb, carried, moved_pixels());
    vec4 person = mix(own, counterpart, max(layer, min(1.0, 8.0 * layer) * off_colour));
#else
    vec4 person = sampled(portrait, uv);
#endif
    vec3 shown = person.rgb;
    if (person.a < 0.9) {  // the soft silhouette, and the face's triangles over the room past it
        float moved = moved_pixels();
        // past the silhouette, a lower threshold than the background's: the person mask cuts a little into
        // the face's own edge. A frontal face turned brings a cheek and temple toward the camera, over what
        // the portrait shows as the room past them (a white door showed inside the face as a pale blob): the
        // person's colours carried there instead (a turned portrait's far side is handled below)
#ifdef TURNED
        vec3 behind = texture(plate, (gl_FragCoord.xy + frame_origin) / out_size).rgb;
#else
        vec3 behind = texture(extended, uv).rgb;
        shown = unblended(shown, behind, moved);  // (a turned portrait's own pixels were, above)
#endif
        shown = mix(behind, shown, max(smoothstep(0.1, 0.4, person.a), 1.0 - smoothstep(2.0, 12.0, moved)));
    }
#ifdef TURNED
    // turned back toward the camera, the face shows its far cheek where the portrait shows the room past
    // its silhouette, and the soft edge between them: the counterpart's skin where it looks like the
    // person's colours carried there (the near cheek's, not the hair or ear beside it), else those colours
    float alike = (1.0 - smoothstep(0.08, 0.2, distance(counterpart.rgb, carried)))
                  * smoothstep(0.5, 0.8, counterpart.a);
    shown = mix(shown, mix(carried, counterpart.rgb, alike), turned_back * (1.0 - smoothstep(0.5, 0.8, person.a)));
#endif
    return shown;
}

vec3 mouth(int code) {
    vec3 source;
    vec3 cavity = cavity_color * mouth_exposure;
    if (code == 2) {
        vec3 mouth = texture(driver, st).rgb * driver_light;  // as a well-lit face: its teeth read as teeth
        // bright and as grey as its own teeth is teeth: coloured like the portrait's teeth, not tinted like its lips
        vec3 hue = mouth / driver_teeth_tint;
        float teeth = smoothstep(0.35, 0.6, dot(mouth, vec3(0.299, 0.587, 0.114)))
                    * (1.0 - smoothstep(0.08, 0.2, max(hue.r, max(hue.g, hue.b)) - min(hue.r, min(hue.g, hue.b))));
        source = clamp(mouth * mix(driver_gain, driver_teeth_gain, teeth), 0.0, 1.0);
        // a plain cavity where the driver's mouth is too small to use, shaded by it (not a flat hole)
        source = mix(cavity * (0.6 + dot(mouth, vec3(0.299, 0.587, 0.114))), source, driver_share);
    } else {
        float teeth = smoothstep(0.34, 0.16, st.y) * smoothstep(0.0, 0.25, 0.5 - abs(st.x - 0.5));
        float depth = 1.0 - abs(st.x - 0.5) * 2.0;
        source = mix(cavity * (1.0 - 0.5 * depth), teeth_color * mouth_exposure, teeth);
    }
    // shaded into the cavity (mouth.py): the corners under the portrait's own teeth, which the cheeks shade,
    // and where the driver's teeth fill its mouth (in full: a sixth of them left showed as a grey ribbon)
    source = mix(source, 0.6 * cavity, layer - float(code));
    source = mix(dot(source, vec3(0.299, 0.587, 0.114)) * mouth_tint, source, mouth_saturation);
    return mix(source, sampled(portrait, uv).rgb, gap_own);
}

vec3 eye(int code) {
    int eye = code >= 5 ? 1 : 0;
    float weight = layer - float(code);
    vec3 open_eye = mix(sampled(portrait, uv).rgb, eyeball(eye), weight);
    vec3 lash = darker(darker(texture(portrait, lashes[3 * eye]).rgb, texture(portrait, lashes[3 * eye + 1]).rgb),
                       texture(portrait, lashes[3 * eye + 2]).rgb);
    return mix(open_eye, lash, eye_closure[eye]);
}

void main() {
#ifdef TEXTURED_ONLY
    color = vec4(textured(), 1.0);
#else
    int code = int(floor(layer + 1e-3));
    color = vec4(code <= 2 ? mouth(code) : code == 7 ? LOWER_TEETH_LIGHT * sampled(portrait, uv).rgb : eye(code), 1.0);
#endif
}
