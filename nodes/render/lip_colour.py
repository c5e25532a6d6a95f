"""Colour matching for a mouth interior taken from another face: the driver's teeth and tongue are
lit and white-balanced like the driver, so they are scaled per channel by the ratio of the two faces'
lip colours before they sit inside the portrait's lips; its teeth, where both faces show some, by the
ratio of the two faces' teeth colours, so they are as white (or as yellow) as the portrait's own. Where
the portrait shows no teeth, they take its photo's colour cast as its skin shows it: neutral teeth in a
warm photo (Grace Hopper's) read as cold blue-grey. On the two portraits here that show their teeth, the
skin's cast (half of it, as for the lips) gives their teeth's hue within 0.04 per channel."""
from __future__ import annotations

import numpy as np

from app.runtime.gpu.image import Image
from nodes.track.face_model import topology
from nodes.track.types import FaceTrack

GAIN_LIMITS = (0.7, 1.4)  # a ratio outside this is a tracking or lighting outlier, not a skin tone
TEETH_EASE = 0.2  # per frame, how far the held driver's teeth and skin colours move toward a new reading
CHEEKS = [50, 280, 101, 330, 36, 266, 205, 425]  # skin on both cheeks, clear of lips, eyes, nose and beard line


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


class LipColourMatch:
    """gains(portrait, its track, driver, its track, both faces' teeth colours) -> per-channel gains for
    the driver's lips and for its teeth; the portrait's side is measured once per portrait."""

    def __init__(self) -> None:
        self._portrait: tuple[Image, np.ndarray, np.ndarray] | None = None  # (image, lips, skin colour)
        self._driver_teeth: np.ndarray | None = None  # the driver's teeth colour, held while they are hidden
        self._driver_skin: np.ndarray | None = None  # eased: a hand passing over a cheek does not flash the teeth

    def gains(self, portrait: Image, track: FaceTrack, driver: Image, driver_track: FaceTrack,
              portrait_teeth: np.ndarray | None, driver_teeth: np.ndarray | None
              ) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(lips gain, teeth gain); the teeth colours as `teeth_gain` takes them."""
        if self._portrait is None or self._portrait[0] is not portrait:
            rgb = portrait.rgb()
            self._portrait = (portrait, lip_colour(rgb, track.landmarks), skin_colour(rgb, track.landmarks))
        _, portrait_lips, portrait_skin = self._portrait
        driver_rgb = driver.rgb()
        ratio = portrait_lips / np.maximum(lip_colour(driver_rgb, driver_track.landmarks), 1.0)
        # half the hue shift: lips differ in colour more than teeth do
        lips = tuple(float(g) for g in np.clip(ratio.mean() * _half_cast(ratio), *GAIN_LIMITS))
        self._driver_skin = _ease(self._driver_skin, skin_colour(driver_rgb, driver_track.landmarks))
        cast = _half_cast(portrait_skin / np.maximum(self._driver_skin, 1.0))
        return lips, self.teeth_gain(portrait_teeth, driver_teeth, lips, cast)

    def teeth_gain(self, portrait_teeth: np.ndarray | None, driver_teeth: np.ndarray | None,
                   lips_gain: tuple[float, ...], skin_tint: np.ndarray | None = None) -> tuple[float, ...]:
        """Per-channel gain for the driver's teeth from the two faces' lit teeth colours (0..255, None
        where a face shows none this frame; the driver's last seen is held, eased toward each new reading
        so the teeth do not flicker as the mouth moves). Without the portrait's, the lips' brightness in
        the photo's colour cast (`skin_tint`, per channel about 1; None: none): teeth are not tinted
        like lips."""
        if driver_teeth is not None:
            self._driver_teeth = _ease(self._driver_teeth, driver_teeth)
        if portrait_teeth is None or self._driver_teeth is None:
            cast = np.ones(3) if skin_tint is None else skin_tint
            return tuple(float(g) for g in np.clip(np.mean(lips_gain) * cast, *GAIN_LIMITS))
        ratio = portrait_teeth / np.maximum(self._driver_teeth, 1.0)
        return tuple(float(g) for g in np.clip(ratio, *GAIN_LIMITS))
