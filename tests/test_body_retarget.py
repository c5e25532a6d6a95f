"""Body retargeting oracles: a real photo rolled and shifted about a point between its shoulders drives
the other portrait's torso, which follows the known roll and shift; a face with no body moves the torso
by the damped share of the head's motion and no more; drivers switch without jumps."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import EuclideanTransform, warp

from app.runtime.context import FrameContext, RunContext
from app.runtime.graph import Graph, NodeSpec
from app.runtime.scheduler import Scheduler
from nodes.body.fallback import SHOULDER_WIDTH_IN_FACE_UNITS
from nodes.body.types import BodyDriver, BodyMotion
from nodes.track.body_types import BODY_POINTS, LEFT_SHOULDER, NECK, RIGHT_SHOULDER, BodyTrack
from nodes.track.face import face_track
from nodes.track.face_model import euler_angles, from_head_space, reference_shape, rotation_from_euler
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.track.types import FaceTrack, HeadPose
from tests.conftest import REPO
from tests.test_body_tracking import body_node, track_frames

FRAMES, REST_FRAMES, FPS = 30, 5, 30.0


def retarget_node(registry, **params):
    schema = registry.require("body.retarget").schema
    node = registry.create("body.retarget", "body_retarget", {**schema.defaults(), **params})
    node.open(RunContext())
    return node


def roll_of(points: np.ndarray) -> float:
    """Degrees of the shoulder line (right shoulder to left, y down) of (3, 2) torso points."""
    across = points[1] - points[2]
    return float(np.degrees(np.arctan2(across[1], across[0])))


def known_body_motion() -> tuple[np.ndarray, np.ndarray]:
    """(FRAMES,) roll in degrees and (FRAMES,) sideways shift in pixels on unrelated curves, at rest
    for the first REST_FRAMES (the neutral)."""
    k = np.arange(FRAMES) - REST_FRAMES
    roll = np.where(k < 0, 0.0, 12.0 * np.sin(2 * np.pi * k / (FRAMES - REST_FRAMES)))
    shift = np.where(k < 0, 0.0, 25.0 * np.sin(2 * np.pi * 1.5 * k / (FRAMES - REST_FRAMES) + 0.6))
    return roll, shift


def moved_photo(image: np.ndarray, neck: np.ndarray, roll: float, shift: float) -> np.ndarray:
    """The photo turned by `roll` degrees (clockwise on screen, y down) about `neck`, then moved `shift`
    pixels to the right: the whole body's known motion."""
    about_neck = (EuclideanTransform(translation=-neck) + EuclideanTransform(rotation=np.radians(roll))
                  + EuclideanTransform(translation=neck + (shift, 0.0)))
    return (warp(image, about_neck.inverse, mode="edge") * 255 + 0.5).astype(np.uint8)


def drive(node, target: BodyTrack, bodies=None, faces=None, fps: float = FPS) -> list[BodyMotion]:
    count = len(bodies if bodies is not None else faces)
    return [node.process(FrameContext(k, k / fps, RunContext()), target=target,
                         source_body=None if bodies is None else bodies[k],
                         source_face=None if faces is None else faces[k])["motion"] for k in range(count)]


def finite(motion: BodyMotion) -> bool:
    return all(np.isfinite(a).all() for a in (motion.src, motion.dst, motion.pose.shift, motion.pose.roll))


@pytest.fixture(scope="module")
def targets(studio_registry, portraits):
    node = body_node(studio_registry, mode="photo")
    tracks = dict(zip(portraits, track_frames(node, list(portraits.values()))))
    node.close()
    assert all(t.shoulders_seen for t in tracks.values())
    return tracks


# The pose model's shoulders under-respond to a whole-body roll and jitter, most on the astronaut's
# spacesuit. Measured over runs (video mode, smoothing off): astronaut -> hopper roll corr 0.92-0.93 gain
# 0.61-0.63, shift corr 0.93-0.97 gain 0.83-0.91; hopper -> astronaut roll corr 0.99 gain 0.84-0.87, shift
# corr 0.96-0.97 gain 1.01-1.08.
@pytest.mark.parametrize("driver, target, min_corr, min_gain", [("astronaut", "hopper", 0.85, 0.45),
                                                                 ("hopper", "astronaut", 0.95, 0.7)])
