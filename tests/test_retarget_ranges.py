"""Retargeting maps ranges, not raw offsets: synthetic head-space faces drive the node, and its Motion
landmarks are measured as the quality score measures a face (app.quality.features)."""
from __future__ import annotations

import numpy as np
import pytest

from app.quality.features import FEATURES, frame_features
from app.runtime.context import FrameContext, RunContext
from nodes.capture.motion import ExpressionRig
from nodes.retarget.ranges import INNER_LIPS, LEFT_EYE_LIDS, LOWER_LIP_RINGS, RIGHT_EYE_LIDS, UPPER_LIP_RINGS
from nodes.track.face import face_track
from nodes.track.face_model import (LEFT_EYE_CORNERS, MOUTH_CORNERS, RIGHT_EYE_CORNERS, from_head_space,
                                    reference_shape, topology)
from nodes.track.types import HeadPose

EYE_OPENNESS = [FEATURES.index("right_eye_openness"), FEATURES.index("left_eye_openness")]
MOUTH_OPENING, BROW_HEIGHT = FEATURES.index("mouth_opening"), FEATURES.index("brow_height")
RIG = ExpressionRig(reference_shape())


def _with_gaps(shape: np.ndarray, pairs: np.ndarray, scale: float) -> np.ndarray:
    """The shape with each (upper, lower) pair's gap scaled about its midpoint: 0 shuts it."""
    shape = shape.copy()
    middle, half = (shape[pairs[:, 0]] + shape[pairs[:, 1]]) / 2, (shape[pairs[:, 1]] - shape[pairs[:, 0]]) / 2
    shape[pairs[:, 0]], shape[pairs[:, 1]] = middle - scale * half, middle + scale * half
    return shape


def _eyes(shape: np.ndarray, right: float, left: float | None = None) -> np.ndarray:
    return _with_gaps(_with_gaps(shape, RIGHT_EYE_LIDS, right), LEFT_EYE_LIDS, right if left is None else left)


def _bigger_eyes(shape: np.ndarray, scale: float) -> np.ndarray:
    """Both eyes (lids and corners) scaled about their centres."""
    shape = shape.copy()
    for lids, corners in ((RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS), (LEFT_EYE_LIDS, LEFT_EYE_CORNERS)):
        eye = [*lids.ravel(), *corners]
        centre = shape[eye].mean(axis=0)
        shape[eye] = centre + scale * (shape[eye] - centre)
    return shape


@pytest.fixture(autouse=True)
def sources_at_rest_grin_as_the_reference_face(monkeypatch):
    """The synthetic sources here rest at the reference face, whose mouth is as wide as a grin (smile_width
    0.71; no relaxed mouth measures over RELAXED_WIDEST): the mechanics checked here take it for a neutral,
    as they were written to, rather than as a source who started with a grin (test_retarget_smile)."""
    monkeypatch.setattr("nodes.retarget.smile.RELAXED_WIDEST", 1.0)


def _track(shape: np.ndarray, timestamp: float = 0.0):
    return face_track(from_head_space(shape, HeadPose(np.eye(3), np.array([200.0, 200.0, 0.0]), 80.0)),
                      (400, 400), timestamp)


def _node(studio_registry, **params):
    """The node with `params` over the defaults, a smiling portrait keeping its smile: the reference face
    these tests pose reads as the astronaut's grin (smile_width 0.71, corners 0.11 above its lips' middle),
    and what they check adds to a portrait's own face (test_retarget_smile relaxes it)."""
    schema = studio_registry.require("retarget.face").schema
    node = studio_registry.create("retarget.face", "retarget",
                                  {**schema.defaults(), "portrait_smile": "keep", **params})
    node.open(RunContext())
    return node


def _run(node, target: np.ndarray, source_shapes: list[np.ndarray]) -> np.ndarray:
    """The Motion landmarks for the last source shape, driving the target's (478, 3) landmark pixels."""
    for k, shape in enumerate(source_shapes):
        motion = node.process(FrameContext(k, k / 30, RunContext()), source=_track(shape, k / 30),
                              target=face_track(target, (400, 400), 0.0))["motion"]
    return motion.landmarks


