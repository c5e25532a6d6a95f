"""Colour matching for a mouth interior taken from another face: the driver's teeth and tongue are
lit and white-balanced like the driver, so they are scaled per channel by the ratio of the two faces'
lip colours before they sit inside the portrait's lips; its teeth, where both faces show some, by the
ratio of the two faces' teeth colours, so they are as white (or as yellow) as the portrait's own. Where
the portrait shows no teeth, they take its photo's colour cast as its skin shows it: neutral teeth in a
warm photo (Grace Hopper's) read as cold blue-grey. On the two portraits here that show their teeth, the
skin's cast (half of it, as for the lips) gives their teeth's hue within 0.04 per channel.

The two faces' colours are compared as a well-lit face would show them, the driver's with its light's
colour taken out (light_balance.py: a tungsten bulb's orange is not a skin tone), and the result put in the
portrait's exposure (`MouthColour`): the limits on the gains, there for outliers, left a photo at an
eighth of the light with glowing teeth and a driver in a dark room with a black hole. A black and white
portrait's mouth is grey, and a driver whose colours are its light's (no skin is that colourful) gives
its mouth's brightness alone."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.runtime.gpu.image import Image
from nodes.render.light_balance import light_balance, lit_teeth
from nodes.render.ramps import smoothstep
from nodes.render.teeth import LUMA
from nodes.track.face_model import topology
from nodes.track.types import FaceTrack

GAIN_LIMITS = (0.7, 1.4)  # a ratio outside this is a tracking or lighting outlier, not a skin tone
TEETH_EASE = 0.2  # per frame, how far the held driver's teeth and skin colours move toward a new reading
CHEEKS = [50, 280, 101, 330, 36, 266, 205, 425]  # skin on both cheeks, clear of lips, eyes, nose and beard line
FACE_WHITE = 235.0  # luma 0..255 of a well-lit face's brightest 2% (eye whites, highlights): its exposure's mark
COLOURLESS = (0.02, 0.10)  # skin chroma ((max - min) / max) from which a photo counts as in colour: a black and
# white one measures 0.00-0.01, the palest skin in colour about 0.15
UNLIKELY_SKIN = (0.7, 0.9)  # skin chroma from which a driver's colours are its light's, not its own: a dark clip's
# colour crushed to red (its skin (66, 5, 0): 1.0); its mouth then gives its brightness alone. Skin in daylight
# measures 0.2-0.6 (hopper_talks.mp4's warm photo 0.56, deep brown skin about 0.55)
TEETH_TINT = 0.3  # the most chroma ((max - min) / max) a driver's teeth tint keeps: a webcam's measure 0.25-0.27
# (wolfgang_expressions.mp4's in daylight 0.11); more is not teeth, and would make its lips read as teeth
WHITE_SAMPLES = 4000  # pixels of the face's box `face_white` looks at: as sure, and a tenth of the time of all
WHITE_EVERY = 8  # frames between two looks at the driver's exposure (`face_white`; looked at every frame, it cost
# the render 1.5 ms a frame in the full chain, 0.1 ms alone); in between, it follows its cheeks' brightness, which
# are read anyway: a light switched on lifts them at once (held and eased instead, the mouth glowed white for 10
# frames, then jumped)


@dataclass(frozen=True)
class MouthColour:
    """How the mouth's interior is coloured (warp.frag's mouth()): per-channel gains for the driver's lips
    and teeth (exposure included), per channel what lifts or lowers the driver's colours to a well-lit face's
    in daylight (`driver_light`) before its teeth are told apart from its lips (by being as grey as its own
    teeth, whose hue is `driver_teeth_tint`, per channel about 1), the portrait's exposure (the drawn cavity
    and teeth take it), and how much of its colour it keeps (0 in a black and white portrait, or from a
    driver whose colours are its light's), the rest its brightness in the photo's cast (`tint`, per channel
    about 1). Exposures differ from 1 only past what the gains' own limits take up (GAIN_LIMITS): a photo at
    a tenth of the light, a driver in a dark room; the driver's light is balanced only past what a daylight
    face shows."""

    lips: tuple[float, ...] = (1.0, 1.0, 1.0)
    teeth: tuple[float, ...] = (1.0, 1.0, 1.0)
    driver_light: tuple[float, ...] = (1.0, 1.0, 1.0)
    driver_teeth_tint: tuple[float, ...] = (1.0, 1.0, 1.0)
    portrait_exposure: float = 1.0
    saturation: float = 1.0
    tint: tuple[float, ...] = (1.0, 1.0, 1.0)


AS_IT_IS = MouthColour()  # the driver's mouth and the drawn colours as they are


def face_white(rgb: np.ndarray, landmarks: np.ndarray) -> float:
    """The luma 0..255 of the brightest 2% of the face's box (at least 1): how the face is exposed."""
    height, width = rgb.shape[:2]
    low = np.clip(np.floor(landmarks[:, :2].min(axis=0)).astype(int), 0, [width - 1, height - 1])
    high = np.clip(np.ceil(landmarks[:, :2].max(axis=0)).astype(int) + 1, low + 1, [width, height])
    step = max(1, int(np.sqrt((high - low).prod() / WHITE_SAMPLES)))
    box = rgb[low[1]:high[1]:step, low[0]:high[0]:step, :3].reshape(-1, 3)
    return max(1.0, float(np.percentile(box @ LUMA, 98)))


def exposure_beyond_gains(white: float) -> float:
    """How far a face's exposure (`face_white`) lies past what the colour gains take up: 1 within
    GAIN_LIMITS of a well-lit face's, else the rest of the way there."""
    ratio = white / FACE_WHITE
    return ratio / float(np.clip(ratio, *GAIN_LIMITS))


def colourfulness(skin: np.ndarray) -> float:
    """0..1: how much colour a photo keeps, from its skin's (3,) colour: 0 in black and white."""
    return float(smoothstep(*COLOURLESS, _chroma(skin)))


def true_colour(skin: np.ndarray) -> float:
    """0..1: how far a driver's colours can be believed, from its skin's (3,) colour: 0 where no skin is
    that colourful (UNLIKELY_SKIN)."""
    return 1.0 - float(smoothstep(*UNLIKELY_SKIN, _chroma(skin)))


def _chroma(colour: np.ndarray) -> float:
    return float((colour.max() - colour.min()) / max(float(colour.max()), 1.0))


def teeth_tint(teeth: np.ndarray) -> tuple[float, ...]:
    """The hue of (3,) teeth colours, per channel about 1 (their mean 1), as far from grey as TEETH_TINT allows:
    the renderer tells teeth by being as grey as these. Told by greyness alone, a webcam's soft yellowish
    teeth took the lips' red gain, salmon where they were bright."""
    hue = np.maximum(np.asarray(teeth, float), 1.0)
    off = hue / hue.mean() - 1.0
    if _chroma(1.0 + off) > TEETH_TINT:  # scaled by k, its chroma is k * spread / (1 + k * the top's)
        off *= TEETH_TINT / (np.ptp(off) - TEETH_TINT * off.max())
    return tuple(float(c) for c in 1.0 + off)


def lip_colour(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) mean colour in 0..255 of 5x5 patches around the inner-lip ring (lips, not the gap between)."""
    height, width = rgb.shape[:2]
    ring = landmarks[topology().mouth, :2].round().astype(int)
    offsets = np.arange(-2, 3)
    xs = np.clip(ring[:, 0, None, None] + offsets[None, None, :], 0, width - 1)
    ys = np.clip(ring[:, 1, None, None] + offsets[None, :, None], 0, height - 1)
    return rgb[ys, xs, :3].reshape(-1, 3).astype(np.float64).mean(axis=0)


def skin_colour(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) colour in 0..255 of the cheeks: the median of 5x5 patches at CHEEKS (a hand on one cheek is
    outvoted)."""
    height, width = rgb.shape[:2]
    spots = landmarks[CHEEKS, :2].round().astype(int)
    offsets = np.arange(-2, 3)
    xs = np.clip(spots[:, 0, None, None] + offsets[None, None, :], 0, width - 1)
    ys = np.clip(spots[:, 1, None, None] + offsets[None, :, None], 0, height - 1)
    return np.median(rgb[ys, xs, :3].astype(np.float64).mean(axis=(1, 2)), axis=0)


def _half_cast(ratio: np.ndarray) -> np.ndarray:
    """Half of a per-channel colour ratio's hue shift, its brightness taken out (about 1 per channel)."""
    return np.sqrt(ratio / ratio.mean())


def _ease(held: np.ndarray | None, reading: np.ndarray) -> np.ndarray:
    return reading if held is None else held + TEETH_EASE * (reading - held)


@dataclass(frozen=True)
class _PortraitSide:
    image: Image
    lips: np.ndarray  # (3,) 0..255, at a well-lit face's exposure (`exposure_beyond_gains` taken out)
    skin: np.ndarray  # likewise
    exposure: float  # `exposure_beyond_gains`
    saturation: float  # `colourfulness`
    tint: tuple[float, ...]  # half its skin's cast


class LipColourMatch:
    """colour(portrait, its track, driver, its track, both faces' teeth colours) -> the `MouthColour` of
    the driver's mouth interior in the portrait; drawn(portrait, its track) that of a drawn one. The
    portrait's side is measured once per portrait."""

    def __init__(self) -> None:
        self._portrait: _PortraitSide | None = None
        self._driver_teeth: np.ndarray | None = None  # the driver's teeth colour over its skin's (`held_teeth`)
        self._driver_skin: np.ndarray | None = None  # balanced, and eased: a hand passing over a cheek does not
        # flash the teeth
        self._white_looked: tuple[float, float] | None = None  # the driver's `face_white` at the last look, and
        # its cheeks' luma then
        self._frames = 0  # frames coloured: the driver's exposure is looked at every WHITE_EVERY of them
        self.driver_balance = np.ones(3)  # the last frame's `light_balance` of the driver: its teeth are read so

    def drawn(self, portrait: Image, track: FaceTrack) -> MouthColour:
        """A drawn cavity and teeth in the portrait's exposure and colour."""
        side = self._side(portrait, track)
        return MouthColour(portrait_exposure=side.exposure, saturation=side.saturation, tint=side.tint)

    def colour(self, portrait: Image, track: FaceTrack, driver: Image, driver_track: FaceTrack,
               portrait_teeth: np.ndarray | None, driver_teeth: np.ndarray | None) -> MouthColour:
        """The driver's mouth in the portrait; the teeth colours (0..255, as lit) as `teeth_gain` takes them.
        Both faces' colours are compared as a well-lit face would show them, the driver's in daylight
        (`light_balance`); the gains then take the portrait's exposure."""
        side = self._side(portrait, track)
        driver_rgb = driver.rgb()
        skin = skin_colour(driver_rgb, driver_track.landmarks)
        cheeks = max(float(skin @ LUMA), 1.0)
        if self._white_looked is None or self._frames % WHITE_EVERY == 0:
            self._white_looked = (face_white(driver_rgb, driver_track.landmarks), cheeks)
        self._frames += 1
        white, cheeks_then = self._white_looked
        lift = 1.0 / exposure_beyond_gains(white * cheeks / cheeks_then)  # the driver's colours at a well-lit face's
        lit = driver_teeth is not None and lit_teeth(skin, driver_teeth)
        teeth_to_skin = self.held_teeth(driver_teeth / np.maximum(skin, 1.0) if lit else None)
        # the balance follows a light at once; the skin is eased only once balanced (its light taken out)
        skin = skin * lift
        balance = light_balance(skin, None if teeth_to_skin is None else teeth_to_skin * skin)
        self.driver_balance = balance
        self._driver_skin = _ease(self._driver_skin, skin * balance)
        ratio = side.lips / np.maximum(lip_colour(driver_rgb, driver_track.landmarks) * lift * balance, 1.0)
        # half the hue shift: lips differ in colour more than teeth do
        lips = np.clip(ratio.mean() * _half_cast(ratio), *GAIN_LIMITS)
        cast = _half_cast(side.skin / np.maximum(self._driver_skin, 1.0))
        held_teeth = None if teeth_to_skin is None else teeth_to_skin * self._driver_skin  # balanced
        teeth = teeth_gain(None if portrait_teeth is None else portrait_teeth / side.exposure, held_teeth,
                           tuple(lips), cast)
        tint = (1.0, 1.0, 1.0) if held_teeth is None else teeth_tint(held_teeth)
        return MouthColour(tuple(float(g) * side.exposure for g in lips), tuple(float(g) * side.exposure for g in teeth),
                           tuple(float(g) for g in lift * balance), tint, side.exposure,
                           side.saturation * true_colour(self._driver_skin), side.tint)

    def held_teeth(self, reading: np.ndarray | None) -> np.ndarray | None:
        """The driver's teeth colour over its skin's (per channel): its last seen held while they are hidden
        (None before any), eased toward each new reading so the teeth do not flicker as the mouth moves. Held
        as a share of the skin's, it follows a light switched while the mouth is shut (held as it was lit,
        tungsten-lit teeth over a skin back in daylight would read as a light bluer than daylight)."""
        if reading is not None:
            self._driver_teeth = _ease(self._driver_teeth, reading)
        return self._driver_teeth

    def _side(self, portrait: Image, track: FaceTrack) -> _PortraitSide:
        if self._portrait is None or self._portrait.image is not portrait:
            rgb = portrait.rgb()
            exposure = exposure_beyond_gains(face_white(rgb, track.landmarks))
            skin = skin_colour(rgb, track.landmarks)
            self._portrait = _PortraitSide(portrait, lip_colour(rgb, track.landmarks) / exposure, skin / exposure,
                                           exposure, colourfulness(skin),
                                           tuple(float(c) for c in _half_cast(np.maximum(skin, 1.0))))
        return self._portrait


def teeth_gain(portrait_teeth: np.ndarray | None, driver_teeth: np.ndarray | None, lips_gain: tuple[float, ...],
               skin_tint: np.ndarray | None = None) -> tuple[float, ...]:
    """Per-channel gain for the driver's teeth from the two faces' lit teeth colours (0..255, None where a
    face has shown none). Without the portrait's, the lips' brightness in the photo's colour cast
    (`skin_tint`, per channel about 1; None: none): teeth are not tinted like lips."""
    if portrait_teeth is None or driver_teeth is None:
        cast = np.ones(3) if skin_tint is None else skin_tint
        return tuple(float(g) for g in np.clip(np.mean(lips_gain) * cast, *GAIN_LIMITS))
    ratio = portrait_teeth / np.maximum(driver_teeth, 1.0)
    return tuple(float(g) for g in np.clip(ratio, *GAIN_LIMITS))
