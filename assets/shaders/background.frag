#version 330
// The portrait around the face. Where it has not moved it is shown as it is (soft hair edges
// included); where it moved, what is not the person gives way to the plate, the room behind the person
// (a soft silhouette edge stretched wide would read as a translucent ghost: moved, it is made hard), and
// the room the portrait shows stays where it is.
// What the face itself draws beyond its outline (a turned face's nose and far cheek) is not shown here
// once moved: the face layer draws it where it went, and a second copy would double the outline.
uniform sampler2D portrait;   // RGB; alpha: the person, less the face's own pixels outside its outline
uniform sampler2D plate;      // the room behind the person
uniform sampler2D room_stays; // r: how firmly the room the portrait shows stays put as the person moves
                              // (plate.py); g: the face's own pixels outside its outline (face_cover)
uniform vec2 viewport;        // the portrait's size in pixels
uniform vec2 out_size;        // the framebuffer's size: gl_FragCoord / out_size is where a pixel lands, 0..1
uniform vec2 frame_origin;  // the output pixel of the framebuffer's pixel (0, 0)
uniform float room_from;    // pixels moved from which the room shows the plate where it lands (warp_mesh.room_from)
uniform float cover_gone;   // 0..1, a turned head turned back: its far side's edge is no longer where the portrait
                            // has it, so the portrait's copy gives way even where it barely moved (a second edge)
in vec2 uv;
out vec4 color;
#include "sharp_sample.glsl"
void main() {
#ifdef ROOM  // triangles that show the room where they lie (warp_mesh.py), as the frame around the face's box starts
    color = vec4(texture(plate, (gl_FragCoord.xy + frame_origin) / out_size).rgb, 1.0);
    return;
#endif
    vec4 person = sampled(portrait, uv);
#ifdef STILL  // triangles moved by under 2 pixels (warp_mesh.py): llvmpipe would run the branch below, taken or not
    color = vec4(person.rgb, 1.0);
    return;
#endif
    vec2 here = (gl_FragCoord.xy + frame_origin) / out_size;
    float still = 1.0 - smoothstep(2.0, room_from, length((uv - here) * viewport));  // pixels moved
    vec2 kept = texture(room_stays, uv).rg;
    float stays = kept.r;
    float cover = kept.g * cover_gone;
    vec3 shown = person.rgb;
    if (still < 0.999 || stays > 0.0 || cover > 0.0) {  // most of the background has not moved: no plate fetch
        float keep = max(mix(smoothstep(0.35, 0.65, person.a), person.a, still), still) * (1.0 - stays) * (1.0 - cover);
        shown = mix(texture(plate, here).rgb, person.rgb, keep);
    }
    color = vec4(shown, 1.0);
}
