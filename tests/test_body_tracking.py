"""Body tracking on real photos: shoulders seen where the portrait shows them, a body the frame cuts off
reported as partial (not invented), a pass every Nth frame held between, smoothing on timestamps."""
from __future__ import annotations

import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from app.runtime.gpu.image import Image
from nodes.track.body import body_track
from nodes.track.body_types import LEFT_SHOULDER, NECK, RIGHT_SHOULDER, BodyTrack


def body_node(registry, run=None, **params):
    schema = registry.require("track.body").schema
    node = registry.create("track.body", "body", {**schema.defaults(), **params})
    node.open(run or RunContext())
    return node


def track_frames(node, frames: list[np.ndarray], fps: float = 30.0) -> list[BodyTrack]:
    """Each (H, W, 3) uint8 frame through the node at its own timestamp k / fps."""
    return [node.process(FrameContext(k, k / fps, RunContext()), image=Image(np.ascontiguousarray(f), k / fps))["track"]
            for k, f in enumerate(frames)]


def finite(track: BodyTrack) -> bool:
    return bool(np.isfinite(track.points).all() and np.isfinite(track.confidence).all())


@pytest.fixture(scope="module")
def photo_tracker(studio_registry):
    node = body_node(studio_registry, mode="photo")
    yield node
    node.close()


@pytest.mark.parametrize("name", ["astronaut", "hopper"])
def test_the_portraits_shoulders_are_seen(photo_tracker, portraits, name):
    image = portraits[name]
    track = track_frames(photo_tracker, [image])[0]
    assert track.shoulders_seen and finite(track)
    left, right, neck = track.points[LEFT_SHOULDER], track.points[RIGHT_SHOULDER], track.points[NECK]
    assert left[0] > right[0]  # the subject's left shoulder is on the image's right
    assert neck == pytest.approx((left + right) / 2)
    assert np.linalg.norm(left - right) > 0.3 * image.shape[1]
    assert track.confidence[NECK] >= 0.5


def test_the_shoulders_of_a_photo_at_an_eighth_of_the_light_are_seen(photo_tracker, portraits):
    """The pose model found no one in Hopper darkened to an eighth; a dark frame is stretched first."""
    lit = track_frames(photo_tracker, [portraits["hopper"]])[0]
    track = track_frames(photo_tracker, [(portraits["hopper"].astype(float) / 8).astype(np.uint8)])[0]
    assert track.shoulders_seen and finite(track)
    shoulders = [NECK, LEFT_SHOULDER, RIGHT_SHOULDER]  # her elbows are below the frame: guesses
    assert np.abs(track.points[shoulders] - lit.points[shoulders]).max() < 0.02 * portraits["hopper"].shape[1]


def test_a_black_and_white_photo_the_model_misses_is_looked_at_again_mirrored(photo_tracker, portraits):
    """The pose model found no one in Hopper in black and white (in colour, or mirrored, it finds her)."""
    lit = track_frames(photo_tracker, [portraits["hopper"]])[0]
    grey = np.repeat((portraits["hopper"][:, :, :3] @ [0.299, 0.587, 0.114]).round().astype(np.uint8)[:, :, None], 3, 2)
    track = track_frames(photo_tracker, [grey])[0]
    assert track.shoulders_seen and finite(track)
    shoulders = [NECK, LEFT_SHOULDER, RIGHT_SHOULDER]
    assert track.points[LEFT_SHOULDER][0] > track.points[RIGHT_SHOULDER][0]  # its left and right put back
    assert np.abs(track.points[shoulders] - lit.points[shoulders]).max() < 0.1 * grey.shape[1]


def test_a_body_the_frame_cuts_off_is_partial_not_invented(photo_tracker, portraits):
    whole = track_frames(photo_tracker, [portraits["astronaut"]])[0]
    cut = portraits["astronaut"][: int(whole.points[NECK][1]) - 40]  # the frame ends above the shoulders
    track = track_frames(photo_tracker, [cut])[0]
    assert not track.shoulders_seen and finite(track)
    if track.valid:
        assert track.partial and track.confidence[NECK] == 0.0


def test_a_tight_face_crop_has_no_shoulders(photo_tracker, portraits):
    face = portraits["astronaut"][40:230, 130:320]
    track = track_frames(photo_tracker, [face])[0]
    assert not track.shoulders_seen and finite(track)


def test_no_person_is_invalid_never_nan(photo_tracker):
    track = track_frames(photo_tracker, [np.full((120, 160, 3), 128, np.uint8)])[0]
    assert not track.valid and not track.partial and finite(track)


SHOULDERS_SEEN = np.array([[330, 250, 0.99], [100, 262, 0.99], [320, 380, 0.4], [60, 400, 0.7],
                           [240, 500, 0.2], [130, 530, 0.3]])  # joints: shoulders, elbows, hips (x, y, visibility)


def test_a_shoulder_outside_the_frame_has_no_confidence():
    track = body_track(SHOULDERS_SEEN, (320, 512), 0.0, min_visibility=0.5, bottom_margin=0.3)
    assert track.partial and track.confidence[LEFT_SHOULDER] == 0.0 and track.confidence[NECK] == 0.0
    assert track.confidence[RIGHT_SHOULDER] == pytest.approx(0.99)
    assert body_track(SHOULDERS_SEEN, (512, 512), 0.0, min_visibility=0.5, bottom_margin=0.3).shoulders_seen


