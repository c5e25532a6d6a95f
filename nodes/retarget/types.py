"""The Motion port type: how to pose the target, in target pixels."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.runtime.ports import PortType


@dataclass(frozen=True)
class Motion:
    """How to pose the target: where each target landmark goes, in target pixels.

    landmarks: (478, 3) float32 target-image pixels after retargeting (the render's mesh vertices).
    gaze: (2, 2) float32 iris shift per eye (right, left) in eye widths, relative to the portrait's own.
    valid: False when nothing drives the target (the renderer shows the portrait as it is).
    image_size: (width, height) of the portrait the landmarks refer to, when known.
    lips_cover: 0..1, the share of the portrait's own mouth interior (its teeth) its lips now cover: a
        smiling portrait's mouth relaxed closed over its teeth (retarget.face `portrait_smile`).
    """

    landmarks: np.ndarray
    gaze: np.ndarray = field(default_factory=lambda: np.zeros((2, 2), np.float32))
    valid: bool = True
    timestamp: float = 0.0
    image_size: tuple[int, int] | None = None
    lips_cover: float = 0.0


def _summary(motion: Motion) -> str:
    return f"motion ({'valid' if motion.valid else 'holding / easing back'}), {len(motion.landmarks)} points"


MOTION = PortType("Motion", (Motion,), (204, 121, 167), _summary)
