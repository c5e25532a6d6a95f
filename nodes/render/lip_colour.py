"""Colour matching for a mouth interior taken from another face: the driver's teeth and tongue are
lit and white-balanced like the driver, so they are scaled per channel by the ratio of the two faces'
lip colours before they sit inside the portrait's lips."""
from __future__ import annotations

import numpy as np

from app.runtime.gpu.image import Image
from nodes.track.face_model import topology
from nodes.track.types import FaceTrack

GAIN_LIMITS = (0.7, 1.4)  # a ratio outside this is a tracking or lighting outlier, not a skin tone


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
    measured once per portrait."""

    def __init__(self) -> None:
        self._portrait: tuple[Image, np.ndarray] | None = None

    def gain(self, portrait: Image, track: FaceTrack, driver: Image, driver_track: FaceTrack) -> tuple[float, ...]:
        if self._portrait is None or self._portrait[0] is not portrait:
            self._portrait = (portrait, lip_colour(portrait.rgb(), track.landmarks))
        driver_lips = lip_colour(driver.rgb(), driver_track.landmarks)
        ratio = self._portrait[1] / np.maximum(driver_lips, 1.0)
        brightness = ratio.mean()
        tint = np.sqrt(ratio / brightness)  # half the hue shift: lips differ in colour more than teeth do
        return tuple(float(g) for g in np.clip(brightness * tint, *GAIN_LIMITS))
