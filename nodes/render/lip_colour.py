"""Colour matching for a mouth interior taken from another face: the driver's teeth and tongue are
lit and white-balanced like the driver, so they are scaled per channel by the ratio of the two faces'
lip colours before they sit inside the portrait's lips; its teeth, where both faces show some, by the
ratio of the two faces' teeth colours, so they are as white (or as yellow) as the portrait's own."""
from __future__ import annotations

import numpy as np

from app.runtime.gpu.image import Image
from nodes.track.face_model import topology
from nodes.track.types import FaceTrack

GAIN_LIMITS = (0.7, 1.4)  # a ratio outside this is a tracking or lighting outlier, not a skin tone
TEETH_EASE = 0.2  # per frame, how far the held driver's teeth colour moves toward a new reading


def lip_colour(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(3,) mean colour in 0..255 of 5x5 patches around the inner-lip ring (lips, not the gap between)."""
    height, width = rgb.shape[:2]
    ring = landmarks[topology().mouth, :2].round().astype(int)
    offsets = np.arange(-2, 3)
    xs = np.clip(ring[:, 0, None, None] + offsets[None, None, :], 0, width - 1)
    ys = np.clip(ring[:, 1, None, None] + offsets[None, :, None], 0, height - 1)
    return rgb[ys, xs, :3].reshape(-1, 3).astype(np.float64).mean(axis=0)


class LipColourMatch:
    """gain(portrait, its track, driver, its track) -> per-channel gain; the portrait's side is
    measured once per portrait. teeth_gain(...) -> the same for the driver's teeth."""

    def __init__(self) -> None:
        self._portrait: tuple[Image, np.ndarray] | None = None
        self._driver_teeth: np.ndarray | None = None  # the driver's teeth colour, held while they are hidden

    def gain(self, portrait: Image, track: FaceTrack, driver: Image, driver_track: FaceTrack) -> tuple[float, ...]:
        if self._portrait is None or self._portrait[0] is not portrait:
            self._portrait = (portrait, lip_colour(portrait.rgb(), track.landmarks))
        driver_lips = lip_colour(driver.rgb(), driver_track.landmarks)
        ratio = self._portrait[1] / np.maximum(driver_lips, 1.0)
        brightness = ratio.mean()
        tint = np.sqrt(ratio / brightness)  # half the hue shift: lips differ in colour more than teeth do
        return tuple(float(g) for g in np.clip(brightness * tint, *GAIN_LIMITS))

    def teeth_gain(self, portrait_teeth: np.ndarray | None, driver_teeth: np.ndarray | None,
                   lips_gain: tuple[float, ...]) -> tuple[float, ...]:
        """Per-channel gain for the driver's teeth from the two faces' lit teeth colours (0..255, None
        where a face shows none this frame; the driver's last seen is held, eased toward each new reading
        so the teeth do not flicker as the mouth moves). Without the portrait's, the lips' gain without
        its tint: teeth are not tinted like lips."""
        if driver_teeth is not None:
            held = self._driver_teeth
            self._driver_teeth = driver_teeth if held is None else held + TEETH_EASE * (driver_teeth - held)
        if portrait_teeth is None or self._driver_teeth is None:
            return (float(np.mean(lips_gain)),) * 3
        ratio = portrait_teeth / np.maximum(self._driver_teeth, 1.0)
        return tuple(float(g) for g in np.clip(ratio, *GAIN_LIMITS))
