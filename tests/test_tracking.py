"""Tracking oracles: known rotations, scales and shifts of a portrait come back from the tracker."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.transform import AffineTransform, rotate, warp

from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from nodes.track.face_model import euler_angles, make_reference, procrustes, reference_shape, topology
from nodes.track.face import face_track, pick_face
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.track.upright import turned_back
from tests.conftest import REPO


def track(detector, pixels):
    faces = detector.detect(pixels)
    assert faces, "no face found"
    return face_track(faces[0], (pixels.shape[1], pixels.shape[0]), 0.0)


def as_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.mark.parametrize("angle", [-20.0, -10.0, 10.0, 20.0])
def test_roll_follows_a_known_rotation(detector, portraits, angle):
    image = portraits["hopper"]
    base = euler_angles(track(detector, image).pose.rotation)[2]
    turned = as_uint8(rotate(image, angle, center=(256, 250), mode="edge"))
    roll = euler_angles(track(detector, turned).pose.rotation)[2]
    # skimage turns counter-clockwise on screen; with y down that is a negative roll
    assert roll - base == pytest.approx(-angle, abs=2.0)


@pytest.mark.parametrize("turns", [1, 2, 3])
def test_turned_back_undoes_numpys_quarter_turns(turns):
    image = np.zeros((4, 7), np.uint8)
    image[2, 5] = 1
    row, column = np.argwhere(np.rot90(image, turns))[0]
    assert turned_back(np.array([[column + 0.5, row + 0.5, 3.0]]), (7, 4), turns)[0] == pytest.approx([5.5, 2.5, 3.0])


@pytest.mark.parametrize("name", ["astronaut", "hopper"])
def test_a_photo_on_its_side_or_upside_down_is_tracked_as_it_would_be_upright(detector, portraits, name):
    """Tracked as they are, the astronaut turned a half turn came out 50 px off (the mouth's landmarks on the
    eyes) and a quarter turn clockwise 10 px: each turn is now tracked upright and turned back."""
    image = np.ascontiguousarray(portraits[name][:, :, :3])
    upright = track(detector, image).landmarks
    for turns in (1, 2, 3):
        turned = np.ascontiguousarray(np.rot90(image, turns))
        found = track(detector, turned).landmarks
        expected = turned_back(upright, (turned.shape[1], turned.shape[0]), 4 - turns)  # into the turned photo
        assert np.linalg.norm(found[:, :2] - expected[:, :2], axis=1).mean() < 1.5, turns


def test_a_thumbnail_the_detector_cannot_tell_the_way_up_of_is_tracked_as_it_lies(portraits):
    """Hopper at 40x47 px (an avatar thumbnail): the face detector was as sure of her face upside down as
    upright (0.62 against 0.60), so she was tracked turned over and rendered with her mouth on her cheek.
    A turn is taken only where the turned face is clearly surer than the face as it lies."""
    import io

    from PIL import Image as PILImage

    from nodes.track.upright import UprightTurns

    saved = io.BytesIO()  # made and saved as Pillow does by default
    PILImage.fromarray(np.ascontiguousarray(portraits["hopper"][:, :, :3])).resize((40, 47)).save(saved, "JPEG")
    small = np.asarray(PILImage.open(saved).convert("RGB"))
    upright = UprightTurns(0.5)
    try:
        assert upright.turns(small) == 0
        assert upright.turns(np.ascontiguousarray(np.rot90(portraits["hopper"][:, :, :3], 2))) == 2  # still turned
    finally:
        upright.close()


def test_a_target_upside_down_says_it_was_tracked_turned_and_that_renders_keep_it_so(studio_registry, portraits):
    from app.runtime.context import FrameContext, RunContext

    notices = {}
    for turns in (0, 2):
        run = RunContext()
        node = studio_registry.create("track.face", "target_track",
                                      {**studio_registry.require("track.face").schema.defaults(), "mode": "photo"})
        node.open(run)
        try:
            image = Image(np.ascontiguousarray(np.rot90(portraits["hopper"][:, :, :3], turns)))
            for k in range(2):
                assert node.process(FrameContext(k, 0.0, run), image=image)["track"].valid
        finally:
            node.close()
        notices[turns] = list(run.notices)
    assert notices[0] == []
    assert len(notices[2]) == 1 and "upside down" in notices[2][0] and "turn the file itself" in notices[2][0]


def test_a_clip_recorded_upside_down_is_tracked_upright_when_asked(studio_registry):
    """Video is not looked at by default (a live source would pay on every frame without a face): tracked as it
    lies, single_face.mp4 upside down came out 112 px off. upright=first turns it as its first face needs."""
    import imageio.v3 as iio

    from app.runtime.context import FrameContext, RunContext

    clip = iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4")[:8]

    def tracked(frames, upright):
        run = RunContext()
        node = studio_registry.create("track.face", "driver_track", {
            **studio_registry.require("track.face").schema.defaults(), "upright": upright, "hands": False})
        node.open(run)
        try:
            return [node.process(FrameContext(i, i / 30.0, run), image=Image(np.ascontiguousarray(f)))["track"]
                    for i, f in enumerate(frames)], run.notices
        finally:
            node.close()

    upright, _ = tracked(clip, "auto")
    turned = [np.ascontiguousarray(f[::-1, ::-1]) for f in clip]
    size = (turned[0].shape[1], turned[0].shape[0])

    def error(tracks):
        return np.mean([np.linalg.norm(t.landmarks[:, :2] - turned_back(u.landmarks, size, 2)[:, :2], axis=1).mean()
                        for t, u in zip(tracks, upright)])

    as_it_lies, quiet = tracked(turned, "auto")
    turned_up, told = tracked(turned, "first")
    assert error(as_it_lies) > 20 and quiet == []
    assert error(turned_up) < 1.0 and len(told) == 1 and "upside down" in told[0]


def test_pose_follows_scale_and_shift(detector, portraits):
    image = portraits["hopper"]
    base = track(detector, image).pose
    moved = as_uint8(warp(image, AffineTransform(scale=0.8, translation=(40, 30)).inverse, mode="edge"))
    pose = track(detector, moved).pose
    assert pose.scale / base.scale == pytest.approx(0.8, rel=0.03)
    assert pose.translation[:2] == pytest.approx(0.8 * base.translation[:2] + (40, 30), abs=3.0)


def test_expression_is_head_space_residual(detector, portraits):
    result = track(detector, portraits["astronaut"])
    rebuilt = result.pose.scale * (reference_shape() + result.expression) @ result.pose.rotation.T
    assert rebuilt + result.pose.translation == pytest.approx(result.landmarks, abs=1e-2)
    assert result.valid and np.isfinite(result.gaze).all() and np.abs(result.gaze).max() < 0.5


def test_no_face_is_invalid_never_nan(studio_registry):
    from app.runtime.context import FrameContext, RunContext

    node = studio_registry.create("track.face", "t", studio_registry.require("track.face").schema.defaults())
    node.open(RunContext())
    out = node.process(FrameContext(0, 0.0, RunContext()), image=Image(np.full((120, 160, 3), 128, np.uint8)))
    node.close()
    assert not out["track"].valid and np.isfinite(out["track"].landmarks).all()


def test_several_faces_choice_is_stable(detector, portraits):
    """Two people side by side: the face followed stays the same person as both move."""
    pair = np.concatenate([portraits["hopper"][60:360, 110:410], portraits["astronaut"][0:300, 100:400]], axis=1)
    faces = detector.detect(pair)
    assert len(faces) == 2
    first = pick_face(faces, None)
    for shift in (6, 12, 18):
        moved = np.roll(pair, shift, axis=1)
        chosen = pick_face(detector.detect(moved), first)
        assert np.abs(chosen[:468, 0].mean() - first[:468, 0].mean()) < 40
        first = chosen


def test_video_picks_up_a_second_face_within_a_look_and_keeps_following_the_first(portraits):
    """Video with room for two faces: one person alone is followed by a mesh for one face (the mesh for two
    ran its face detector on every such frame); a second person coming into view is tracked within
    LOOK_EVERY frames, and the one followed stays the same person as the other comes and goes."""
    from nodes.track.mediapipe_face import LOOK_EVERY

    pair = np.concatenate([portraits["hopper"][60:360, 110:410], portraits["astronaut"][0:300, 100:400]], axis=1)
    alone = pair.copy()
    alone[:, 300:] = 128
    shown = [alone] * 5 + [pair] * (LOOK_EVERY + 4) + [alone] * (LOOK_EVERY + 4)
    detector = FaceMeshDetector(static=False, max_faces=2)
    try:
        counts, followed, several = [], None, []
        for frame in shown:
            faces = detector.detect(frame)
            counts.append(len(faces))
            followed = pick_face(faces, followed)
            several.append(detector.several)
            assert followed[:468, 0].mean() < 300  # Hopper, on the left, throughout
    finally:
        detector.close()
    assert counts[:5] == [1] * 5 and not any(several[:5])
    arrived = counts.index(2)
    assert 5 <= arrived < 5 + LOOK_EVERY and all(count == 2 for count in counts[arrived:5 + LOOK_EVERY + 4])
    assert counts[-1] == 1 and not several[-1]  # alone again: back to the mesh for one


def test_a_second_face_coming_into_view_is_said_once(studio_registry, portraits):
    from app.runtime.context import FrameContext, RunContext

    pair = np.concatenate([portraits["hopper"][60:360, 110:410], portraits["astronaut"][0:300, 100:400]], axis=1)
    alone = pair.copy()
    alone[:, 300:] = 128
    node = studio_registry.create("track.face", "track", studio_registry.require("track.face").schema.defaults())
    run = RunContext()
    node.open(run)
    try:
        for index, frame in enumerate([alone] * 4 + [pair] * 20):
            track = node.process(FrameContext(index, index / 30, run), image=Image(frame, index / 30))["track"]
            assert track.landmarks[:468, 0].mean() < 300
    finally:
        node.close()
    said = [notice for notice in run.notices if "faces in view" in notice]
    assert said == ["track: 2 faces in view; following the one followed so far (raise max_faces to consider more)"]


def test_a_look_that_misses_the_second_face_keeps_both_followed(portraits, monkeypatch):
    """With both in view and followed by the mesh for two, a look that sees one face (one too small for it)
    is not believed: both stay followed and the one followed stays the same person. Handed over, the mesh
    for one took the other person (the attack on appear2.mp4), or failed and was undone every look."""
    from nodes.track.mediapipe_face import LOOK_EVERY

    pair = np.concatenate([portraits["hopper"][60:360, 110:410], portraits["astronaut"][0:300, 100:400]], axis=1)
    detector = FaceMeshDetector(static=False, max_faces=2)
    try:
        followed = None
        for _ in range(LOOK_EVERY + 1):
            followed = pick_face(detector.detect(pair, followed), followed)
        assert detector.several
        look = detector._meshes._look
        seen = look.output(pair, "detections")
        for target in (300, 0):  # follow the astronaut, then Hopper: each is kept when the look misses
            followed = min(detector.detect(pair, followed), key=lambda face: abs(face[:468, 0].mean() - target))
            monkeypatch.setattr(look, "output", lambda rgb, stream: seen[:1])  # the next looks see one face
            for _ in range(2 * LOOK_EVERY):
                faces = detector.detect(pair, followed)
                assert len(faces) == 2 and detector.several
                chosen = pick_face(faces, followed)
                assert abs(chosen[:468, 0].mean() - followed[:468, 0].mean()) < 40
                followed = chosen
            monkeypatch.undo()
        # where the mesh for two follows one face, a look that sees one hands over to the mesh for one, shown
        # the face followed alone; where it still cannot find that face (too small for its detector) and
        # takes another, the mesh for two stays
        monkeypatch.setattr(look, "output", lambda rgb, stream: seen[:1])
        other = pair.copy()
        other[:, :300] = 0  # shown alone: only the astronaut, while Hopper is followed
        monkeypatch.setattr("nodes.track.mediapipe_face._alone", lambda rgb, face: other)
        for _ in range(2 * LOOK_EVERY):
            detector._meshes._following = 1  # as if the mesh for two had lost the astronaut
            followed = pick_face(detector.detect(pair, followed), followed)
            assert followed[:468, 0].mean() < 300 and detector.several
    finally:
        detector.close()


def test_the_lean_frame_path_gives_what_mediapipes_own_process_gives(portraits):
    """QuietSolution feeds the graph through the pinned MediaPipe's private members and reads landmarks from
    their serialized bytes: both must agree with SolutionBase.process, or an upgrade broke them."""
    from mediapipe.python.solutions import face_mesh

    from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe

    make = lambda: face_mesh.FaceMesh(static_image_mode=True, max_num_faces=2, refine_landmarks=True)  # noqa: E731
    with starting_mediapipe():
        lean, stock = QuietSolution(make()), make()
    try:
        for image in (portraits["hopper"], portraits["astronaut"], np.full((64, 80, 3), 90, np.uint8)):
            ours = lean.landmark_lists(image, "multi_face_landmarks")
            theirs = [np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)
                      for face in stock.process(image).multi_face_landmarks or ()]
            assert len(ours) == len(theirs) and all(np.array_equal(a, b) for a, b in zip(ours, theirs))
    finally:
        lean.close()
        stock.close()


def test_landmarks_in_another_layout_are_parsed():
    from mediapipe.framework.formats import landmark_pb2

    from nodes.track.mediapipe_run import landmarks_of

    listed = landmark_pb2.NormalizedLandmarkList()
    listed.landmark.add(x=0.25, y=0.5, z=-0.125)
    listed.landmark.add(x=0.75, y=0.0, z=0.5, visibility=0.9)  # a fifth field: not the face mesh's layout
    assert landmarks_of(listed.SerializeToString()).tolist() == [[0.25, 0.5, -0.125], [0.75, 0.0, 0.5]]
    del listed.landmark[1]
    assert landmarks_of(listed.SerializeToString()).tolist() == [[0.25, 0.5, -0.125]]  # the fast path


def test_procrustes_recovers_a_known_similarity():
    reference = reference_shape()
    angle = np.radians(25)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    points = 140.0 * reference @ rotation.T + (200.0, 180.0, 5.0)
    pose = procrustes(points, reference)
    assert pose.scale == pytest.approx(140.0) and pose.rotation == pytest.approx(rotation, abs=1e-6)


def test_topology_is_a_clean_mesh():
    topo = topology()
    assert topo.triangles.shape == (852, 3)  # Euler: 1322 edges - 468 points - 2 (four boundary loops)
    assert {len(topo.mouth), len(topo.right_eye), len(topo.left_eye)} <= {16, 20}
    assert 13 in topo.mouth and 14 in topo.mouth


def test_bundled_reference_shape_is_the_astronaut_in_head_frame():
    rebuilt = make_reference(REPO / "assets" / "portraits" / "astronaut.png")
    assert rebuilt == pytest.approx(reference_shape(), abs=1e-4)


def test_a_group_photo_whose_faces_are_too_small_for_the_mesh_follows_the_most_prominent(detector, portraits, studio_registry):
    import cv2
    import imageio.v3 as iio

    from app.runtime.context import FrameContext, RunContext

    people = [portraits["astronaut"], portraits["hopper"], iio.imread(REPO / "tests/data/real/smile_teeth.jpg")[..., :3],
              iio.imread(REPO / "tests/data/real/three_quarter.jpg")[..., :3]]
    group, x, tiles = np.full((1080, 1920, 3), 170, np.uint8), 300, []
    for i, person in enumerate(people):
        width = 200 if i == 2 else 160  # the third person a little nearer the camera
        tile = cv2.resize(person, (width, round(width * person.shape[0] / person.shape[1])))[:400]
        group[350:350 + tile.shape[0], x:x + width] = tile
        tiles.append((x, x + width))
        x += width + 80
    assert detector.detect(group) == []  # the mesh's own short-range detector sees nobody: "no face"
    node_class = studio_registry.require("track.face")
    node = node_class("target_track", {**node_class.schema.defaults(), "mode": "photo"})
    run = RunContext()
    node.open(run)
    try:
        track = node.process(FrameContext(0, 0.0, run), image=Image(group))["track"]
    finally:
        node.close()
    assert track.valid
    left, right = tiles[2]
    assert left < track.landmarks[:468, 0].mean() < right


def test_without_a_face_to_follow_the_largest_most_central_is_picked():
    def face(cx, cy, size):
        points = np.zeros((478, 3), np.float32)
        points[:468, :2] = np.random.default_rng(0).uniform(-size / 2, size / 2, (468, 2)) + (cx, cy)
        return points

    corner, centre = face(60, 60, 110), face(500, 300, 100)
    assert pick_face([corner, centre], None) is corner  # without the picture's size: the largest
    assert pick_face([corner, centre], None, (1000, 600)) is centre  # a little smaller, but where the picture looks
    assert pick_face([corner, centre], corner, (1000, 600)) is corner  # once followed, kept


def test_a_protobuf_too_new_for_mediapipe_is_named_with_the_fix(monkeypatch):
    import google.protobuf
    from mediapipe.python.solutions import face_mesh

    def fails_as_with_protobuf_7(**_):
        raise AttributeError("'google._upb._message.FieldDescriptor' object has no attribute 'label'")

    monkeypatch.setattr(face_mesh, "FaceMesh", fails_as_with_protobuf_7)
    monkeypatch.setattr(google.protobuf, "__version__", "7.36.2")
    with pytest.raises(ReenactError, match="MediaPipe cannot start with protobuf 7.36.2") as raised:
        FaceMeshDetector(static=True, max_faces=1)
    assert "pip install 'protobuf>=4.25.3,<5'" in raised.value.hint
    monkeypatch.setattr(google.protobuf, "__version__", "4.25.8")  # the right protobuf: some other fault, as it is
    with pytest.raises(AttributeError):
        FaceMeshDetector(static=True, max_faces=1)
