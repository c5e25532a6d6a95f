"""A driver's light told apart from its face: the white balance its mouth interior is taken through.

A driver lit by a tungsten bulb, a green office tube or a blue screen has teeth as orange, green or blue as
its light; matched to the portrait by per-channel gains limited for outliers (lip_colour.py), they stayed
so, and the renderer, which tells teeth from lips by how grey they are, took them for lips.

Teeth are about as far from grey as the square root of the skin's colour in the same light (the teeth's
green / red and blue / green ratios are the skin's square roots within 0.03 on the four faces here that
show them), so a light's colour is the teeth's squared over the skin's: on the daylight-balanced footage
here that measures 0.93-1.03 per ratio. Before the driver's teeth have been seen its skin alone says only
this much: whatever part of its colour no face shows in daylight is its light's. That band (green / red
0.62-0.85, blue / green 0.72-1.09 on the clips and photos here; 0.68-0.96 each on the Monk skin tone
scale's swatches) is wide, and a tungsten-lit face lies just past it, so only the excess is taken away.
Colour within either band is left as it is: footage already balanced is untouched, and a warm photo's cast
and a pale or deep skin's own colour with it."""
from __future__ import annotations

import numpy as np

from nodes.render.teeth import LUMA

DAYLIGHT, ODD_LIGHT = 0.05, 0.15  # |log| of a light's green / red or blue / green kept as daylight's; from which
# it is taken out in full (between, less and less of it is kept: past a band's edge, a light left at the edge kept
# tungsten-lit teeth pink enough to be coloured as lips)
DAYLIGHT_SKIN = ((0.58, 0.96), (0.66, 1.12))  # skin's (green / red, blue / green) in daylight
ANY_LIGHT = 0.75  # |log| of a light's green / red or blue / green past which "teeth" are not lit teeth but paint, a
# coloured brace or a sweet (teeth painted blue read as a light of 3.4 times the blue): a tungsten bulb's blue / green
# measures 0.56, a blue screen's 0.16
RESTORE_LIMIT = 3.0  # a channel this far under another has lost what it showed (a red-lit room's blue): the
# balance lifts it no further, and the mouth is then told by its brightness (lip_colour.true_colour)


def light_balance(skin: np.ndarray, teeth: np.ndarray | None = None) -> np.ndarray:
    """(3,) per-channel gains taking a driver's light's cast out of its colours, its skin's brightness kept:
    1 where its teeth ((3,) 0..255, None where none were seen) and skin ((3,) 0..255) look as in daylight."""
    skin = np.maximum(np.asarray(skin, float), 1.0)
    light = skin if teeth is None else _light(skin, teeth)
    red, green, blue = light
    if teeth is None:
        green_band, blue_band = DAYLIGHT_SKIN
        green_share, blue_share = np.clip(green / red, *green_band), np.clip(blue / green, *blue_band)
    else:
        green_share, blue_share = _as_in_daylight(green / red), _as_in_daylight(blue / green)
    gains = np.array([1.0, green_share, green_share * blue_share]) / (light / red)
    gains = np.minimum(gains, RESTORE_LIMIT * gains.min())
    return gains * float(skin @ LUMA) / float((skin * gains) @ LUMA)


def lit_teeth(skin: np.ndarray, teeth: np.ndarray) -> bool:
    """Whether (3,) teeth colours over a (3,) skin colour say a light any room has (ANY_LIGHT), not a colour
    of their own: read as a light, teeth painted blue turned the mouth murky olive, and the opposite cast
    lingered as the held reading eased back."""
    red, green, blue = _light(skin, teeth)
    return bool(np.all(np.abs(np.log([green / red, blue / green])) <= ANY_LIGHT))


def _light(skin: np.ndarray, teeth: np.ndarray) -> np.ndarray:
    """(3,) the light's colour, as the teeth's squared over the skin's (each (3,) 0..255)."""
    return np.maximum(np.asarray(teeth, float), 1.0) ** 2 / np.maximum(np.asarray(skin, float), 1.0)


def _as_in_daylight(ratio: float) -> float:
    """A light's colour ratio as daylight's: kept within DAYLIGHT of 1, then less and less of it, none past
    ODD_LIGHT."""
    off = abs(float(np.log(ratio)))
    kept = off if off <= DAYLIGHT else DAYLIGHT * max(0.0, ODD_LIGHT - off) / (ODD_LIGHT - DAYLIGHT)
    return float(np.exp(np.copysign(kept, np.log(ratio))))
