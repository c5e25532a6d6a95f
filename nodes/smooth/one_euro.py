"""Temporal smoothing with the One Euro filter (Casiez et al. 2012), driven by real timestamps."""
from __future__ import annotations

from dataclasses import replace

import math

import numpy as np

from app.runtime.context import FrameContext, RunContext
from nodes.track.types import FaceTrack
from nodes.retarget.types import Motion
from app.runtime.node import Node
from nodes.track.types import FACE_TRACK
from nodes.retarget.types import MOTION
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.retarget.ranges import LEFT_EYE_LIDS, RIGHT_EYE_LIDS
from nodes.track.face import face_track
from nodes.track.types import LANDMARKS

_LIDS = np.concatenate([RIGHT_EYE_LIDS.ravel(), LEFT_EYE_LIDS.ravel()])  # both lids of both eyes


class OneEuroFilter:
    """Vectorised One Euro filter: little lag when moving fast, little jitter when still.

    filter(x, t): x any float array, t seconds. A repeated timestamp returns the last value. beta may be an
    array broadcast against x: a speed coefficient per row (per landmark).
    """

    def __init__(self, min_cutoff: float, beta: float, d_cutoff: float):
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t = 0.0

    @staticmethod
    def _alpha(dt: float, cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2.0 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def filter(self, x: np.ndarray, t: float) -> np.ndarray:
        if self._x is None:
            self._x, self._dx, self._t = x.astype(np.float64), np.zeros(x.shape), t
            return x
        dt = t - self._t
        if dt <= 0.0:
            return self._x.astype(x.dtype)
        dx = (x - self._x) / dt
        a_d = self._alpha(dt, self.d_cutoff)
        self._dx = a_d * dx + (1.0 - a_d) * self._dx
        a = self._alpha(dt, self.min_cutoff + self.beta * np.abs(self._dx))
        self._x = a * x + (1.0 - a) * self._x
        self._t = t
        return self._x.astype(x.dtype)


class SmoothOneEuro(Node):
    schema = NodeSchema(
        type_id="smooth.one_euro", title="One Euro Smoothing", category="smooth",
        help="Smooths a face track or a motion over time with the One Euro filter, using the frames' own "
             "timestamps. Resets when the face is lost and found again. Connect either input.",
        inputs=(Port("track", FACE_TRACK, optional=True), Port("motion", MOTION, optional=True)),
        outputs=(Port("track", FACE_TRACK, optional=True), Port("motion", MOTION, optional=True)),
        params=(
            Param("min_cutoff", ParamKind.FLOAT, 1.5, "cutoff at rest, Hz: lower is smoother", minimum=0.01,
                  maximum=30.0),
            Param("beta", ParamKind.FLOAT, 0.1, "speed coefficient: higher follows fast moves (blinks) with less lag",
                  minimum=0.0, maximum=10.0),
            Param("d_cutoff", ParamKind.FLOAT, 1.0, "cutoff for the speed estimate, Hz", minimum=0.01, maximum=30.0),
            Param("lid_beta", ParamKind.FLOAT, 1.0, "speed coefficient of the eyelids' landmarks: a blink is over in "
                  "100-150 ms, and smoothed as the rest of the face it never shut the target's eyes", minimum=0.0,
                  maximum=10.0),
        ),
        volatile=True,  # the filter's state changes every frame
    )

    def open(self, run: RunContext) -> None:
        self._filters = {name: OneEuroFilter(self.params.min_cutoff, self._betas(name), self.params.d_cutoff)
                         for name in ("track", "motion", "motion_gaze")}

    def _betas(self, name: str) -> np.ndarray | float:
        """The speed coefficient of each row a filter smooths: landmarks (track, motion) have their lids' own."""
        if name == "motion_gaze":
            return self.params.beta
        betas = np.full((LANDMARKS, 1), self.params.beta)
        betas[_LIDS] = self.params.lid_beta
        return betas

    def params_changed(self, names: set[str]) -> None:
        for name, f in self._filters.items():
            f.min_cutoff, f.beta, f.d_cutoff = self.params.min_cutoff, self._betas(name), self.params.d_cutoff

    def _reset(self, *names: str) -> None:
        for name in names:
            self._filters[name].reset()

    def process(self, ctx: FrameContext, track: FaceTrack | None = None, motion: Motion | None = None) -> dict:
        out_track = out_motion = None
        if track is not None:
            if track.valid:
                landmarks = self._filters["track"].filter(track.landmarks, track.timestamp)
                out_track = replace(face_track(landmarks, track.image_size, track.timestamp, track.confidence),
                                    occlusion=track.occlusion)
            else:
                self._reset("track")
                out_track = track
        if motion is not None:
            if motion.valid:
                out_motion = replace(motion, landmarks=self._filters["motion"].filter(motion.landmarks,
                                                                                      motion.timestamp),
                                     gaze=self._filters["motion_gaze"].filter(motion.gaze, motion.timestamp))
            else:
                self._reset("motion", "motion_gaze")
                out_motion = motion
        return {"track": out_track, "motion": out_motion}


NODES = [SmoothOneEuro]
