"""Per-frame motion features of a tracked face. Expression features are measured in head space (the
head pose removed by Procrustes), so that turning or tilting the head does not read as an expression.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.quality.sources import (
    LEFT_EYE_CORNERS,
    RIGHT_EYE_CORNERS,
    brow_height,
    head_pose_and_shape,
    mouth_opening,
    smile_width,
)

FEATURES = ("head_yaw", "head_pitch", "head_roll", "mouth_opening", "right_eye_openness",
            "left_eye_openness", "brow_height", "smile_width")
RIGHT_EYE_LIDS, LEFT_EYE_LIDS = (159, 145), (386, 374)  # (upper, lower) lid midpoints in MediaPipe's mesh


def _distance(shape: np.ndarray, pair: tuple[int, int]) -> float:
    """Distance of two landmarks in the frontal (x, y) plane of head space."""
    a, b = pair
    return float(np.linalg.norm(shape[a, :2] - shape[b, :2]))


def _openness(shape: np.ndarray, lids: tuple[int, int], corners: tuple[int, int]) -> float:
    return _distance(shape, lids) / _distance(shape, corners)


def frame_features(points: np.ndarray) -> np.ndarray:
    """(len(FEATURES),) float64 features of one face's (478, 3) landmark pixels:

    head_yaw, head_pitch, head_roll: degrees, against the reference face;
    mouth_opening: inner-lip gap over mouth width;
    right/left_eye_openness: lid gap over eye width (about 0.35 open, under 0.1 closed);
    brow_height: mean height of the brow landmarks above the eye corners, in head-space units (the
        reference face's RMS radius), so independent of the face's size in the image;
    smile_width: mouth-corner distance over the outer eye-corner distance.
    """
    (yaw, pitch, roll), shape = head_pose_and_shape(points)
    return np.array([
        yaw, pitch, roll, mouth_opening(shape),
        _openness(shape, RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS),
        _openness(shape, LEFT_EYE_LIDS, LEFT_EYE_CORNERS),
        brow_height(shape),
        smile_width(shape),
    ], np.float64)


def feature_series(tracks: Sequence[np.ndarray | None]) -> np.ndarray:
    """(T, len(FEATURES)) float64 features of T frames' landmarks; a NaN row where a frame has no face."""
    series = np.full((len(tracks), len(FEATURES)), np.nan)
    for index, points in enumerate(tracks):
        if points is not None:
            series[index] = frame_features(points)
    return series
