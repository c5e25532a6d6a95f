"""Retargeting: the source's motion, relative to its neutral, applied to the target's own face."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from nodes.track.types import FaceTrack, HeadPose
from nodes.retarget.types import Motion
from app.runtime.node import Node
from nodes.track.types import FACE_TRACK
from nodes.retarget.types import MOTION
from app.runtime.schema import Action, NodeSchema, Param, ParamKind, Port
from nodes.track.face_model import (MESH_POINTS, euler_angles, from_head_space, reference_shape,
                               rotation_from_euler, topology)


@dataclass(frozen=True)
class Neutral:
    """The source's resting face: pose and head-space shape, averaged over the calibration frames."""

    pose: HeadPose
    expression: np.ndarray  # (478, 3)
    gaze: np.ndarray  # (2, 2)

    @staticmethod
    def average(tracks: list[FaceTrack]) -> Neutral:
        u, _, vt = np.linalg.svd(sum(t.pose.rotation for t in tracks))
        rotation = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt
        pose = HeadPose(rotation, np.mean([t.pose.translation for t in tracks], axis=0),
                        float(np.mean([t.pose.scale for t in tracks])))
        return Neutral(pose, np.mean([t.expression for t in tracks], axis=0),
                       np.mean([t.gaze for t in tracks], axis=0))


def _gain(value: float, gain: float, limit: float) -> float:
    return float(np.clip(value * gain, -limit, limit))