def _drive(node, target_shape: np.ndarray, source_shapes: list[np.ndarray]) -> np.ndarray:
    """frame_features of the Motion for the last source shape, driving the target's head-space shape."""
    return frame_features(_run(node, _track(target_shape).landmarks, source_shapes))


def _shape(points: np.ndarray) -> np.ndarray:
    """Head-space shape of landmark pixels (pose removed)."""
    return reference_shape() + face_track(points, (400, 400), 0.0).expression


def _lid_gaps(shape: np.ndarray) -> np.ndarray:
    """(2, 7) frontal gap of every lid pair, right and left eye."""
    return np.array([np.linalg.norm(shape[lids[:, 1], :2] - shape[lids[:, 0], :2], axis=1)
                     for lids in (RIGHT_EYE_LIDS, LEFT_EYE_LIDS)])


def _chain(edges: set[tuple[int, int]], start: int, first: int, end: int) -> list[int]:
    """The points between `start` and `end` along the path of edges that leaves `start` by `first`."""
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    path = [start, first]
    while path[-1] != end:
        path.append(next(n for n in neighbours[path[-1]] if n != path[-2]))
    return path[1:-1]


@pytest.mark.parametrize("pairs, connections, corners", [
    (RIGHT_EYE_LIDS, "FACEMESH_RIGHT_EYE", (33, 133)),
    (LEFT_EYE_LIDS, "FACEMESH_LEFT_EYE", (263, 362)),
    (INNER_LIPS, "FACEMESH_LIPS", (78, 308)),
])
def test_the_landmark_pairs_are_mediapipes_upper_and_lower_chains(pairs, connections, corners):
    from mediapipe.python.solutions import face_mesh_connections

    edges = set(getattr(face_mesh_connections, connections))
    start, end = corners
    upper = _chain(edges, start, int(pairs[0, 0]), end)
    lower = _chain(edges, start, int(pairs[0, 1]), end)
    assert upper == pairs[:, 0].tolist() and lower == pairs[:, 1].tolist()
    assert (reference_shape()[pairs[:, 0], 1] < reference_shape()[pairs[:, 1], 1]).all()  # y down: upper above


OPEN = [_eyes(reference_shape(), 1.0)] * 10  # a few frames at rest first: the source's open level


@pytest.mark.parametrize("target_eyes", [
    lambda s: _eyes(s, 0.6), lambda s: _eyes(s, 1.5), lambda s: _bigger_eyes(s, 1.3),
], ids=["narrow", "wide", "big"])
@pytest.mark.parametrize("tracked_shut", [0.0, 0.15], ids=["shut", "tracked-shut"])
def test_shut_source_eyes_shut_the_targets_eyes_whatever_their_size(studio_registry, target_eyes, tracked_shut):
    target = target_eyes(reference_shape())
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    node = _node(studio_registry)
    for _ in range(3):  # and again after opening
        shut = _drive(node, target, OPEN + [_eyes(reference_shape(), tracked_shut)])
        assert (shut[EYE_OPENNESS] <= 0.05 * rest).all()
        assert _drive(node, target, OPEN[:1])[EYE_OPENNESS] == pytest.approx(rest, rel=0.05)


def test_a_driver_who_starts_with_eyes_nearly_shut_shuts_the_targets_eyes(studio_registry):
    """A driver whose first frames are eyes cast down then shut (wolfgang_expressions.mp4 starts crying so)
    has not yet shown its eyes open: its shut eyes must still shut the target's, not read as its open
    level. The neutral's open level was the highest seen so far (the cast-down eyes): the target's eyes
    stayed at 45% of their own; shut now."""
    target = reference_shape()
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    shut = _drive(_node(studio_registry), target, [_eyes(reference_shape(), 0.45)] * 10
                  + [_eyes(reference_shape(), 0.15)] * 10)[EYE_OPENNESS]
    assert (shut <= 0.1 * rest).all()


def test_every_lid_pair_shuts(studio_registry):
    target = _track(_eyes(reference_shape(), 1.4)).landmarks
    shut = _run(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 0.0)])
    assert (_lid_gaps(shut) <= 0.05 * _lid_gaps(target)[:, 3:4]).all()  # of the middle pair's gap


