"""The source's neutral: its resting face, either pinned to a few frames or estimated from the least
expressive state seen so far, so that a driver who starts mid-expression does not shift what follows."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.retarget.ranges import eye_openness, mouth_width
from nodes.retarget.smile import lower_face, relaxed_neutral
from nodes.track.face_model import brow_height, mouth_opening, reference_shape
from nodes.track.types import FaceTrack, HeadPose

HISTORY_FRAMES = 300  # frames kept: every frame of the first 10 s or so, then spread over a longer past...
LONGEST_STRIDE = 8  # ...keeping every 2nd, then 4th, then 8th frame: the last 80 s at 30 fps. A driver who
# cries for ten seconds is then a tenth of what the neutral is drawn from, not all of it.
OPEN_EYES_PERCENTILE = 90  # eyes at rest are about as open as they get (blinks and squints only close them)
# ...but eyes are open at least this share of the reference face's: a driver who starts with eyes cast
# down or shut has not yet shown them open, and its first frames would read as open eyes
OPEN_EYES_LEAST = 0.7
CLOSED_MOUTH_PERCENTILE = 10  # a mouth at rest is about as closed as it gets
RELAXED_WIDTH_PERCENTILE = 25  # smiles widen the mouth far more often than anything narrows it
CALM_FRACTION = 0.2  # the neutral expression averages this share of the history, the least expressive
# ...but where that mouth is this much wider than the NARROWEST_FRAMES narrowest closed ones (a mouth within
# CLOSED_SLACK of its closed level), from none to all of its lower face is theirs. Measured, the calm mouth
# over the narrowest: wolfgang_expressions.mp4 1.19 (a grin); single_face.mp4 and Hopper 1.07-1.08.
NEUTRAL_GRIN, NARROWEST_FRAMES, CLOSED_SLACK = (0.10, 0.16), 5, 0.03
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
    """A running estimate of the source's relaxed face over the valid frames seen (HISTORY_FRAMES of them,
    thinned out evenly over time as they come, up to LONGEST_STRIDE): eyes open at a high percentile of
    their openness, the mouth closed at a low percentile of its opening, and the expression and gaze
    averaged over the frames least expressive by those levels, with the brows at their median and the
    mouth width at its lower quartile (the lower face, where that is a grin, from the narrowest closed
    mouths)."""

    def __init__(self, frames: int = HISTORY_FRAMES, longest_stride: int = LONGEST_STRIDE):
        self._features = np.zeros((frames, 5))
        self._expressions = np.zeros((frames, *reference_shape().shape), np.float32)
        self._gazes = np.zeros((frames, 2, 2), np.float32)
        self._kept = 0  # slots filled
        self._next = 0  # the slot the next kept frame goes to
        self._offered = 0  # frames added, kept or not
        self._stride, self._longest_stride = 1, longest_stride

    def add(self, track: FaceTrack) -> None:
        self._offered += 1
        if (self._offered - 1) % self._stride:
            return
        slots = len(self._features)
        if self._kept == slots and self._stride < self._longest_stride:
            self._thin_out()
        slot = self._next
        self._features[slot] = _features(reference_shape() + track.expression)
        self._expressions[slot], self._gazes[slot] = track.expression, track.gaze
        self._kept, self._next = min(self._kept + 1, slots), (slot + 1) % slots

    def _thin_out(self) -> None:
        """Keep every other frame (the slots are in time order until the stride is the longest) and take
        frames twice as far apart from now on."""
        half = len(self._features) // 2
        for array in (self._features, self._expressions, self._gazes):
            array[:half] = array[1::2][:half]
        self._kept = self._next = half
        self._stride *= 2

    def neutral(self, pose: HeadPose) -> Neutral:
        """The estimate so far (at least one frame added), with the given head pose as the resting pose."""
        seen = self._kept
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
        expression = self._relaxed_mouth(self._expressions[calm].mean(axis=0), features, mouth_closed)
        return Neutral(pose, expression, self._gazes[calm].mean(axis=0), eyes_open, mouth_closed)

    def _relaxed_mouth(self, expression: np.ndarray, features: np.ndarray, mouth_closed: float) -> np.ndarray:
        """The calm frames' expression, its lower face moved toward the narrowest closed mouths seen where
        those are clearly narrower (NEUTRAL_GRIN): a driver who cries, then laughs (wolfgang_expressions.mp4)
        shows a relaxed mouth only in her first second, and her calmest frames had a grin's width for it,
        so her grins did not widen the target's mouth. Where even the narrowest are grins (a source who has
        grinned from the start), it is drawn in (`relaxed_neutral`)."""
        closed = np.flatnonzero(features[:, 2] <= mouth_closed + CLOSED_SLACK)
        if len(closed):
            relaxed = self._expressions[closed[np.argsort(features[closed, 4])[:NARROWEST_FRAMES]]].mean(axis=0)
            widened = mouth_width(reference_shape() + expression) / mouth_width(reference_shape() + relaxed) - 1.0
            share = float(np.interp(widened, NEUTRAL_GRIN, (0.0, 1.0)))
            expression = expression + share * lower_face()[:, None] * (relaxed - expression)
        return relaxed_neutral(reference_shape() + expression) - reference_shape()

