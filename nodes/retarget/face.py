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
from nodes.track.face_model import (MESH_POINTS, euler_angles, from_head_space, mouth_opening, reference_shape,
                                    rotation_from_euler, smile_width, topology)
from nodes.retarget.facing import facing, turned_share
from nodes.retarget.neutral import AdaptiveNeutral, Neutral
from nodes.retarget.ranges import chin_with_lower_lip, eye_openness, set_eye_openness, set_mouth_opening
from nodes.retarget.smile import (already_shown, combined_opening, corner_lift, ease_squint, lower_face,
                                  portrait_smiling, relax_share, relax_toward, relaxed, smiling)

TURNED_PORTRAIT = 10.0  # degrees of the portrait's own yaw from which turning back is limited
EYE_KNEE = 0.6  # eyes more open than this share of their open level map as they are; below it, onto shut
# Both eyes closing (the more open one below BLINK_BELOW of its open level) is a blink, drawn as one; one eye
# shut while the other stays open past WINK_ABOVE is a wink, drawn as it is; between, a blend
BLINK_BELOW, WINK_ABOVE = 0.6, 0.85
# seconds a smiling portrait's mouth takes at the quickest to relax fully or to smile again (its lips shut
# in half of it): from the portrait as it is, which the calibrating first frames show, it relaxed in one frame
RELAX_SWING_S = 0.4
MOUTH_KNEE = 0.75  # mouth openings up to this share of mouth_max_open map as they are; above it, eased in


@dataclass(frozen=True)
class PortraitFace:
    """What the portrait's own face decides. facing: (478,) per landmark how far it follows the source's
    expression (all of it on a frontal portrait, whose jaw's edge, though foreshortened, holds no hidden
    side; on a turned one as far as it faces the camera, as far as the portrait is turned:
    `turned_share`); smiling: how far it smiles (`portrait_smiling`); rest: its (478, 3) head-space shape;
    relaxed: rest with its smile taken out (`relaxed`: drawn in, and closed), which `relax_toward` moves it
    toward."""

    track: FaceTrack
    facing: np.ndarray
    smiling: float
    rest: np.ndarray
    relaxed: tuple[np.ndarray, np.ndarray]


def _gain(value: float, gain: float, limit: float) -> float:
    return float(np.clip(value * gain, -limit, limit))


def soft_limit(value: float, limit: float) -> float:
    """value as it is up to MOUTH_KNEE of limit, then eased so that it approaches limit without reaching it
    abruptly (a hard clip would hold a wide-open mouth still at the limit while the driver keeps moving)."""
    knee = MOUTH_KNEE * limit
    if value <= knee:
        return value
    return float(knee + (limit - knee) * np.tanh((value - knee) / (limit - knee)))


