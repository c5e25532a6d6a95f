"""Body retargeting: the source's shoulder motion, relative to its neutral body, applied to the target's
own torso; a damped share of the head's motion when the source's body is not seen."""
from __future__ import annotations

import math

from app.runtime.context import FrameContext, RunContext
from app.runtime.node import Node
from app.runtime.schema import Action, NodeSchema, Param, ParamKind, Port
from nodes.body.fallback import breathing, head_follow
from nodes.body.shoulders import ShoulderLine
from nodes.body.switch import DriverSwitch
from nodes.body.types import BODY_MOTION, BodyDriver, BodyMotion, TorsoPose
from nodes.retarget.neutral import Neutral
from nodes.track.body_types import BODY_TRACK, TORSO, BodyTrack
from nodes.track.types import FACE_TRACK, FaceTrack, HeadPose

NEVER = -math.inf


class RetargetBody(Node):
    schema = NodeSchema(
        type_id="body.retarget", title="Retarget Body", category="retarget",
        help="Moves the target's torso (neck base and shoulders) with the source's shoulders: roll, shift and "
             "scale relative to the source's neutral body (its first valid frames; 'Calibrate neutral' pins it "
             "to the next ones). When the source's shoulders are not seen (a close webcam crop, a body the frame "
             "cuts off) the torso follows a damped share of the head's motion, and breathes. A lost driver is "
             "held, then the torso eases to the next driver or back to rest.",
        inputs=(Port("source_body", BODY_TRACK, "the driver's body", optional=True),
                Port("source_face", FACE_TRACK, "the driver's face, for when its body is not seen", optional=True),
                Port("target", BODY_TRACK, "the portrait's own body (track.body in photo mode)")),
        outputs=(Port("motion", BODY_MOTION),),
        params=(
            Param("roll_gain", ParamKind.FLOAT, 1.0, "shoulder tilt gain", minimum=0.0, maximum=2.0),
            Param("roll_limit", ParamKind.FLOAT, 20.0, "largest shoulder tilt, degrees", minimum=0.0, maximum=45.0),
            Param("shift_gain", ParamKind.FLOAT, 1.0, "torso movement gain (1: the target moves as many of its "
                  "shoulder widths as the source)", minimum=0.0, maximum=2.0),
            Param("shift_limit", ParamKind.FLOAT, 0.3, "largest torso movement, in shoulder widths", minimum=0.0,
                  maximum=1.0),
            Param("scale_gain", ParamKind.FLOAT, 0.5, "gain on leaning closer or further (shoulder width ratio); "
                  "shoulders also narrow when the body turns, which full gain would show as shrinking",
                  minimum=0.0, maximum=2.0),
            Param("scale_limit", ParamKind.FLOAT, 0.15, "largest size change, as a share of the torso's size",
                  minimum=0.0, maximum=0.5),
            Param("head_follow", ParamKind.FLOAT, 0.3, "when the source's body is not seen: the share of the head's "
                  "roll and movement the torso follows", minimum=0.0, maximum=1.0),
            Param("breathing", ParamKind.FLOAT, 0.01, "when the source's body is not seen: how far the shoulders "
                  "rise with each breath, in shoulder widths (0: no breathing)", minimum=0.0, maximum=0.05),
            Param("breathing_period", ParamKind.FLOAT, 4.0, "seconds per breath, on the frames' own timestamps",
                  minimum=1.0, maximum=10.0),
            Param("calibration_frames", ParamKind.INT, 5, "valid frames averaged into the source's neutral body "
                  "(and neutral head pose, for following the head)", minimum=1, maximum=120),
            Param("lost_hold_ms", ParamKind.FLOAT, 500.0, "hold the last motion this long when the source's body "
                  "(or head) is lost", minimum=0.0, maximum=10000.0),
            Param("switch_ms", ParamKind.FLOAT, 400.0, "ease over this long between body, head and rest",
                  minimum=0.0, maximum=5000.0),
        ),
        actions=(Action("calibrate_neutral", "Calibrate neutral",
                        "pin the source's neutral body and head pose to its next frames"),),
        volatile=True,  # holding, easing and breathing depend on time
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        self._frames = self._frames_without_target = 0
        self._reset_neutral()
        self._switch = DriverSwitch()
        self._start: float | None = None  # the first timestamp: breathing starts at rest
        self._seen = {BodyDriver.BODY: (NEVER, TorsoPose()), BodyDriver.HEAD: (NEVER, TorsoPose())}
        self._target_seen = True

    def _reset_neutral(self) -> None:
        self._body_samples: list[ShoulderLine] = []
        self._body_neutral: ShoulderLine | None = None
        self._head_samples: list[FaceTrack] = []
        self._head_neutral: HeadPose | None = None

    def run_action(self, name: str) -> None:
        if name == "calibrate_neutral":
            self._reset_neutral()

    def status(self) -> str:
        if not self._target_seen:
            return "the target shows no shoulders: its torso stays"
        if self._body_neutral is None and self._body_samples:
            return f"calibrating the neutral body ({len(self._body_samples)}/{self.params.calibration_frames})"
        return {BodyDriver.BODY: "the torso follows the body",
                BodyDriver.HEAD: f"no body seen: the torso follows {self.params.head_follow:.0%} of the head",
                BodyDriver.REST: "nothing drives the torso: at rest",
                None: "waiting for the first frame"}[self._switch.driver]

    def process(self, ctx: FrameContext, target: BodyTrack, source_body: BodyTrack | None = None,
                source_face: FaceTrack | None = None) -> dict:
        p = self.params
        now = next((s.timestamp for s in (source_body, source_face) if s is not None), ctx.time)
        self._start = now if self._start is None or now < self._start else self._start
        torso = target.points[list(TORSO)]
        self._target_seen = target.shoulders_seen
        self._frames += 1
        if not target.shoulders_seen:
            self._frames_without_target += 1
            return {"motion": BodyMotion(torso, torso, TorsoPose(), BodyDriver.REST, False, now, target.image_size)}
        driver, goal = self._goal(now, source_body, source_face)
        pose = self._switch.update(driver, goal, now, p.switch_ms / 1000.0).limited(p.roll_limit, p.shift_limit,
                                                                                    p.scale_limit)
        return {"motion": BodyMotion(torso, pose.moved(torso), pose, driver, True, now, target.image_size)}

    def close(self) -> None:
        frames, without = getattr(self, "_frames", 0), getattr(self, "_frames_without_target", 0)
        if frames and without == frames:  # else a torso that never moved is a mystery
            self._run.notice(f"{self.node_id}: no shoulders found in the target (cut off, hidden or too close a "
                             "crop; the pose model also misses some black and white photos), so its torso stayed "
                             "still; use a portrait framed down to the chest for the body to follow")

    def _goal(self, now: float, body: BodyTrack | None, face: FaceTrack | None) -> tuple[BodyDriver, TorsoPose]:
        """The driver this frame and where it puts the torso: the body if seen (or lost only a moment ago),
        else the head likewise, else rest. Given a face to check against, shoulders count only while it is
        seen (or was a moment ago): the pose model draws shoulders on clouds and title cards, and those
        moved the torso of a clip with no one in it (and became its neutral body)."""
        if face is not None and face.valid:
            self._seen[BodyDriver.HEAD] = (now, self._head_pose(face))
        if body is not None and body.shoulders_seen and (face is None or self._recent(BodyDriver.HEAD, now)):
            self._seen[BodyDriver.BODY] = (now, self._body_pose(body))
        breath = breathing(now - self._start, self.params.breathing, self.params.breathing_period)
        for driver in (BodyDriver.BODY, BodyDriver.HEAD):
            if self._recent(driver, now):
                pose = self._seen[driver][1]
                return driver, pose if driver is BodyDriver.BODY else pose.combined(breath)
        return BodyDriver.REST, breath

    def _recent(self, driver: BodyDriver, now: float) -> bool:
        """Whether `driver` was seen within lost_hold_ms of `now`."""
        return 0.0 <= now - self._seen[driver][0] <= self.params.lost_hold_ms / 1000.0

    def _body_pose(self, body: BodyTrack) -> TorsoPose:
        p = self.params
        line = ShoulderLine.of(body)
        if self._body_neutral is None:
            self._body_samples.append(line)
            if len(self._body_samples) < p.calibration_frames:
                return TorsoPose()
            self._body_neutral, self._body_samples = ShoulderLine.average(self._body_samples), []
        raw = line.relative_to(self._body_neutral)
        return TorsoPose(raw.roll * p.roll_gain, raw.shift * p.shift_gain, raw.scale ** p.scale_gain)

    def _head_pose(self, face: FaceTrack) -> TorsoPose:
        if self._head_neutral is None:
            self._head_samples.append(face)
            if len(self._head_samples) < self.params.calibration_frames:
                return TorsoPose()
            self._head_neutral, self._head_samples = Neutral.average(self._head_samples).pose, []
        return head_follow(face, self._head_neutral, self.params.head_follow)


NODES = [RetargetBody]
