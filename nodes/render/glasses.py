"""Glasses ride on the head, not on the face's expression. In a portrait that wears them, the landmarks
around each eye that the lenses and rims cover (all but the lids and irises) move with the head alone:
a smile raised the cheeks under the lower rims and bent them, a frown bent the bar over the brows.
The lids still close and the eyes still look about behind them.
"""
from __future__ import annotations

import cv2
import numpy as np

from nodes.render.ramps import smoothstep
from nodes.track.face_model import (LEFT_EYE_CORNERS, MESH_POINTS, RIGHT_EYE_CORNERS, from_head_space, procrustes,
                                    reference_shape, to_head_space, topology)

# Down the nose's bridge, from between the brows (9) to below the eyes (197): a bar across it this much
# darker or lighter than the bridge a tenth of its length above and below (grey levels) is a pair of
# glasses' bridge. Measured: Hopper's 64, 30-49 in hopper_talks.mp4 (her face half as wide); faces without
# glasses 2-16 (the bundled and real portraits, wolfgang_expressions.mp4: a fringe's shadow, a furrow).
BRIDGE_BAR = 24.0
BRIDGE_SAMPLES = 60
BAR_REACH = 6  # samples above and below a bar that it is compared with
LENS = (1.1, 1.0)  # of the eye's width: a lens's half width and half height around the eye's centre
LENS_EASE = 1.3  # the share that moves with the head alone eases to nothing at this many times a lens


def wears_glasses(rgb: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether the (H, W, 3) uint8 portrait's face, (478, 2|3) landmark pixels, shows a glasses' bridge."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    top, bottom = landmarks[9, :2].astype(np.float32), landmarks[197, :2].astype(np.float32)
    along = top + (bottom - top) * np.linspace(0.0, 1.0, BRIDGE_SAMPLES, dtype=np.float32)[:, None]
    across = np.array([top[1] - bottom[1], bottom[0] - top[0]], np.float32)
    across /= max(float(np.linalg.norm(across)), 1e-6)
    width = float(np.ptp(landmarks[:MESH_POINTS, 0]))
    # float32 maps throughout: OpenCV 5's remap refuses float64 ones
    offsets = np.linspace(-0.03 * width, 0.03 * width, 5, dtype=np.float32)
    profile = np.mean([cv2.remap(grey, (along[:, 0] + k * across[0])[None], (along[:, 1] + k * across[1])[None],
                                 cv2.INTER_LINEAR)[0] for k in offsets], axis=0)
    bar = np.abs(profile[BAR_REACH:-BAR_REACH] - (profile[:-2 * BAR_REACH] + profile[2 * BAR_REACH:]) / 2)
    return float(bar.max()) > BRIDGE_BAR


def lens_weights(src: np.ndarray) -> np.ndarray:
    """(478,) 0..1 per landmark of the portrait's (478, 2|3) pixels: how far it moves with the head alone
    (1 under the lenses and rims, easing to 0 past them; 0 on the lids and irises)."""
    weights = np.zeros(len(src))
    points = src[:, :2].astype(np.float64)
    for corners in (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS):
        ends = points[list(corners)]
        axis = ends[1] - ends[0]
        eye_width = max(float(np.linalg.norm(axis)), 1e-6)
        axis /= eye_width
        offset = points - ends.mean(axis=0)
        along, up = offset @ axis, offset @ np.array([-axis[1], axis[0]])
        radius = np.hypot(along / (LENS[0] * eye_width), up / (LENS[1] * eye_width))
        weights = np.maximum(weights, 1.0 - smoothstep(1.0, LENS_EASE, radius))
    weights[topology().regions["eyes"]] = 0.0
    weights[MESH_POINTS:] = 0.0
    return weights


class WithTheHead:
    """For a portrait's (478, 3) landmark pixels `src` that wear glasses: `posed(dst)` moves what the lenses
    cover (`lens_weights`) with the head's pose alone. The portrait's rest shape in head space is measured
    once, not frame after frame."""

    def __init__(self, src: np.ndarray):
        self.weights = lens_weights(src)
        self._rest = to_head_space(src, procrustes(src, reference_shape()))

    def posed(self, dst: np.ndarray) -> np.ndarray:
        """(478, 3) posed landmarks `dst` with each moved `weights` of the way to where the head's pose alone
        takes the portrait's own: its rest shape, posed as `dst` is."""
        rigid = from_head_space(self._rest, procrustes(dst, reference_shape()))
        return dst + self.weights[:, None] * (rigid - dst)