def test_the_torso_follows_a_known_whole_body_roll_and_shift(studio_registry, portraits, targets, driver, target,
                                                            min_corr, min_gain):
    rolls, shifts = known_body_motion()
    image, rest = portraits[driver], targets[driver]
    frames = [moved_photo(image, rest.points[NECK], r, s) for r, s in zip(rolls, shifts)]
    tracker = body_node(studio_registry, every=1, still_every=1, smoothing=False)
    # in video mode a pose pass counts from the next frame: the body given with frame k is frame k - 1's
    bodies = track_frames(tracker, frames)[1:]
    rolls, shifts = rolls[:-1], shifts[:-1]
    tracker.close()
    assert all(b.shoulders_seen for b in bodies)
    node = retarget_node(studio_registry, calibration_frames=REST_FRAMES, scale_gain=0.0)
    motions = drive(node, targets[target], bodies=bodies)
    assert all(m.valid and m.driver is BodyDriver.BODY and finite(m) for m in motions)
    out_roll = np.array([roll_of(m.dst) - roll_of(m.src) for m in motions])
    target_width = np.linalg.norm(motions[0].src[1] - motions[0].src[2])
    source_width = np.linalg.norm(rest.points[LEFT_SHOULDER] - rest.points[RIGHT_SHOULDER])
    out_shift = np.array([(m.dst[0, 0] - m.src[0, 0]) / target_width for m in motions])  # in shoulder widths
    for known, out in ((rolls, out_roll), (shifts / source_width, out_shift)):
        assert np.corrcoef(known, out)[0, 1] >= min_corr
        assert min_gain <= np.polyfit(known, out, 1)[0] <= 1.2


def test_a_face_without_a_body_moves_the_torso_by_the_damped_share_and_no_more(studio_registry, portraits,
                                                                               targets):
    """A tight crop of a face (no shoulders) rolled and moved: the torso takes head_follow of it."""
    rolls, shifts = known_body_motion()
    crop = portraits["hopper"][100:330, 150:390]  # 240x230, cut at the chin
    frames = [moved_photo(crop, np.array([120.0, 110.0]), r, s / 4) for r, s in zip(rolls, shifts)]  # a small crop
    tracker = body_node(studio_registry, every=1, still_every=1)
    bodies = track_frames(tracker, frames)
    tracker.close()
    assert not any(b.shoulders_seen for b in bodies)
    mesh = FaceMeshDetector(static=False, max_faces=1)
    faces = [face_track(mesh.detect(f)[0], (f.shape[1], f.shape[0]), k / FPS) for k, f in enumerate(frames)]
    mesh.close()
    share = 0.3
    node = retarget_node(studio_registry, calibration_frames=REST_FRAMES, head_follow=share, breathing=0.0,
                         switch_ms=0.0)
    target = targets["astronaut"]
    motions = drive(node, target, bodies=bodies, faces=faces)
    assert all(m.valid and m.driver is BodyDriver.HEAD and finite(m) for m in motions)
    neutral = faces[:REST_FRAMES]
    head_roll = np.array([euler_angles(f.pose.rotation)[2] for f in faces])
    head_roll -= np.mean(head_roll[:REST_FRAMES])
    head_moved = np.array([f.pose.translation[0] for f in faces]) - np.mean([f.pose.translation[0] for f in neutral])
    face_scale = np.mean([f.pose.scale for f in neutral])
    out_roll = np.array([roll_of(m.dst) - roll_of(m.src) for m in motions])
    target_width = np.linalg.norm(target.points[LEFT_SHOULDER] - target.points[RIGHT_SHOULDER])
    out_moved = np.array([m.dst[0, 0] - m.src[0, 0] for m in motions])
    # exactly the share of the head's tracked motion, the head's movement counted in shoulder widths
    assert out_roll == pytest.approx(share * head_roll, abs=0.1)
    expected_moved = share * head_moved / face_scale / SHOULDER_WIDTH_IN_FACE_UNITS * target_width
    assert out_moved == pytest.approx(expected_moved, abs=0.5)
    # and so the share of the known motion, no more
    assert np.corrcoef(rolls, out_roll)[0, 1] >= 0.95
    assert share * 0.85 <= np.polyfit(rolls, out_roll, 1)[0] <= share * 1.1
    assert np.abs(out_roll).max() <= share * np.abs(rolls).max() + 1.0