def test_a_frame_ending_just_below_the_shoulders_cuts_the_body():
    """What the model draws for a face cropped at the chin: shoulders just above the bottom edge."""
    assert body_track(SHOULDERS_SEEN, (512, 300), 0.0, min_visibility=0.5, bottom_margin=0.3).partial
    assert body_track(SHOULDERS_SEEN, (512, 300), 0.0, min_visibility=0.5, bottom_margin=0.0).shoulders_seen


def test_every_nth_frame_runs_the_model_and_holds_between(studio_registry, portraits):
    """The first frame waits for its own pass; later passes run beside the graph and count from the next
    frame: frame 3's pass (the body 24 px on) is what frame 4 shows."""
    image = portraits["astronaut"]
    frames = [np.roll(image, 8 * k, axis=1) for k in range(5)]  # the body moves 8 px a frame
    node = body_node(studio_registry, every=3, smoothing=False)
    tracks = track_frames(node, frames)
    node.close()
    necks = [t.points[NECK][0] for t in tracks]
    assert necks[1] == necks[2] == necks[3] == necks[0]  # held
    assert necks[4] == pytest.approx(necks[0] + 24, abs=4)  # measured again, on frame 3
    assert [t.timestamp for t in tracks] == pytest.approx([k / 30 for k in range(5)])


def test_shoulders_that_hold_still_are_looked_at_less_often_until_they_move(studio_registry, monkeypatch):
    """A talking head's shoulders barely move: once two passes three frames apart agree, the next comes six
    frames on; the first move seen brings every third frame back."""
    from nodes.track.body import TrackBody

    passes = []
    detect = TrackBody._detect
    monkeypatch.setattr(TrackBody, "_detect", lambda self, rgb: passes.append(rgb.copy()) or detect(self, rgb))
    import imageio.v3 as iio

    from tests.conftest import REPO

    image = iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=0)  # the model holds it within 1.3%
    frames = [image] * 12 + [np.roll(image, 6 * k, axis=1) for k in range(1, 11)]  # still, then moving
    frames = [f.copy() for f in frames]
    for k, frame in enumerate(frames):
        frame[0, 0, 0] = k  # a mark the pass can be known by
    node = body_node(studio_registry, every=3, still_every=6, smoothing=False)
    track_frames(node, frames)
    node.close()
    assert [int(seen[0, 0, 0]) for seen in passes] == [0, 3, 9, 15, 18, 21]  # 0 and 3 agree: 9 next; 3 and 9
    # agree: 15 next; 15 has moved (frame 12 on): every third again


def test_a_pose_pass_due_beside_a_hand_look_waits_a_frame_and_keeps_its_cadence(studio_registry, portraits,
                                                                              monkeypatch):
    """The face's hand look starts on every 4th frame: the pose pass due on frame 12 starts on 13, the next
    still on 15; the one due on frame 0 starts there (the first frame waits for its own pass)."""
    from nodes.track.body import TrackBody

    passes = []
    detect = TrackBody._detect
    monkeypatch.setattr(TrackBody, "_detect", lambda self, rgb: passes.append(int(rgb[0, 0, 0])) or detect(self, rgb))
    frames = [portraits["astronaut"].copy() for _ in range(19)]
    for k, frame in enumerate(frames):
        frame[0, 0, 0] = k  # a mark the pass can be known by
    run = RunContext()
    run.passes.declare("track", lambda index: index % 4 == 0)
    node = body_node(studio_registry, run, every=3, still_every=3, smoothing=False)
    track_frames(node, frames)
    node.close()
    assert passes == [0, 3, 6, 9, 13, 15, 18]


def test_the_face_tracker_declares_when_its_hand_looks_start(studio_registry):
    schema = studio_registry.require("track.face").schema
    for params, starting in (({}, [0, 4, 8]), ({"hands_every": 8}, [0, 8]), ({"hands": False}, []),
                             ({"mode": "photo"}, [])):  # a photo's look is waited for: it runs beside nothing
        run = RunContext()
        node = studio_registry.create("track.face", "track", {**schema.defaults(), **params})
        node.open(run)
        assert [k for k in range(10) if run.passes.others_start("body", k)] == starting
        node.close()
        assert not run.passes.others_start("body", 0)


def test_smoothing_follows_a_jump_on_the_frames_timestamps(studio_registry, portraits):
    image = portraits["astronaut"]
    frames = [image] * 3 + [np.roll(image, 30, axis=1)] * 3
    node = body_node(studio_registry, every=1, min_cutoff=1.0, beta=0.0)
    necks = [t.points[NECK][0] for t in track_frames(node, frames)]
    node.close()
    step = necks[4] - necks[3]  # frame 3's pass counts from frame 4
    assert 0 < step < 15  # at a 1 Hz cutoff, a 30 px jump is followed only partly within a 30 fps frame
    assert necks[5] > necks[4]  # and further on the next