def test_shut_eyes_shut_mostly_by_their_upper_lids(studio_registry):
    """A blink is the upper lid coming down onto the lower one: shut about their midpoint, the lids met
    in a line arched like an upper lid half-way down the eye, which the tracker reads as a narrowed eye.
    A source whose lids meet half-way moves the target's lower lids by its own expression, and the rest
    of the gap is shut by the upper lids: the lower lids rise by clearly less than half of it."""
    target = _eyes(reference_shape(), 1.4)
    shut = _shape(_run(_node(studio_registry), _track(target).landmarks, OPEN + [_eyes(reference_shape(), 0.0)]))
    for lids in (RIGHT_EYE_LIDS, LEFT_EYE_LIDS):
        gaps = target[lids[:, 1], 1] - target[lids[:, 0], 1]  # y down: lower minus upper
        risen = target[lids[:, 1], 1] - shut[lids[:, 1], 1]
        assert (gaps > 0).all() and (risen < 0.46 * gaps).all(), (risen / gaps).round(2)  # midpoint: 0.5


def test_a_wink_closes_only_that_eye(studio_registry):
    target = _eyes(reference_shape(), 1.3)
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    wink = _drive(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 1.0, 0.0)])[EYE_OPENNESS]
    assert wink[1] <= 0.05 * rest[1]
    assert wink[0] == pytest.approx(rest[0], rel=0.05)


def test_a_blink_read_unevenly_shuts_both_eyes_alike(studio_registry):
    """In single_face.mp4's blink the tracker read 0.29 and 0.49 of open where both eyes showed half open:
    drawn as read, one eye winked through the blink. Two eyes closing are drawn together; a wink (the other
    eye open) still shuts one eye only, and an eye half shut beside an open one stays half shut."""
    target = _eyes(reference_shape(), 1.0)
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    uneven = _drive(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 0.35, 0.55)])[EYE_OPENNESS]
    assert uneven[0] == pytest.approx(uneven[1], rel=0.05) and uneven.max() < 0.6 * rest.max()
    half = _drive(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 1.0, 0.45)])[EYE_OPENNESS]
    assert half[0] == pytest.approx(rest[0], rel=0.05) and half[1] < 0.6 * rest[1]


def test_one_eye_alone_wider_than_its_open_level_does_not_stare(studio_registry):
    """wolfgang_expressions.mp4 cries with her eyes shut for five seconds, then opens them: the neutral
    has not seen them open, and for the frames it took to learn her right eye's open level that eye read
    1.3x open and the left 1.1x: the astronaut stared with one eye (160-168). Eyes widen together; a
    wider one is held to the other (and both widen, as far as the lesser)."""
    target = _eyes(reference_shape(), 0.8)
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    one = _drive(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 1.5, 1.0)])[EYE_OPENNESS]
    assert one == pytest.approx(rest, rel=0.03)
    both = _drive(_node(studio_registry), target, OPEN + [_eyes(reference_shape(), 1.5, 1.15)])[EYE_OPENNESS]
    assert both == pytest.approx(1.15 * rest, rel=0.03)


def test_wide_open_source_eyes_stay_plausible(studio_registry):
    target = _eyes(reference_shape(), 0.8)
    rest = frame_features(_track(target).landmarks)[EYE_OPENNESS]
    for eye_max_open in (1.3, 1.1):
        wide = _drive(_node(studio_registry, eye_max_open=eye_max_open), target,
                      OPEN + [_eyes(reference_shape(), 2.0)])[EYE_OPENNESS]
        assert wide == pytest.approx(eye_max_open * rest, rel=0.03)


def test_mouth_opening_maps_in_mouth_widths(studio_registry):
    """A target with a wider mouth opens as many of its own mouth widths as the source opens of its."""
    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    wide_mouth = closed.copy()
    lips = topology().regions["mouth"]
    centre = closed[lips].mean(axis=0)
    wide_mouth[lips] = centre + (closed[lips] - centre) * np.array([1.4, 1.0, 1.0])
    source = [closed] * 10 + [closed + 0.6 * RIG.open]
    opened = frame_features(_track(source[-1]).landmarks)[MOUTH_OPENING]
    got = _drive(_node(studio_registry), wide_mouth, source)[MOUTH_OPENING]
    assert opened > 0.2
    assert got == pytest.approx(opened, abs=0.02)


