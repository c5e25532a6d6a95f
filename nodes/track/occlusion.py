"""Holding covered face regions: while a hand covers a region, its expression stays what it was just
before; once uncovered, it eases back to what the tracker sees, on the frames' own timestamps."""
from __future__ import annotations

import numpy as np

from nodes.track.face_model import from_head_space, reference_shape
from nodes.track.hands import REGIONS, region_points
from nodes.track.types import FaceTrack

COVERED = 0.2  # a region counts as covered when this share of its landmarks is under a hand


class OcclusionHold:
    def __init__(self, ease_seconds: float):
        self.ease_seconds = ease_seconds
        self._held: dict[str, np.ndarray] = {}  # region -> expression rows held
        self._released: dict[str, float] = {}  # region -> when its hand went away
        self._last_clear: np.ndarray | None = None  # the last expression seen with nothing covered

    def apply(self, track: FaceTrack, covered: np.ndarray) -> FaceTrack:
        """The track with covered regions held (expression and landmarks) and `occlusion` set."""
        expression = track.expression.copy()
        points = region_points()
        for k, region in enumerate(REGIONS):
            rows = points[region]
            if covered[k] >= COVERED:
                if region not in self._held:
                    basis = self._last_clear if self._last_clear is not None else expression
                    self._held[region] = basis[rows].copy()
                self._released.pop(region, None)
                expression[rows] = self._held[region]
            elif region in self._held:
                since = self._released.setdefault(region, track.timestamp)
                t = min(1.0, (track.timestamp - since) / max(self.ease_seconds, 1e-6))
                t = t * t * (3.0 - 2.0 * t)
                expression[rows] = (1.0 - t) * self._held[region] + t * expression[rows]
                if t >= 1.0:
                    del self._held[region], self._released[region]
        if not self._held:
            self._last_clear = track.expression
        if not self._held and not covered.any():
            return _with(track, track.expression, track.landmarks, covered)
        landmarks = track.landmarks.copy()
        posed = from_head_space(reference_shape() + expression, track.pose).astype(np.float32)
        for region in self._held:
            landmarks[points[region]] = posed[points[region]]
        return _with(track, expression.astype(np.float32), landmarks, covered)


def _with(track: FaceTrack, expression: np.ndarray, landmarks: np.ndarray, covered: np.ndarray) -> FaceTrack:
    return FaceTrack(landmarks, track.pose, expression, track.gaze, track.confidence, track.valid,
                     track.image_size, track.timestamp, covered.astype(np.float32))
