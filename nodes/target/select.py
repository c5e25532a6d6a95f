"""target.select: per frame, the recorded frame of the target video that best matches the motion."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from app.runtime import ports
from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.body.types import BODY_MOTION, BodyDriver, BodyMotion, TorsoPose
from nodes.render.mouth import readable
from nodes.retarget.types import MOTION, Motion
from nodes.target.bank import FrameBank
from nodes.target.choice import StickyChoice
from nodes.target.crossfade import cross_fade
from nodes.target.features import Weights, face_features, match_costs
from nodes.target.types import FRAME_BANK
from nodes.track.body_types import TORSO
from nodes.track.types import FACE_TRACK, FaceTrack

MOUTH_ONLY = Weights(pose=0.0, position=0.0, mouth=1.0, eyes=0.0, brows=0.0)
# The driver's own mouth stands in for the recorded one where that shows less than this share of a usable
# interior (`mouth.readable`) and the driver's shows this much more: a target video in which the person
# never opens their mouth as far as the motion asks (single_face.mp4 driven laughing) otherwise had only
# closed mouths to offer, and the gap was drawn as a plain dark cavity.
RECORDED_UNREADABLE, DRIVER_BETTER = 0.5, 0.25


def _weight(name: str, default: float, what: str) -> Param:
    return Param(f"{name}_weight", ParamKind.FLOAT, default, f"how much {what} counts in the match (0: not at all)",
                 minimum=0.0, maximum=10.0)


class TargetSelect(Node):
    schema = NodeSchema(
        type_id="target.select", title="Target Frame Select", category="target",
        help="Picks, per frame, the target video's recorded frame whose head pose and expression best match the "
             "motion (compared in head space, each term weighted), keeps it until another is clearly better, and "
             "cross-fades briefly when it changes; the renderer then only warps across the small difference. A "
             "second choice, by mouth opening and width alone, supplies the mouth interior (the driving frame's own, "
             "when connected, where no recorded mouth is open enough to show one).",
        inputs=(Port("bank", FRAME_BANK, "the target video's frames"),
                Port("motion", MOTION, "where the target's landmarks go (retargeted onto the bank's reference)"),
                Port("body", BODY_MOTION, "where the target's torso goes (retargeted onto the bank's reference "
                     "body)", optional=True),
                Port("driver", ports.IMAGE, "the driving frame: its own mouth interior stands in where no recorded "
                     "frame opens its mouth enough to fill the motion's", optional=True),
                Port("driver_track", FACE_TRACK, "the driving frame's face track", optional=True)),
        outputs=(Port("image", ports.IMAGE, "the chosen frame (cross-faded for a few frames after a change)"),
                 Port("track", FACE_TRACK, "the chosen frame's face track"),
                 Port("motion", MOTION, "the motion with its gaze made relative to the chosen frame's own eyes"),
                 Port("body", BODY_MOTION, "the body motion moving the chosen frame's own torso (not valid where "
                      "that frame shows no shoulders, or no body motion comes in: the torso stays as recorded)"),
                 Port("mouth_image", ports.IMAGE, "the frame whose mouth matches best, or the driving frame where "
                      "none opens enough (for the renderer's driver mouth)"),
                 Port("mouth_track", FACE_TRACK, "that frame's face track"),
                 Port("index", ports.INT, "the chosen frame's number in the clip (from 0)"),
                 Port("cost", ports.FLOAT, "how far the chosen frame is from the motion (0: the same face)")),
        params=(
            _weight("pose", Weights.pose, "head rotation (4 degrees = 1)"),
            _weight("position", Weights.position, "where the head is in the frame"),
            _weight("mouth", Weights.mouth, "mouth opening and width"),
            _weight("eyes", Weights.eyes, "each eye's openness"),
            _weight("brows", Weights.brows, "brow height"),
            Param("switch_cost", ParamKind.FLOAT, 2.0, "another frame must be better by this much to replace the "
                  "current one: higher changes frames less often", minimum=0.0, maximum=100.0),
            Param("hold_frames", ParamKind.INT, 4, "after a change, keep the frame at least this many frames",
                  minimum=0, maximum=120),
            Param("fade_frames", ParamKind.INT, 3, "cross-fade this many frames from the previous frame after a "
                  "change (0: cut)", minimum=0, maximum=30),
            # off by default: on the held-out test it gained 0.07-0.09 dB face PSNR for about 4 ms a frame
            Param("blend_margin", ParamKind.FLOAT, 0.0, "mix in the second-best frame (warped onto the chosen "
                  "one) when its cost is within this of the chosen frame's: half of each for a tie, none at the "
                  "margin (0: never; about 4 ms a frame while it mixes)", minimum=0.0, maximum=100.0),
            Param("mouth_switch_cost", ParamKind.FLOAT, 1.0, "the frame the mouth comes from is replaced only by one "
                  "whose mouth matches better by this much", minimum=0.0, maximum=100.0),
        ),
        volatile=True,  # the choice and the fade carry over from frame to frame
    )

    def open(self, run: RunContext) -> None:
        self._bank: FrameBank | None = None
        self._status = ""
        self._in_use: Image | None = None

    def _restart(self, bank: FrameBank) -> None:
        self._bank = bank
        self._choice, self._mouth = StickyChoice(), StickyChoice()
        self._fade_from: int | None = None
        self._fade_step = 0

    def process(self, ctx: FrameContext, bank: FrameBank, motion: Motion, body: BodyMotion | None = None,
                driver: Image | None = None, driver_track: FaceTrack | None = None) -> dict:
        if bank is not self._bank:
            self._restart(bank)
        if motion.image_size is not None and tuple(motion.image_size) != bank.size:
            raise ReenactError(f"the motion is for a {motion.image_size[0]}x{motion.image_size[1]} image but the "
                               f"target video's frames are {bank.size[0]}x{bank.size[1]}",
                               hint="retarget onto the target video's reference_track")
        p = self.params
        wanted = face_features(motion.landmarks) if motion.valid else bank.features[bank.reference]
        weights = Weights(p.pose_weight, p.position_weight, p.mouth_weight, p.eyes_weight, p.brows_weight)
        costs = match_costs(bank.features, wanted, weights)
        before = self._choice.current
        row = self._choice.update(costs, p.switch_cost, p.hold_frames)
        mouth_row = self._mouth.update(match_costs(bank.features, wanted, MOUTH_ONLY), p.mouth_switch_cost, 0)
        track = bank.track(row)
        self._in_use = bank.image(row)
        mouth_image, mouth_track = bank.image(mouth_row), bank.track(mouth_row)
        mouth_from = f"frame {int(bank.frame_numbers[mouth_row])}"
        if driver_fills(mouth_track, driver, driver_track):
            mouth_image, mouth_track, mouth_from = driver, driver_track, "the driver (no recorded mouth opens enough)"
        self._status = f"frame {int(bank.frame_numbers[row])} (cost {costs[row]:.2f}), mouth from {mouth_from}"
        return {"image": self._faded(bank, row, before, costs), "track": track,
                "motion": self._gaze_from(bank, track, motion), "body": torso_of(bank, row, body),
                "mouth_image": mouth_image, "mouth_track": mouth_track,
                "index": int(bank.frame_numbers[row]), "cost": float(costs[row])}

    def _faded(self, bank: FrameBank, row: int, before: int | None, costs: np.ndarray) -> Image:
        """The chosen frame, mixed with the one before it for fade_frames frames after a change."""
        if self._choice.switched:
            self._fade_from, self._fade_step = before, 0
        if self._fade_from is not None:
            self._fade_step += 1
            if self._fade_step > self.params.fade_frames:
                self._fade_from = None
        new = self._blended(bank, row, costs)
        if self._fade_from is None:
            return new
        share = self._fade_step / (self.params.fade_frames + 1)
        mixed = cross_fade(bank.image(self._fade_from).rgb(), bank.landmarks(self._fade_from), new.rgb(),
                           bank.warp_onto(row), share)
        return Image(mixed, new.timestamp)

    def _blended(self, bank: FrameBank, row: int, costs: np.ndarray) -> Image:
        """The chosen frame, with the next best mixed in where blend_margin asks for it. The share fades
        to 0 at the margin, so a second frame comes and goes without a pop; the chosen frame is kept by
        hysteresis and may cost more than the second: then they mix half and half."""
        margin = self.params.blend_margin
        chosen = bank.image(row)
        if margin <= 0 or len(costs) < 2:
            return chosen
        second = second_best(costs, row)
        share = min(0.5, 0.5 * (1.0 - (costs[second] - costs[row]) / margin))
        if share <= 0:
            return chosen
        mixed = cross_fade(bank.image(second).rgb(), bank.landmarks(second), chosen.rgb(),
                           bank.warp_onto(row), 1.0 - share)
        return Image(mixed, chosen.timestamp)

    @staticmethod
    def _gaze_from(bank: FrameBank, track: FaceTrack, motion: Motion) -> Motion:
        """Retargeting gives the gaze relative to the reference frame's eyes; the chosen frame may look
        elsewhere, so the renderer is given the shift from its eyes instead."""
        if not motion.valid:
            return motion
        shift = bank.track(bank.reference).gaze - track.gaze
        return replace(motion, gaze=(motion.gaze + shift).astype(np.float32))

    def status(self) -> str:
        return self._status

    def status_image(self) -> Image | None:
        """The recorded frame in use, as it was recorded (not cross-faded): the editor shows it in the node."""
        return self._in_use


def torso_of(bank: FrameBank, row: int, body: BodyMotion | None) -> BodyMotion:
    """Body retargeting moves the reference frame's torso to body.dst; the torso on screen is the chosen
    frame's, which may stand elsewhere (the person moved while recording), so that is what moves there."""
    chosen = bank.body(row)
    torso = chosen.points[list(TORSO)]
    if body is None or not body.valid or not chosen.shoulders_seen:
        return BodyMotion(torso, torso, TorsoPose(), BodyDriver.REST, False, chosen.timestamp, bank.size)
    return replace(body, src=torso, image_size=bank.size)


def driver_fills(recorded: FaceTrack, driver: Image | None, driver_track: FaceTrack | None) -> bool:
    """Whether the driving frame's mouth interior stands in for the recorded frame's (RECORDED_UNREADABLE)."""
    if driver is None or driver_track is None or not driver_track.valid:
        return False
    own = readable(recorded.landmarks)
    return own < RECORDED_UNREADABLE and readable(driver_track.landmarks) > own + DRIVER_BETTER


def second_best(costs: np.ndarray, chosen: int) -> int:
    """The cheapest of the (N,) costs' rows but `chosen` (N >= 2)."""
    others = costs.copy()
    others[chosen] = np.inf
    return int(np.argmin(others))


NODES = [TargetSelect]