def test_a_laugh_whose_tracked_chin_lags_its_lower_lip_does_not_squash_the_targets_chin(studio_registry):
    """The tracker's chin barely moves in head space as a laugh drops the jaw (wolfgang_expressions, frames
    280-440: the lower lip down 0.26 head-space units past her neutral, the chin 0.02): the target's lower
    lip went down and its chin stayed, squashed to 0.56-0.72 of its height under the lip (a round "moon
    face"). The chin now drops with the lower lip, short of CHIN_RISE; a chin rising a little against the
    lip (a pout, noise) keeps its own motion, and so does the skin beside the mouth's corners (moved down
    with the lip's middle, it hooked the corners of a three-quarter portrait's neutral mouth)."""
    from nodes.retarget.ranges import CHIN_RISE

    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    lip, chin = LOWER_LIP_RINGS[-1, 5], 152
    rest = _track(closed).landmarks

    def laughing(drop: float) -> np.ndarray:
        """The target's landmarks for a source whose lower lip dropped by `drop`, its chin where it was."""
        laugh = closed.copy()
        laugh[LOWER_LIP_RINGS.ravel(), 1] += drop
        return _run(_node(studio_registry), rest, [closed] * 10 + [laugh])

    def chin_height(out: np.ndarray) -> float:
        """The chin below the lower lip, as a share of the target's own."""
        return float((out[chin, 1] - out[lip, 1]) / (rest[chin, 1] - rest[lip, 1]))

    height = closed[chin, 1] - closed[lip, 1]
    out = laughing(0.25)
    assert chin_height(out) == pytest.approx(1.0 - CHIN_RISE / height, abs=0.02)  # was 1 - 0.25 / height: 0.65
    assert chin_height(laughing(0.03)) == pytest.approx(1.0 - 0.03 / height, abs=0.01)
    corners = closed[list(MOUTH_CORNERS)]
    beside = np.flatnonzero((np.linalg.norm(closed[:, None, :2] - corners[None, :, :2], axis=2).min(axis=1) < 0.2)
                            & (closed[:, 1] > corners[:, 1].max()))
    beside = np.setdiff1d(beside, LOWER_LIP_RINGS.ravel())
    assert len(beside) >= 4
    assert np.abs(out[beside, 1] - rest[beside, 1]).max() < 0.1 * 0.25 * 80.0  # 80: the pixels of a head unit


def test_a_wide_open_source_mouth_stays_plausible(studio_registry):
    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    for mouth_max_open in (0.6, 0.3):
        node = _node(studio_registry, mouth_max_open=mouth_max_open)
        got = _drive(node, closed, [closed] * 10 + [closed + 2.0 * RIG.open])
        assert got[MOUTH_OPENING] == pytest.approx(mouth_max_open, abs=0.01)


def test_a_driver_who_starts_mid_expression_leaves_the_target_at_rest_once_relaxed(studio_registry):
    """Starts with the mouth open and the eyes cast down for a second, then relaxes for two: the
    relaxed driver gives the target at rest, where a first-frames neutral reads 'eyes wide, mouth shut'."""
    start = _eyes(reference_shape() + 0.5 * RIG.open, 0.5)
    relaxed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    target = _track(reference_shape()).landmarks  # the astronaut: lips parted at rest
    for mode, at_rest in (("adaptive", True), ("first_frames", False)):
        motion = _run(_node(studio_registry, neutral_mode=mode), target, [start] * 30 + [relaxed] * 60)
        if at_rest:  # the expression; the pose keeps the first frames' (biased a little by the open jaw)
            assert np.abs(_shape(motion) - _shape(target)).max() < 0.01
        else:
            features, rest = frame_features(motion), frame_features(target)
            assert (features[EYE_OPENNESS] > 1.2 * rest[EYE_OPENNESS]).all()
            assert features[MOUTH_OPENING] < 0.5 * rest[MOUTH_OPENING]