class RetargetFace(Node):
    schema = NodeSchema(
        type_id="retarget.face", title="Retarget Face", category="retarget",
        help="Transfers the source's head motion and expression, relative to the source's neutral face, onto "
             "the target's own face, so the target keeps its identity. The neutral is captured from the first "
             "valid frames and again with 'Calibrate neutral'. When the source face is lost, the last motion "
             "is held, then eases back to the target at rest.",
        inputs=(Port("source", FACE_TRACK, "the driving face"),
                Port("target", FACE_TRACK, "the portrait's face")),
        outputs=(Port("motion", MOTION),),
        params=(
            Param("yaw_gain", ParamKind.FLOAT, 1.0, "head turn (left/right) gain", minimum=0.0, maximum=2.0),
            Param("pitch_gain", ParamKind.FLOAT, 1.0, "head nod gain", minimum=0.0, maximum=2.0),
            Param("roll_gain", ParamKind.FLOAT, 1.0, "head tilt gain", minimum=0.0, maximum=2.0),
            Param("yaw_limit", ParamKind.FLOAT, 30.0, "largest head turn, degrees", minimum=0.0, maximum=60.0),
            Param("pitch_limit", ParamKind.FLOAT, 20.0, "largest nod, degrees", minimum=0.0, maximum=60.0),
            Param("roll_limit", ParamKind.FLOAT, 30.0, "largest tilt, degrees", minimum=0.0, maximum=60.0),
            Param("translation_gain", ParamKind.FLOAT, 1.0, "head movement gain", minimum=0.0, maximum=2.0),
            Param("translation_limit", ParamKind.FLOAT, 0.4, "largest head movement, in face sizes",
                  minimum=0.0, maximum=2.0),
            Param("scale_gain", ParamKind.FLOAT, 1.0, "gain on moving closer/further", minimum=0.0, maximum=2.0),
            Param("mouth_gain", ParamKind.FLOAT, 1.0, "mouth expression gain", minimum=0.0, maximum=3.0),
            Param("eyes_gain", ParamKind.FLOAT, 1.0, "eyelid expression gain (blinks)", minimum=0.0, maximum=3.0),
            Param("brows_gain", ParamKind.FLOAT, 1.0, "eyebrow expression gain", minimum=0.0, maximum=3.0),
            Param("face_gain", ParamKind.FLOAT, 1.0, "gain on the rest of the face (cheeks, jaw)", minimum=0.0,
                  maximum=3.0),
            Param("gaze_gain", ParamKind.FLOAT, 1.0, "eye gaze gain", minimum=0.0, maximum=3.0),
            Param("calibration_frames", ParamKind.INT, 5, "valid frames averaged into the source's neutral",
                  minimum=1, maximum=120),
            Param("lost_hold_ms", ParamKind.FLOAT, 500.0, "hold the last motion this long when the source face "
                  "is lost", minimum=0.0, maximum=10000.0),
            Param("lost_ease_ms", ParamKind.FLOAT, 800.0, "then ease back to the neutral target over this long",
                  minimum=0.0, maximum=10000.0),
        ),
        actions=(Action("calibrate_neutral", "Calibrate neutral",
                        "take the source's next frames as its resting face"),),
        volatile=True,  # the lost-face policy depends on time
    )

    def open(self, run: RunContext) -> None:
        self._reference = reference_shape()
        self._region_gains = self._build_region_gains()
        self._neutral: Neutral | None = None
        self._samples: list[FaceTrack] = []
        self._last: Motion | None = None
        self._last_seen = 0.0

    def run_action(self, name: str) -> None:
        if name == "calibrate_neutral":
            self._neutral, self._samples = None, []

    def params_changed(self, names: set[str]) -> None:
        self._region_gains = self._build_region_gains()

    def _build_region_gains(self) -> np.ndarray:
        gains = np.full(len(self._reference), self.params.face_gain, np.float32)
        regions = topology().regions
        for region, gain in (("mouth", self.params.mouth_gain), ("eyes", self.params.eyes_gain),
                             ("brows", self.params.brows_gain)):
            gains[regions[region]] = gain
        gains[MESH_POINTS:] = 0.0  # irises move by gaze, not by expression
        return gains

    def status(self) -> str:
        if self._neutral is None:
            return f"calibrating neutral ({len(self._samples)}/{self.params.calibration_frames})"
        return "neutral calibrated"

    def process(self, ctx: FrameContext, source: FaceTrack, target: FaceTrack) -> dict:
        if not target.valid:
            raise ReenactError("no face in the target portrait", hint="use a portrait with a clear face")
        rest = Motion(target.landmarks, valid=True, timestamp=source.timestamp, image_size=target.image_size)
        if source.valid:
            if self._neutral is None:
                self._samples.append(source)
                if len(self._samples) < self.params.calibration_frames:
                    return {"motion": rest}
                self._neutral = Neutral.average(self._samples)
                self._samples = []
            self._last = self._transfer(source, target, self._neutral)
            self._last_seen = source.timestamp
            return {"motion": self._last}
        return {"motion": self._lost(source.timestamp, rest)}

    def _transfer(self, source: FaceTrack, target: FaceTrack, neutral: Neutral) -> Motion:
        p = self.params
        yaw, pitch, roll = euler_angles(source.pose.rotation @ neutral.pose.rotation.T)
        relative = rotation_from_euler(_gain(yaw, p.yaw_gain, p.yaw_limit), _gain(pitch, p.pitch_gain, p.pitch_limit),
                                       _gain(roll, p.roll_gain, p.roll_limit))
        moved = (source.pose.translation - neutral.pose.translation) / neutral.pose.scale
        length = np.linalg.norm(moved[:2])
        if length > p.translation_limit:
            moved = moved * (p.translation_limit / length)
        scale = target.pose.scale * (source.pose.scale / neutral.pose.scale) ** p.scale_gain
        translation = target.pose.translation + p.translation_gain * moved * target.pose.scale
        pose = HeadPose(relative @ target.pose.rotation, translation, scale)
        delta = (source.expression - neutral.expression) * self._region_gains[:, None]
        shape = self._reference + target.expression + delta
        gaze = (source.gaze - neutral.gaze) * p.gaze_gain
        return Motion(from_head_space(shape, pose), gaze.astype(np.float32), True, source.timestamp, target.image_size)

    def _lost(self, now: float, rest: Motion) -> Motion:
        if self._last is None:
            return rest
        elapsed_ms = (now - self._last_seen) * 1000.0
        if elapsed_ms <= self.params.lost_hold_ms:
            return self._last
        t = min(1.0, (elapsed_ms - self.params.lost_hold_ms) / max(self.params.lost_ease_ms, 1e-6))
        t = t * t * (3.0 - 2.0 * t)
        landmarks = (1.0 - t) * self._last.landmarks + t * rest.landmarks
        return Motion(landmarks.astype(np.float32), ((1.0 - t) * self._last.gaze).astype(np.float32), True, now,
                      rest.image_size)


NODES = [RetargetFace]