def body_at(timestamp: float, roll: float = 0.0, x: float = 300.0, partial: bool = False) -> BodyTrack:
    """A synthetic body: shoulders 200 px apart about a neck at (x, 300), rolled `roll` degrees."""
    angle = np.radians(roll)
    half = 100.0 * np.array([np.cos(angle), np.sin(angle)])
    points = np.zeros((len(BODY_POINTS), 2), np.float32)
    points[[NECK, LEFT_SHOULDER, RIGHT_SHOULDER]] = (x, 300.0) + np.array([(0, 0), half, -half])
    return BodyTrack(points, np.ones(len(BODY_POINTS), np.float32), True, partial, (600, 600), timestamp)


def face_at(timestamp: float, roll: float = 0.0) -> FaceTrack:
    pose = HeadPose(rotation_from_euler(0.0, 0.0, roll), np.array([300.0, 200.0, 0.0]), 40.0)
    return face_track(from_head_space(reference_shape(), pose), (600, 600), timestamp)


def test_a_body_lost_is_held_then_the_torso_eases_to_the_head_without_jumps(studio_registry):
    node = retarget_node(studio_registry, calibration_frames=1, lost_hold_ms=500.0, switch_ms=400.0,
                         breathing=0.0, head_follow=0.3)
    target = body_at(0.0)
    times = np.arange(60) / FPS
    bodies = [body_at(t, roll=0.0 if t == 0 else 10.0, partial=t >= 1.0) for t in times]
    faces = [face_at(t, roll=0.0 if t == 0 else 20.0) for t in times]
    motions = drive(node, target, bodies=bodies, faces=faces)
    rolls = np.array([m.pose.roll for m in motions])
    drivers = [m.driver for m in motions]
    held = (times >= 1.0) & (times <= 1.45)  # the body was last seen at 0.967 s
    assert rolls[(times > 0.5) & (times < 1.0)] == pytest.approx(10.0)
    assert rolls[held] == pytest.approx(10.0) and all(d is BodyDriver.BODY for d, h in zip(drivers, held) if h)
    assert drivers[-1] is BodyDriver.HEAD and rolls[-1] == pytest.approx(0.3 * 20.0)
    assert np.abs(np.diff(rolls[times > 0.5])).max() < 1.0  # eased, not jumped: 4 deg over 400 ms
    assert all(finite(m) for m in motions)


def test_shoulders_drawn_where_no_face_is_seen_do_not_move_the_torso(studio_registry):
    """The pose model draws shoulders on a clip with no one in it (clouds, a title card: no_face.mp4).
    With a face to check against, shoulders count only while a face is seen or was a moment ago: the
    torso rests through the faceless stretch, and the neutral body is taken once a face is there."""
    node = retarget_node(studio_registry, calibration_frames=1, lost_hold_ms=500.0, switch_ms=0.0, breathing=0.0)
    target = body_at(0.0)
    times = np.arange(60) / FPS
    with_face = times >= 1.0
    bodies = [body_at(t, roll=15.0 if t < 1.5 else 25.0) for t in times]
    faces = [face_at(t) if seen else FaceTrack.invalid((600, 600), t) for t, seen in zip(times, with_face)]
    motions = drive(node, target, bodies=bodies, faces=faces)
    assert all(m.driver is BodyDriver.REST and m.pose.roll == 0.0 for m, seen in zip(motions, with_face) if not seen)
    assert motions[-1].driver is BodyDriver.BODY
    assert motions[-1].pose.roll == pytest.approx(10.0, abs=1e-3)  # 25 against the neutral of 15 taken at 1 s, not before
    faces_lost = [FaceTrack.invalid((600, 600), 2.0 + k / FPS) for k in range(30)]
    later = drive(node, target, bodies=[body_at(f.timestamp, roll=25.0) for f in faces_lost], faces=faces_lost)
    assert later[5].driver is BodyDriver.BODY and later[-1].driver is BodyDriver.REST  # held, then let go