def test_a_driver_relaxed_only_in_her_first_second_keeps_that_mouth_as_her_neutral():
    """wolfgang_expressions.mp4 starts with eyes cast down and a relaxed mouth, then cries and laughs: her
    calmest frames by every feature at once (eyes open, mouth closed) had a grin's width, so her grins did
    not widen the target's mouth. The neutral's lower face now comes from her narrowest closed mouths when
    those are clearly narrower; a mouth whose closed widths differ little keeps the calm frames' own."""
    from nodes.retarget.neutral import AdaptiveNeutral
    from nodes.retarget.ranges import mouth_width
    from nodes.track.types import HeadPose

    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)  # the reference's grin, lips together
    relaxed = _relaxed_mouth(closed)  # 0.82 of its width

    def neutral_width(first: np.ndarray) -> float:
        neutral = AdaptiveNeutral()
        for shape in [_eyes(first, 0.45)] * 10 + [closed] * 100:
            neutral.add(_track(shape))
        return mouth_width(reference_shape() + neutral.neutral(HeadPose.identity()).expression)

    assert neutral_width(relaxed) == pytest.approx(mouth_width(relaxed), rel=0.02)  # was the grin's: 1.22x
    nearly = closed.copy()
    lips = topology().regions["mouth"]
    nearly[lips] = closed[lips].mean(axis=0) + (closed[lips] - closed[lips].mean(axis=0)) * np.array([0.95, 1.0, 1.0])
    assert neutral_width(nearly) == pytest.approx(mouth_width(closed), rel=0.01)


def test_a_long_held_expression_is_not_taken_for_the_drivers_rest(studio_registry):
    """Thirty seconds at rest, then brows raised for twelve: the brows still drive the target at the end.
    A neutral drawn from the last ten seconds alone had come to read the raised brows as rest."""
    target = _track(reference_shape()).landmarks
    rest, raised = reference_shape(), reference_shape() + RIG.brows
    motion = _run(_node(studio_registry), target, [rest] * 900 + [raised] * 360)
    driver_change = _brow_height(_track(raised).landmarks) - _brow_height(_track(rest).landmarks)
    assert (_brow_height(motion) - _brow_height(target)) / driver_change > 0.8


def _across_lips(shape: np.ndarray) -> np.ndarray:
    """(2, 3, 11) per lip, per step from one ring to the next outward, the step's length along the lip's
    own outward direction at that column (inner ring to outer ring): negative where the lip is folded."""
    steps = []
    for rings in (UPPER_LIP_RINGS, LOWER_LIP_RINGS):
        outward = shape[rings[-1], :2] - shape[rings[0], :2]
        outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-9)
        steps.append([((shape[b, :2] - shape[a, :2]) * outward).sum(axis=1) for a, b in zip(rings[:-1], rings[1:])])
    return np.array(steps)


def test_the_lip_rings_run_outward_across_each_lip():
    """The rings' landmark ids: in the reference face every column steps outward, ring by ring."""
    assert (_across_lips(reference_shape())[:, :, 1:-1] > 0).all()


def test_a_driver_whose_lips_roll_open_does_not_fold_the_lips_of_a_target_smiling_open(studio_registry):
    """A real driver's inner lips roll outward as the mouth opens (the inner ring moves further than the
    rings behind it); on a target whose mouth is already open that roll, added again, pushed the inner
    ring past the others and folded the lip over itself (a swollen lip over the teeth)."""
    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    opened = closed + 0.7 * RIG.open
    roll = np.zeros_like(opened)
    roll[LOWER_LIP_RINGS[0][1:-1], 1] = 0.12  # the inner lower ring drops past the next one
    roll[UPPER_LIP_RINGS[0][1:-1], 1] = -0.06
    target = reference_shape() + 0.4 * RIG.open  # already open, like tests/data/real/smile_teeth.jpg
    motion = _run(_node(studio_registry), _track(target).landmarks, [closed] * 10 + [opened + roll])
    shape = _shape(motion)
    rest_steps = _across_lips(target)[:, :, 1:-1]
    assert (_across_lips(shape)[:, :, 1:-1] > 0.3 * rest_steps).all()
    assert frame_features(motion)[MOUTH_OPENING] > frame_features(_track(target).landmarks)[MOUTH_OPENING] + 0.05