class RetargetFace(Node):
    schema = NodeSchema(
        type_id="retarget.face", title="Retarget Face", category="retarget",
        help="Transfers the source's head motion and expression, relative to the source's neutral face, onto "
             "the target's own face, so the target keeps its identity. Eye openness and mouth opening map as "
             "ratios of each face's own range, so a shut eye shuts on any target. The neutral expression adapts "
             "to the least expressive face seen so far (or is pinned to the first valid frames); the neutral "
             "head pose is the first valid frames'. 'Calibrate neutral' pins both to the next frames. When the "
             "source face is lost, the last motion is held, then eases back to the target at rest.",
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
            Param("reveal_limit", ParamKind.FLOAT, 12.0, "for a portrait whose head is turned: the largest turn back "
                  "toward the camera, degrees. A still cannot show the side of the face it hides; turned further it "
                  "smears", minimum=0.0, maximum=60.0),
            Param("translation_gain", ParamKind.FLOAT, 1.0, "head movement gain", minimum=0.0, maximum=2.0),
            Param("translation_limit", ParamKind.FLOAT, 0.4, "largest head movement, in face sizes",
                  minimum=0.0, maximum=2.0),
            Param("scale_gain", ParamKind.FLOAT, 1.0, "gain on moving closer/further", minimum=0.0, maximum=2.0),
            Param("mouth_gain", ParamKind.FLOAT, 1.0, "mouth gain: smile width and lip shape, and mouth opening in "
                  "mouth widths (1: the target opens as many of its mouth widths as the source)", minimum=0.0,
                  maximum=3.0),
            Param("mouth_max_open", ParamKind.FLOAT, 0.6, "widest mouth opening (inner-lip gap), in mouth widths",
                  minimum=0.2, maximum=1.5),
            Param("eyes_gain", ParamKind.FLOAT, 1.0, "eyelid gain: 1 opens and closes the target's eyes as far as the "
                  "source's, relative to each one's own open eyes", minimum=0.0, maximum=3.0),
            Param("eye_max_open", ParamKind.FLOAT, 1.3, "widest eye opening, as a multiple of the target's own open "
                  "eyes", minimum=1.0, maximum=2.0),
            Param("eye_shut_ratio", ParamKind.FLOAT, 0.2, "source eyes count as shut below this share of their open "
                  "level (a tracker never reports a shut eye as a zero gap)", minimum=0.0, maximum=0.5),
            Param("portrait_smile", ParamKind.ENUM, "follow", "follow: a smiling portrait smiles only as far as "
                  "the source does (its mouth relaxes and closes over its teeth while the source's is relaxed, "
                  "sad or talking); keep: it keeps its own smile and the source's expression adds to it",
                  choices=("follow", "keep")),
            Param("brows_gain", ParamKind.FLOAT, 1.0, "eyebrow expression gain", minimum=0.0, maximum=3.0),
            Param("face_gain", ParamKind.FLOAT, 1.0, "gain on the rest of the face (cheeks, jaw)", minimum=0.0,
                  maximum=3.0),
            Param("gaze_gain", ParamKind.FLOAT, 1.0, "eye gaze gain", minimum=0.0, maximum=3.0),
            Param("neutral_mode", ParamKind.ENUM, "adaptive", "adaptive: the source's neutral expression is its "
                  "least expressive state seen so far (eyes at their usual open level, mouth closed); first_frames: "
                  "the first valid frames'", choices=("adaptive", "first_frames")),
            Param("calibration_frames", ParamKind.INT, 5, "valid frames averaged into the source's neutral head "
                  "pose (and, when pinned, its neutral expression)", minimum=1, maximum=120),
            Param("lost_hold_ms", ParamKind.FLOAT, 500.0, "hold the last motion this long when the source face "
                  "is lost", minimum=0.0, maximum=10000.0),
            Param("lost_ease_ms", ParamKind.FLOAT, 800.0, "then ease back to the neutral target over this long",
                  minimum=0.0, maximum=10000.0),
        ),
        actions=(Action("calibrate_neutral", "Calibrate neutral",
                        "pin the source's resting face to its next frames"),),
        volatile=True,  # the lost-face policy depends on time
    )

    def open(self, run: RunContext) -> None:
        self._reference = reference_shape()
        self._region_gains = self._build_region_gains()
        self._pinned = self.params.neutral_mode == "first_frames"
        self._calibrated: Neutral | None = None  # from the first calibration_frames valid frames
        self._samples: list[FaceTrack] = []
        self._adaptive = AdaptiveNeutral()
        self._last: Motion | None = None
        self._last_seen = 0.0
        self._portrait: PortraitFace | None = None  # per target (`_portrait_of`)
        # the source's narrowest mouth so far (its relaxed width: a neutral adapting over seconds would take
        # a long cry's stretched mouth for it)
        self._narrowest_smile = float("inf")
        self._relax, self._relaxed_at = 0.0, None  # the last relax_share given, and when

    def run_action(self, name: str) -> None:
        if name == "calibrate_neutral":
            self._calibrated, self._samples, self._pinned = None, [], True
            self._narrowest_smile = float("inf")

    def params_changed(self, names: set[str]) -> None:
        self._region_gains = self._build_region_gains()
        if "portrait_smile" in names:  # shown at once: eased, a paused frame waited for time to pass
            self._relaxed_at = None
        if "neutral_mode" in names:
            self._pinned = self.params.neutral_mode == "first_frames"

    def _build_region_gains(self) -> np.ndarray:
        gains = np.full(len(self._reference), self.params.face_gain, np.float32)
        regions = topology().regions
        for region, gain in (("mouth", self.params.mouth_gain), ("eyes", self.params.eyes_gain),
                             ("brows", self.params.brows_gain)):
            gains[regions[region]] = gain
        gains[MESH_POINTS:] = 0.0  # irises move by gaze, not by expression
        return gains

    def status(self) -> str:
        if self._calibrated is None:
            return f"calibrating neutral ({len(self._samples)}/{self.params.calibration_frames})"
        return "neutral pinned" if self._pinned else "neutral adapting to the least expressive face seen"

    def process(self, ctx: FrameContext, source: FaceTrack, target: FaceTrack) -> dict:
        if not target.valid:
            raise ReenactError("no face found in the target portrait",
                               hint="use a portrait with a clear face; a face small in a large photo (a group or "
                                    "full-length shot) is not found: crop the photo around it", from_input="target")
        rest = Motion(target.landmarks, valid=True, timestamp=source.timestamp, image_size=target.image_size)
        if source.valid:
            self._adaptive.add(source)  # also while pinned, so switching back to adaptive has a history
            if self._calibrated is None:
                self._samples.append(source)
                if len(self._samples) < self.params.calibration_frames:
                    return {"motion": self._calibrating(source, target, rest)}
                self._calibrated = Neutral.average(self._samples)
                self._samples = []
            neutral = self._calibrated if self._pinned else self._adaptive.neutral(self._calibrated.pose)
            self._last = self._transfer(source, target, neutral)
            self._last_seen = source.timestamp
            return {"motion": self._last}
        return {"motion": self._lost(source.timestamp, rest)}

    def _transfer(self, source: FaceTrack, target: FaceTrack, neutral: Neutral) -> Motion:
        p = self.params
        yaw, pitch, roll = euler_angles(source.pose.rotation @ neutral.pose.rotation.T)
        yaw = _gain(yaw, p.yaw_gain, p.yaw_limit)
        own = euler_angles(target.pose.rotation)  # the portrait's own (yaw, pitch, roll)
        if abs(own[0]) > TURNED_PORTRAIT and yaw * own[0] < 0:  # turning back would show what the photo hides
            yaw = float(np.clip(yaw, -p.reveal_limit, p.reveal_limit))
        moved = (source.pose.translation - neutral.pose.translation) / neutral.pose.scale
        length = np.linalg.norm(moved[:2])
        if length > p.translation_limit:
            moved = moved * (p.translation_limit / length)
        scale = target.pose.scale * (source.pose.scale / neutral.pose.scale) ** p.scale_gain
        translation = target.pose.translation + p.translation_gain * moved * target.pose.scale
        # the driver's turn, nod and tilt added to the portrait's own angles: a turned portrait nods about its
        # own ears' axis and tilts in the image. Turned by the driver's rotation itself, it nodded about the
        # camera's axis: re-tracked, 1.36x the driver's nod, and tilts 0.70-0.89 correlated with hers
        rotation = rotation_from_euler(own[0] + yaw, own[1] + _gain(pitch, p.pitch_gain, p.pitch_limit),
                                       own[2] + _gain(roll, p.roll_gain, p.roll_limit))
        pose = HeadPose(rotation, translation, scale)
        source_shape = self._reference + source.expression
        width = smile_width(source_shape)
        self._narrowest_smile = min(self._narrowest_smile, width)
        source_smiling = smiling(width, self._narrowest_smile)
        portrait = self._portrait_of(target)
        target_rest, lips_cover = self._relaxed_rest(portrait, source_smiling, source.timestamp)
        shown = already_shown(source_smiling, portrait.smiling)
        change = source.expression - neutral.expression
        chin_with_lower_lip(change, target_rest)
        change *= (1.0 - shown * lower_face())[:, None]  # the smile a smiling portrait already shows
        # a turned portrait's far side, foreshortened at its silhouette, keeps its shape (moved, it smears)
        delta = change * (self._region_gains * portrait.facing)[:, None]
        shape = target_rest + delta
        # the lids and inner lips by ratios of each face's own range, not by raw offsets
        set_eye_openness(shape, target_rest, ease_squint(self._eye_ratios(source_shape, neutral), shown))
        rest_opening = mouth_opening(target_rest)
        opening = combined_opening(rest_opening, p.mouth_gain * (mouth_opening(source_shape) - neutral.mouth_closed),
                                   source_smiling)
        # eased into mouth_max_open; a portrait whose own mouth is open wider keeps it at rest
        set_mouth_opening(shape, target_rest, source_shape, soft_limit(opening, max(p.mouth_max_open, rest_opening)))
        gaze = (source.gaze - neutral.gaze) * p.gaze_gain
        return Motion(from_head_space(shape, pose), gaze.astype(np.float32), True, source.timestamp, target.image_size,
                      lips_cover=lips_cover)

    def _relaxed_rest(self, portrait: PortraitFace, source_smiling: float, now: float) -> tuple[np.ndarray, float]:
        """The portrait's rest shape with its smile relaxed as far as `portrait_smile` wants for a source
        smiling `source_smiling`, eased (`_eased_relax`), and the share of its mouth interior its lips cover
        (`relax_toward`)."""
        wanted = relax_share(source_smiling, portrait.smiling) if self.params.portrait_smile == "follow" else 0.0
        return relax_toward(portrait.rest, portrait.relaxed, self._eased_relax(wanted, now))

    def _eased_relax(self, relax: float, now: float) -> float:
        """relax, moved from the last one given no faster than a full swing per RELAX_SWING_S; as it is on
        the first frame, after `portrait_smile` was switched (on a paused frame too), and where time went back
        (a looping clip starts again, a seek), as the driver's face jumps there too."""
        reach = 1.0 if self._relaxed_at is None or now < self._relaxed_at else (now - self._relaxed_at) / RELAX_SWING_S
        self._relax = float(np.clip(relax, self._relax - reach, self._relax + reach))
        self._relaxed_at = now
        return self._relax

    def _calibrating(self, source: FaceTrack, target: FaceTrack, rest: Motion) -> Motion:
        """The portrait while the source's neutral is measured (`rest`: as it is), its smile relaxed as far as
        the source does not smile (against no relaxed mouth wider than RELAXED_WIDEST: a source who starts
        with a grin has shown no narrower one). Shown as it is, a grinning portrait grinned for those frames,
        then closed its lips; relaxed regardless, it relaxed through a grin's first frames, then grinned. (Its
        narrowest mouth is counted from the first frame after: on the crying driver, counted from these, her
        half smiles later parted a relaxed portrait's lips.)"""
        width = smile_width(self._reference + source.expression)
        source_smiling = smiling(width, width)
        shape, lips_cover = self._relaxed_rest(self._portrait_of(target), source_smiling, rest.timestamp)
        if lips_cover <= 0.0:  # not relaxed at all (keep, or a portrait that does not smile): exactly as it is
            return rest
        return Motion(from_head_space(shape, target.pose), valid=True, timestamp=rest.timestamp,
                      image_size=target.image_size, lips_cover=lips_cover)

    def _portrait_of(self, target: FaceTrack) -> PortraitFace:
        """What the portrait's own face decides (`PortraitFace`), measured once per target."""
        if self._portrait is None or self._portrait.track is not target:
            turned = turned_share(euler_angles(target.pose.rotation)[0])
            rest = self._reference + target.expression
            self._portrait = PortraitFace(target, (1.0 - turned * (1.0 - facing(target.landmarks))).astype(np.float32),
                                          portrait_smiling(smile_width(rest), corner_lift(rest)), rest, relaxed(rest))
        return self._portrait

    def _eye_ratios(self, source_shape: np.ndarray, neutral: Neutral) -> np.ndarray:
        """(2,) each target eye's openness as a share of its own open level: the source's, per eye."""
        p = self.params
        ratios = eye_openness(source_shape) / np.maximum(neutral.eyes_open, 1e-6)
        # [eye_shut_ratio, EYE_KNEE] maps onto [0, EYE_KNEE], so a tracked shut eye shuts the target's fully
        ratios = np.where(ratios < EYE_KNEE, np.interp(ratios, (p.eye_shut_ratio, EYE_KNEE), (0.0, EYE_KNEE)), ratios)
        ratios = np.clip(1.0 + p.eyes_gain * (ratios - 1.0), 0.0, p.eye_max_open)
        # a blink shuts both eyes together, but the tracker reads two closing eyes unevenly (in a blink of
        # single_face.mp4: 0.29 and 0.49 of open where both showed half open): drawn apart, an eye winked
        # through each blink
        blink = float(np.clip((WINK_ABOVE - ratios.max()) / (WINK_ABOVE - BLINK_BELOW), 0.0, 1.0))
        ratios = ratios + blink * (ratios.mean() - ratios)
        # eyes close one at a time (a wink) but widen together: one eye alone wider than its open level is
        # the neutral's estimate of it lagging (a driver who starts with eyes shut has not shown them open),
        # and its eye alone stared for a few frames
        return np.minimum(ratios, max(float(ratios.min()), 1.0))

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
                      rest.image_size, (1.0 - t) * self._last.lips_cover)


NODES = [RetargetFace]
