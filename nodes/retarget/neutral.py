"""The source's neutral: its resting face, either pinned to a few frames or estimated from the least
expressive state seen so far, so that a driver who starts mid-expression does not shift what follows."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.retarget.ranges import eye_openness, mouth_width
from nodes.track.face_model import brow_height, mouth_opening, reference_shape
from nodes.track.types import FaceTrack, HeadPose

HISTORY_FRAMES = 300  # about 10 s of video: long enough to have seen the face at rest
OPEN_EYES_PERCENTILE = 90  # eyes at rest are about as open as they get (blinks and squints only close them)
# ...but eyes are open at least this share of the reference face's: a driver who starts with eyes cast
# down or shut has not yet shown them open, and its first frames would read as open eyes
OPEN_EYES_LEAST = 0.7
CLOSED_MOUTH_PERCENTILE = 10  # a mouth at rest is about as closed as it gets
RELAXED_WIDTH_PERCENTILE = 25  # smiles widen the mouth far more often than anything narrows it
CALM_FRACTION = 0.2  # the neutral expression averages this share of the history, the least expressive
# Expression energy: each feature's distance from its resting level over the size of a full expression
# (eyes: as a ratio of their open level; mouth opening in mouth widths; the rest in head-space units).
MOUTH_RANGE, BROW_RANGE, SMILE_RANGE = 0.3, 0.09, 0.2


@dataclass(frozen=True)
class Neutral:
    """The source's resting face: pose and head-space shape, the eyes' open level and the mouth's closed
    level (eye_openness and mouth_opening of the resting face)."""

    pose: HeadPose
    expression: np.ndarray  # (478, 3)
    gaze: np.ndarray  # (2, 2)
    eyes_open: np.ndarray  # (2,) right, left
    mouth_closed: float

    @staticmethod
    def average(tracks: list[FaceTrack]) -> Neutral:
        u, _, vt = np.linalg.svd(sum(t.pose.rotation for t in tracks))
        rotation = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
        pose = HeadPose(rotation, np.mean([t.pose.translation for t in tracks], axis=0),
                        float(np.mean([t.pose.scale for t in tracks])))
        shapes = [reference_shape() + t.expression for t in tracks]
        return Neutral(pose, np.mean([t.expression for t in tracks], axis=0), np.mean([t.gaze for t in tracks], axis=0),
                       np.mean([eye_openness(s) for s in shapes], axis=0),
                       float(np.mean([mouth_opening(s) for s in shapes])))


def _features(shape: np.ndarray) -> np.ndarray:
    """(5,) right and left eye openness, mouth opening, brow height above the eye corners, mouth width."""
    return np.array([*eye_openness(shape), mouth_opening(shape), brow_height(shape), mouth_width(shape)])


class AdaptiveNeutral:
    """A running estimate of the source's relaxed face over its last HISTORY_FRAMES valid frames: eyes
    open at a high percentile of their openness, the mouth closed at a low percentile of its opening,
    and the expression and gaze averaged over the frames least expressive by those levels, with the brows
    at their median and the mouth width at its lower quartile."""

    def __init__(self, frames: int = HISTORY_FRAMES):
        self._features = np.zeros((frames, 5))
        self._expressions = np.zeros((frames, *reference_shape().shape), np.float32)
        self._gazes = np.zeros((frames, 2, 2), np.float32)
        self._count = 0

    def add(self, track: FaceTrack) -> None:
        slot = self._count % len(self._features)
        self._features[slot] = _features(reference_shape() + track.expression)
        self._expressions[slot], self._gazes[slot] = track.expression, track.gaze
        self._count += 1

    def neutral(self, pose: HeadPose) -> Neutral:
        """The estimate so far (at least one frame added), with the given head pose as the resting pose."""
        seen = min(self._count, len(self._features))
        features = self._features[:seen]
        eyes_open = np.maximum(np.percentile(features[:, :2], OPEN_EYES_PERCENTILE, axis=0, method="higher"),
                               OPEN_EYES_LEAST * eye_openness(reference_shape()))
        mouth_closed = float(np.percentile(features[:, 2], CLOSED_MOUTH_PERCENTILE, method="lower"))
        brows = np.median(features[:, 3])
        width = np.percentile(features[:, 4], RELAXED_WIDTH_PERCENTILE)
        energy = (np.abs(features[:, :2] / np.maximum(eyes_open, 1e-6) - 1.0).sum(axis=1)
                  + np.abs(features[:, 2] - mouth_closed) / MOUTH_RANGE
                  + np.abs(features[:, 3] - brows) / BROW_RANGE + np.abs(features[:, 4] - width) / SMILE_RANGE)
        calm = np.argsort(energy)[:max(1, int(seen * CALM_FRACTION))]
        return Neutral(pose, self._expressions[calm].mean(axis=0), self._gazes[calm].mean(axis=0), eyes_open,
                       mouth_closed)