def _relaxed_mouth(shape: np.ndarray) -> np.ndarray:
    """The mouth narrowed from the reference's smile (smile width 0.71) to a relaxed one (0.58)."""
    lips = topology().regions["mouth"]
    centre = shape[lips].mean(axis=0)
    relaxed = shape.copy()
    relaxed[lips] = centre + (shape[lips] - centre) * np.array([0.82, 1.0, 1.0])
    return relaxed


def test_a_target_already_smiling_open_opens_as_far_again_as_a_talking_source(studio_registry):
    """A target smiling open at rest (about a quarter of its mouth width, like tests/data/real/
    smile_teeth.jpg) and a source that opens its mouth without smiling (speech, a dropping jaw): she opens
    a quarter further when the source opens a quarter of its own; past mouth_max_open it eases in."""
    closed = _relaxed_mouth(_with_gaps(reference_shape(), INNER_LIPS, 0.0))
    target = reference_shape() + 0.3 * RIG.open
    rest = frame_features(_track(target).landmarks)[MOUTH_OPENING]
    source = [closed] * 10 + [closed + 0.7 * RIG.open]
    opened = frame_features(_track(source[-1]).landmarks)[MOUTH_OPENING]
    got = _drive(_node(studio_registry), target, source)[MOUTH_OPENING]
    assert 0.1 < rest < 0.3 and 0.2 < opened < 0.35, (rest, opened)
    assert got - rest == pytest.approx(opened, rel=0.1)
    wider = [_drive(_node(studio_registry), target, source[:10] + [closed + k * RIG.open])[MOUTH_OPENING]
             for k in (1.0, 1.3, 1.6)]
    assert wider[0] < wider[1] < wider[2] <= 0.6 + 1e-6  # still opening, never past mouth_max_open


def test_a_grin_does_not_open_a_target_smiling_open_by_its_own_parted_lips_again(studio_registry):
    """A source that grins (a broad smile, lips parted): its parted lips are drawn back, as the smiling
    target's already are, so the openings combine as nearly the farther of the two (their 4-norm) instead
    of adding up (added, a grin on a grin opened her to a tall block of teeth; as their Euclidean norm,
    to a band of the driver's teeth under her own nearly as tall as they are)."""
    closed = _relaxed_mouth(_with_gaps(reference_shape(), INNER_LIPS, 0.0))
    grin = _with_gaps(reference_shape(), INNER_LIPS, 0.0) + 1.0 * RIG.smile + 0.7 * RIG.open
    target = reference_shape() + 0.3 * RIG.open
    rest = frame_features(_track(target).landmarks)[MOUTH_OPENING]
    opened = frame_features(_track(grin).landmarks)[MOUTH_OPENING]
    assert frame_features(_track(grin).landmarks)[FEATURES.index("smile_width")] > 0.72
    got = _drive(_node(studio_registry), target, [closed] * 10 + [grin])[MOUTH_OPENING]
    assert got == pytest.approx((rest ** 4 + opened ** 4) ** 0.25, abs=0.03), (rest, opened, got)
    assert got < np.hypot(rest, opened) - 0.03


def test_a_relaxed_driver_with_shut_lips_shuts_a_target_at_rest_with_shut_lips(studio_registry):
    closed = _with_gaps(reference_shape(), INNER_LIPS, 0.0)
    got = _drive(_node(studio_registry), closed, [closed + 0.5 * RIG.open] * 30 + [closed] * 60)
    assert got[MOUTH_OPENING] < 0.01


def _brow_height(points: np.ndarray) -> float:
    return frame_features(points)[BROW_HEIGHT]


def _smile_width(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[MOUTH_CORNERS[1], :2] - points[MOUTH_CORNERS[0], :2]))


@pytest.mark.parametrize("field, gain_param, measure", [
    (RIG.brows, "brows_gain", _brow_height), (RIG.smile, "mouth_gain", _smile_width),
], ids=["brows", "smile"])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_brows_and_smile_width_follow_with_their_gain(studio_registry, field, gain_param, measure, gain):
    target = _track(_relaxed_mouth(_eyes(reference_shape(), 0.7))).landmarks  # another face, not smiling
    source = [reference_shape()] * 20 + [reference_shape() + field]
    motion = _run(_node(studio_registry, **{gain_param: gain}), target, source)
    driver_change = measure(_track(source[-1]).landmarks) - measure(_track(source[0]).landmarks)
    target_change = measure(motion) - measure(target)
    assert abs(driver_change) > 0  # the rig moves them
    assert target_change / driver_change == pytest.approx(gain, rel=0.15)


