"""The built-in motion driver: a procedural performance as a FaceTrack, so the studio shows itself
working with no camera plugged in. Deterministic: frame i is at time i / fps."""
from __future__ import annotations

import math

import numpy as np

from app.runtime.context import FrameContext, RunContext, SourceClock
from app.runtime.errors import EndOfStream
from nodes.track.types import HeadPose
from app.runtime.node import Node
from nodes.track.types import FACE_TRACK
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.track.face_model import (LEFT_EYE_CORNERS, MESH_POINTS, MOUTH_CORNERS, RIGHT_EYE_CORNERS, from_head_space,
                               reference_shape, rotation_from_euler, topology)
from nodes.retarget.smile import relaxed_neutral
from nodes.track.face import face_track


class ExpressionRig:
    """Head-space displacement fields for mouth opening, blinks, smiles, brow raises and gaze,
    built once from the reference shape (y down, unit RMS radius)."""

    def __init__(self, reference: np.ndarray):
        self.reference = reference
        regions = topology().regions
        x, y = reference[:, 0], reference[:, 1]
        mouth_y = reference[[13, 14], 1].mean()
        mouth_x = reference[list(MOUTH_CORNERS), 0].mean()
        half_width = abs(reference[MOUTH_CORNERS[1], 0] - reference[MOUTH_CORNERS[0], 0]) / 2
        # jaw: everything below the mouth line follows the chin, fading sideways
        jaw = np.clip((y - mouth_y) / 0.08, 0.0, 1.0) * np.exp(-(((x - mouth_x) / (2.2 * half_width)) ** 2))
        self.open = np.zeros_like(reference)
        self.open[:MESH_POINTS, 1] = 0.45 * jaw[:MESH_POINTS]
        self.smile = np.zeros_like(reference)
        side = np.clip((x - mouth_x) / half_width, -1.0, 1.0)
        near_mouth = np.exp(-(((y - mouth_y) / 0.25) ** 2)) * np.exp(-(((x - mouth_x) / (1.6 * half_width)) ** 2))
        self.smile[:MESH_POINTS, 0] = (0.10 * side * np.abs(side) * near_mouth)[:MESH_POINTS]
        self.smile[:MESH_POINTS, 1] = (-0.06 * np.abs(side) * near_mouth)[:MESH_POINTS]
        self.brows = np.zeros_like(reference)
        self.brows[regions["brows"], 1] = -0.09
        self.blink = np.zeros_like(reference)
        for corners in (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS):
            eye = [i for i in regions["eyes"] if abs(x[i] - reference[list(corners), 0].mean()) < 0.3]
            centre_y = reference[list(corners), 1].mean()
            lower = [i for i in eye if y[i] > centre_y]
            lower_y = reference[lower, 1].mean()
            for i in eye:
                if y[i] < centre_y:  # the upper lid closes onto the lower lid
                    self.blink[i, 1] = 0.9 * (lower_y - y[i])
        width = np.linalg.norm(reference[RIGHT_EYE_CORNERS[1]] - reference[RIGHT_EYE_CORNERS[0]])
        self.eye_width = float(width)

    def shape(self, mouth: float, smile: float, brows: float, blink: float, gaze: tuple[float, float]) -> np.ndarray:
        shape = (self.reference + mouth * self.open + smile * self.smile + brows * self.brows
                 + blink * self.blink)
        shape[MESH_POINTS:, :2] += np.array(gaze) * self.eye_width
        return shape


def performance(t: float, amplitude: float) -> dict[str, float]:
    """The scripted performance at time t (seconds): slow head turns, nods and tilts, speech-like mouth
    movement, a blink about every 3 s, a smile that comes and goes, gaze that jumps between points."""
    blink_phase = (t % 3.1) / 0.18
    gaze_targets = ((0.0, 0.0), (0.18, 0.02), (-0.16, -0.04), (0.05, 0.08))
    return {
        "yaw": amplitude * 18.0 * math.sin(2 * math.pi * 0.11 * t),
        "pitch": amplitude * 9.0 * math.sin(2 * math.pi * 0.17 * t + 1.0),
        "roll": amplitude * 10.0 * math.sin(2 * math.pi * 0.07 * t + 2.0),
        "mouth": amplitude * max(0.0, math.sin(2 * math.pi * 0.9 * t)) ** 1.5 * (0.5 + 0.5 * math.sin(0.7 * t)),
        "smile": amplitude * max(0.0, math.sin(2 * math.pi * 0.05 * t - 0.5)),
        "brows": amplitude * max(0.0, math.sin(2 * math.pi * 0.13 * t + 0.3)) ** 3,
        "blink": math.sin(math.pi * blink_phase) if blink_phase < 1.0 else 0.0,
        "gaze": tuple(amplitude * g for g in gaze_targets[int(t / 1.7) % len(gaze_targets)]),
    }


# the rig's smile at 1 widens the mouth by 0.06 of its eyes' width, which reads as barely smiling (a grin
# widens it by 0.12-0.2): the performer's smile at its peak is a grin
GRIN = 2.2


class MotionDriver(Node):
    schema = NodeSchema(
        type_id="capture.motion", title="Motion Driver", category="capture",
        help="A built-in performer: head turns and nods, blinks, speech-like mouth movement, smiles and gaze "
             "shifts, produced as the same FaceTrack the face tracker gives. Frame i is at time i / fps, so "
             "renders are repeatable.",
        outputs=(Port("track", FACE_TRACK, "the performer's face"),),
        params=(
            Param("speed", ParamKind.FLOAT, 1.0, "playback speed of the performance", minimum=0.0, maximum=5.0),
            Param("amplitude", ParamKind.FLOAT, 1.0, "size of the movements", minimum=0.0, maximum=2.0),
            Param("fps", ParamKind.FLOAT, 30.0, "frames per second of the performance clock", minimum=1.0,
                  maximum=240.0),
            Param("size", ParamKind.INT, 512, "side of the virtual camera frame, pixels", minimum=64, maximum=4096),
            Param("duration", ParamKind.FLOAT, 0.0, "seconds of performance before the run ends (0: endless)",
                  minimum=0.0, maximum=86400.0),
        ),
        volatile=True,
    )

    def open(self, run: RunContext) -> None:
        run.timed_source(SourceClock(self.params.fps))
        # at rest with a relaxed mouth: the reference face's is as wide as a grin (smile_width 0.71, where
        # relaxed people measure 0.49-0.59), and retargeting reads it as one (`relaxed_neutral`)
        self._rig = ExpressionRig(relaxed_neutral(reference_shape()))

    def process(self, ctx: FrameContext) -> dict:
        timestamp = ctx.index / self.params.fps
        if self.params.duration and timestamp >= self.params.duration:
            raise EndOfStream
        act = performance(timestamp * self.params.speed, self.params.amplitude)
        shape = self._rig.shape(act["mouth"], GRIN * act["smile"], act["brows"], act["blink"], act["gaze"])
        size = self.params.size
        pose = HeadPose(rotation_from_euler(act["yaw"], act["pitch"], act["roll"]),
                        np.array([size / 2, size / 2, 0.0]), size * 0.2)
        landmarks = from_head_space(shape, pose)
        return {"track": face_track(landmarks, (size, size), timestamp)}


NODES = [MotionDriver]
