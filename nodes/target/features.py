"""What selection compares: a face's head pose and expression as a few numbers, measured in head space
(the pose removed by Procrustes against the reference shape), so a turned head does not read as an
expression and a bigger face does not read as a wider mouth."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.retarget.ranges import eye_openness, mouth_width
from nodes.track.face_model import (
    brow_height,
    euler_angles,
    mouth_opening,
    procrustes,
    reference_shape,
    to_head_space,
)

FEATURES = ("yaw", "pitch", "roll", "x", "y", "mouth_opening", "mouth_width", "right_eye", "left_eye",
            "brow_height")
# The difference in each feature that counts as one unit of cost: about what is just visible on a face
# (degrees; face-size units for the head's place in the frame; head-space ratios for the rest).
UNITS = np.array([4.0, 4.0, 4.0, 0.15, 0.15, 0.04, 0.03, 0.05, 0.05, 0.02], np.float32)
# Each selection weight acts on these features.
TERMS = {"pose": slice(0, 3), "position": slice(3, 5), "mouth": slice(5, 7), "eyes": slice(7, 9),
         "brows": slice(9, 10)}


def face_features(points: np.ndarray) -> np.ndarray:
    """(len(FEATURES),) float32 of one face's (478, 3) landmark pixels:

    yaw, pitch, roll: degrees against the reference shape;
    x, y: the head's centre in the frame, in face sizes (the Procrustes scale), so a frame whose head
        sits where the motion wants it needs the least warping;
    mouth_opening: inner-lip gap over mouth width; mouth_width: corner to corner, head-space units;
    right_eye, left_eye: lid gap over eye width (about 0.35 open, near 0 shut);
    brow_height: brows above the eye corners, head-space units (y points down).
    """
    pose = procrustes(points, reference_shape())
    shape = to_head_space(points, pose)
    x, y = pose.translation[:2] / pose.scale
    return np.array([*euler_angles(pose.rotation), x, y, mouth_opening(shape), mouth_width(shape),
                     *eye_openness(shape), brow_height(shape)], np.float32)


@dataclass(frozen=True)
class Weights:
    """How much each term counts (0 ignores it); the same names as TERMS."""

    pose: float = 1.0
    position: float = 0.3
    mouth: float = 1.0
    eyes: float = 0.5
    brows: float = 0.5

    def per_feature(self) -> np.ndarray:
        """(len(FEATURES),) weight over unit squared, so a cost is a weighted sum of squares."""
        weights = np.zeros(len(FEATURES), np.float32)
        for term, features in TERMS.items():
            weights[features] = getattr(self, term)
        return weights / UNITS ** 2


def match_costs(bank: np.ndarray, wanted: np.ndarray, weights: Weights) -> np.ndarray:
    """(N,) cost of each of N bank frames' features (N, F) against the wanted features (F,): 0 for the
    same face, 1 for one unit of difference in one term of weight 1."""
    return ((bank - wanted) ** 2 @ weights.per_feature()).astype(np.float32)