def test_calibrate_neutral_pins_the_neutral(studio_registry):
    node = _node(studio_registry, calibration_frames=1)
    target = _track(reference_shape()).landmarks
    _run(node, target, [reference_shape()])
    assert "adapting" in node.status()
    node.run_action("calibrate_neutral")
    _run(node, target, [reference_shape() + 0.5 * RIG.open])  # pinned to an open mouth
    assert "pinned" in node.status()
    relaxed = _run(node, target, [reference_shape()] * 60)
    assert frame_features(relaxed)[MOUTH_OPENING] < 0.5 * frame_features(target)[MOUTH_OPENING]


def test_facing_is_one_on_a_frontal_face_and_falls_on_the_far_side_of_a_turned_one():
    """retarget.facing from the mesh's own normals: a frontal face faces the camera almost everywhere; turned
    50 degrees, the points of its far cheek are seen edge-on or not at all, its near cheek still squarely."""
    from nodes.retarget.facing import facing
    from nodes.track.face_model import MESH_POINTS, rotation_from_euler

    frontal = reference_shape() * 100.0
    assert np.median(facing(frontal)[:MESH_POINTS]) == 1.0
    turned = reference_shape() @ rotation_from_euler(50.0, 0.0, 0.0).T * 100.0
    weights = facing(turned)
    x = reference_shape()[:MESH_POINTS, 0]
    sides = [np.flatnonzero(x < -0.7), np.flatnonzero(x > 0.7)]  # the outer cheeks
    far, near = sorted(sides, key=lambda side: -turned[side, 2].mean())  # smaller z is nearer the camera
    assert len(far) > 10 and len(near) > 10
    assert np.median(weights[far]) < 0.3 and np.median(weights[near]) > 0.9


def test_each_landmarks_mirror_counterpart_is_its_own_on_the_other_side():
    """face_model.mirror_points pairs the mesh's points left and right one to one: the eye corners, mouth
    corners and cheeks swap sides, the nose and the lips' middle are their own counterparts."""
    from nodes.track.face_model import MESH_POINTS, mirror_points

    counterpart = mirror_points()
    assert np.array_equal(counterpart[counterpart], np.arange(len(counterpart)))
    for a, b in ((33, 263), (133, 362), (61, 291), (78, 308), (234, 454), (70, 300)):
        assert counterpart[a] == b and counterpart[b] == a
    assert all(counterpart[k] == k for k in (1, 4, 13, 14, 0, 17, 152, 10))
    shape = reference_shape()[:MESH_POINTS]
    assert np.abs(shape[counterpart[:MESH_POINTS], 0] + shape[:, 0]).max() < 0.05  # mirrored across x = 0


def test_a_turned_faces_nose_hides_the_cheek_behind_it_and_a_frontal_face_hides_nothing_inside():
    """retarget.facing.hidden: turned 40 degrees, the cheek beside the nose on its far side faces the camera
    (by its normals) but lies behind the nose; the near cheek beside the nose does not. Frontal, no point
    of the inner face (within the cheeks) is hidden."""
    from nodes.retarget.facing import facing, hidden
    from nodes.track.face_model import MESH_POINTS, mirror_points, rotation_from_euler

    frontal = reference_shape() * 100.0
    x = reference_shape()[:MESH_POINTS, 0]
    assert not hidden(frontal)[:MESH_POINTS][np.abs(x) < 0.6].any()
    turned = reference_shape() @ rotation_from_euler(40.0, 0.0, 0.0).T * 100.0
    covered = hidden(turned)
    beside_nose = 203  # the cheek beside the nose's wing on one side, 423 its counterpart
    far, near = sorted((beside_nose, mirror_points()[beside_nose]), key=lambda k: -turned[k, 2])
    assert covered[far] and facing(turned)[far] > 0.5
    assert not covered[near]
    assert not covered[MESH_POINTS:].any()