def test_nothing_to_follow_breathes_on_the_frames_timestamps(studio_registry):
    node = retarget_node(studio_registry, breathing=0.02, breathing_period=4.0, switch_ms=0.0)
    target = body_at(0.0)
    rises = {}
    for t in (0.0, 1.0, 2.0, 3.0, 4.0):
        motion = node.process(FrameContext(0, t, RunContext()), target=target)["motion"]
        assert motion.driver is BodyDriver.REST and finite(motion)
        rises[t] = (motion.src[:, 1] - motion.dst[:, 1]) / 200.0  # shoulder widths, upward
    assert rises[0.0] == pytest.approx(0.0, abs=1e-9) and rises[4.0] == pytest.approx(0.0, abs=1e-9)
    assert rises[2.0] == pytest.approx(0.02) and rises[1.0] == pytest.approx(0.01)


def test_gains_limits_and_calibration_shape_the_body_motion(studio_registry):
    node = retarget_node(studio_registry, calibration_frames=2, roll_gain=0.5, roll_limit=8.0, shift_limit=0.1)
    target = body_at(0.0)

    def run(t: float, body: BodyTrack) -> BodyMotion:
        return node.process(FrameContext(0, t, RunContext()), target=target, source_body=body)["motion"]

    for t in (0.0, 0.1):
        assert run(t, body_at(t, roll=5.0)).pose.roll == 0.0  # calibrating: at rest
    assert run(0.2, body_at(0.2, roll=15.0)).pose.roll == pytest.approx(5.0)  # (15 - 5) * 0.5
    assert run(0.3, body_at(0.3, roll=35.0)).pose.roll == pytest.approx(8.0)  # limited
    moved = run(0.4, body_at(0.4, roll=5.0, x=400.0))
    assert np.linalg.norm(moved.pose.shift) == pytest.approx(0.1)  # 0.5 widths asked, limited
    assert moved.dst[0] - moved.src[0] == pytest.approx((20.0, 0.0), abs=1e-3)
    node.run_action("calibrate_neutral")
    for t in (0.5, 0.6):
        run(t, body_at(t, roll=15.0))
    assert "calibrating" not in node.status()
    assert run(0.7, body_at(0.7, roll=15.0)).pose.roll == pytest.approx(0.0, abs=1e-9)


def test_a_target_without_shoulders_keeps_its_torso(studio_registry):
    node = retarget_node(studio_registry)
    motion = node.process(FrameContext(0, 0.0, RunContext()), target=body_at(0.0, partial=True),
                          source_body=body_at(0.0, roll=10.0))["motion"]
    assert not motion.valid and motion.dst == pytest.approx(motion.src) and finite(motion)
    assert "no shoulders" in node.status()


def test_a_graph_drives_the_portraits_torso_from_a_webcam_clip(studio_registry):
    """single_face.mp4 is framed like a webcam, its shoulders on the bottom edge: partial, so the
    portrait's torso follows the head; with bottom_margin 0 the same shoulders drive it."""
    def run(margin: float) -> list[BodyMotion]:
        graph = Graph()
        for spec in (NodeSpec("driver", "capture.video", params={"path": "single_face.mp4"}),
                     NodeSpec("body", "track.body", params={"bottom_margin": margin}),
                     NodeSpec("face", "track.face", params={"hands": False}),
                     NodeSpec("target", "capture.image", params={"path": "portraits/astronaut.png"}),
                     NodeSpec("target_body", "track.body", params={"mode": "photo"}),
                     NodeSpec("torso", "body.retarget", params={"calibration_frames": 2})):
            graph.add(spec)
        for link in (("driver", "image", "body", "image"), ("driver", "image", "face", "image"),
                     ("target", "image", "target_body", "image"), ("body", "track", "torso", "source_body"),
                     ("face", "track", "torso", "source_face"), ("target_body", "track", "torso", "target")):
            graph.connect(*link)
        scheduler = Scheduler(graph, studio_registry, RunContext(base_dir=REPO / "tests" / "data" / "real"))
        assert scheduler.open() == []
        motions = []
        for _ in range(8):
            assert scheduler.step() == []
            motions.append(scheduler.output("torso", "motion"))
        scheduler.close()
        return motions

    for margin, driver in ((0.3, BodyDriver.HEAD), (0.0, BodyDriver.BODY)):
        motions = run(margin)
        assert all(m.valid and finite(m) for m in motions)
        assert motions[-1].driver is driver and motions[-1].image_size == (512, 512)
