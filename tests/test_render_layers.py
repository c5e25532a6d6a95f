"""The layered renderer on real portraits: no seam where face and background meet, and what a moved
head uncovers is the room behind it (the plate), not stretched face pixels or a ghost."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from app.runtime.gpu.image import Image
from nodes.capture.image import read_image_file
from nodes.render.plate import person_and_plate
from nodes.retarget.types import Motion
from nodes.track.face import face_track
from nodes.track.face_model import MESH_POINTS, topology
from tests.conftest import REPO

pytestmark = pytest.mark.gl


def tracked(detector, path):
    image = read_image_file(path, 2048)[0][:, :, :3]
    return image, face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)


def render(studio_registry, image, track, dst, driver=None, driver_track=None, plate=None, lips_cover=0.0,
           **params) -> np.ndarray:
    schema = studio_registry.require("render.portrait").schema
    node = studio_registry.create("render.portrait", "r", {**schema.defaults(), "antialias": "off", **params})
    run = RunContext()
    node.open(run)
    try:
        out = node.process(FrameContext(0, 0.0, run), image=Image(image), track=track,
                           motion=Motion(dst, lips_cover=lips_cover),
                           driver=None if driver is None else Image(np.ascontiguousarray(driver)),
                           driver_track=driver_track, plate=None if plate is None else Image(np.ascontiguousarray(plate)))
        return out["image"].rgb().astype(float)
    finally:
        node.close()
        run.close()


def rolled(landmarks: np.ndarray, degrees: float, shift: tuple[float, float]) -> np.ndarray:
    centre = landmarks[:MESH_POINTS, :2].mean(axis=0)
    a = np.radians(degrees)
    rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    moved = landmarks.copy()
    moved[:, :2] = (landmarks[:, :2] - centre) @ rotation.T + centre + shift
    return moved


def outline_normals(points: np.ndarray) -> np.ndarray:
    tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
    outward = np.sign(((points - points.mean(axis=0)) * normal).sum(axis=1, keepdims=True))
    return normal * outward


def sampled(pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3) bilinear colours of (N, 2) pixel positions."""
    xy = points.astype(np.float32)[None]
    return cv2.remap(pixels.astype(np.float32), xy[..., 0], xy[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)[0].astype(float)


def slimmed_and_rolled(landmarks: np.ndarray, squeeze: float, degrees: float, shift: tuple[float, float]):
    """The cheeks and jaw drawn in by up to `squeeze` of their width (the forehead not), then a roll and a
    shift: the face outline moves unlike any rigid motion of the background around it."""
    moved = landmarks.copy()
    centre = landmarks[:MESH_POINTS, :2].mean(axis=0)
    below = np.clip(2.0 * (landmarks[:, 1] - centre[1]) / np.ptp(landmarks[:MESH_POINTS, 1]), 0.0, 1.0)
    moved[:, 0] = centre[0] + (landmarks[:, 0] - centre[0]) * (1.0 - squeeze * below)
    return rolled(moved, degrees, shift)


@pytest.mark.parametrize("portrait", [REPO / "assets" / "portraits" / "grace_hopper.jpg",
                                      REPO / "tests" / "data" / "real" / "smile_teeth.jpg"], ids=["hopper", "smiling"])
def test_the_boundary_between_face_and_background_has_no_discontinuity(studio_registry, detector, portrait):
    """Pixel columns across the face outline, outward from it, in the render and in the portrait: what
    lies just outside the posed outline is what lay just outside the portrait's. A renderer that draws
    face and background as overlapping layers fails this where the face's edge moves unlike the layer
    behind it: the background's own copy of the cheek shows beside the moved one (a doubled edge, a band).
    Measured on this renderer: 1.5 to 3 (grey levels, mean), with face and background as overlapping
    layers 9 to 12."""
    image, track = tracked(detector, portrait)
    dst = slimmed_and_rolled(track.landmarks, 0.08, 6.0, (4.0, -3.0))
    out = render(studio_registry, image, track, dst, background="warp")  # the plate would differ by design
    loop = topology().outline
    src_edge, dst_edge = track.landmarks[loop, :2], dst[loop, :2]
    src_out, dst_out = outline_normals(src_edge), outline_normals(dst_edge)
    differences = np.array([np.abs(sampled(out, dst_edge + k * dst_out) - sampled(image, src_edge + k * src_out))
                            .mean(axis=1) for k in range(1, 7)])  # (offsets, outline points)
    assert differences.mean() < 5.0
    assert np.percentile(differences.mean(axis=0), 90) < 12.0  # no stretch of the outline doubled


@pytest.mark.parametrize("grid", [32, 64])
@pytest.mark.parametrize("portrait", ["three_quarter.jpg", "smile_teeth.jpg"])
def test_a_portrait_at_rest_renders_as_itself_with_no_hole_where_the_layers_meet(studio_registry, detector,
                                                                                  portrait, grid):
    """Posed as it is, the portrait comes out as it went in. The background was triangulated over its
    convex hull, not around the face outline: where a grid point sat near an outline edge, the edge was
    not in the triangulation, and the triangle across it was dropped (a black sliver in the hair above
    the three-quarter face's brow: up to 63 pixels off by more than 60 levels) or drawn over the face."""
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / portrait)
    out = render(studio_registry, image, track, track.landmarks, background="warp", grid=grid)
    assert (np.abs(out - image).max(axis=2) > 60).sum() == 0


def test_a_moved_head_uncovers_the_room_not_a_smear(studio_registry, detector):
    """The three-quarter portrait's head moves 30 px right: the strip it leaves on its left shows the plate
    (the room), where a warp of the portrait alone would stretch face and hair pixels over it."""
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    dst = rolled(track.landmarks, 0.0, (30.0, 0.0))
    plate = person_and_plate(image)
    rows = slice(int(track.landmarks[[33, 263], 1].mean()), int(track.landmarks[152, 1]))  # eyes to chin
    person = plate.mask[rows] > 0.9
    still_person = np.roll(plate.mask[rows], 30, axis=1) > 0.1
    uncovered = person & ~still_person
    uncovered[:, :2] = False
    assert uncovered.sum() > 300
    with_plate = render(studio_registry, image, track, dst)[rows][uncovered]
    warped_only = render(studio_registry, image, track, dst, background="warp")[rows][uncovered]
    room = plate.plate[rows][uncovered].astype(float)
    assert np.abs(with_plate - room).mean() < 12.0
    assert np.abs(warped_only - room).mean() > 2 * np.abs(with_plate - room).mean()


@pytest.mark.parametrize("turns", [0, 1, 2], ids=["upright", "on its side", "upside down"])
def test_a_driver_with_shut_eyes_shuts_the_targets_eyes(studio_registry, detector, portraits, turns):
    """Real frames of single_face.mp4 drive the astronaut (its mouth filled from the driver's, as the
    presets do): at the driver's most shut frame, the rendered portrait, re-tracked, has its eyes shut
    too (together below a third of their own open level, each below 0.45 of its own). The re-tracker
    reads the shut left eye at 0.32-0.35 of its open level as the mouth below it opens less or more, and
    upside down at 0.39 here and 0.40 rasterized by an NVIDIA H200: the lids drawn are the same, so each
    eye alone is held to 0.45. The portrait turned on its side or upside down shuts them too (tracked as
    it was, upside down it kept them open: 0.81 and 1.26)."""
    import imageio.v3 as iio

    from nodes.retarget.ranges import eye_openness
    from nodes.track.face_model import reference_shape

    clip = iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4")
    tracks = [face_track(detector.detect(np.ascontiguousarray(f))[0], (f.shape[1], f.shape[0]), i / 30.0)
              for i, f in enumerate(clip)]
    openness = [eye_openness(reference_shape() + t.expression).mean() for t in tracks]
    shut = int(np.argmin(openness))
    assert openness[shut] < 0.5 * np.median(openness)  # the clip does blink
    image = np.ascontiguousarray(np.rot90(portraits["astronaut"][:, :, :3], turns))
    target = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    schema = studio_registry.require("retarget.face").schema
    # the astronaut keeps her smile: relaxed by the driver's unsmiling mouth, her lids are drawn the same
    # (test_retarget_smile), but the re-tracker read her upside-down right eye at 0.42-0.44 of its open level
    retarget = studio_registry.create("retarget.face", "r", {**schema.defaults(), "portrait_smile": "keep"})
    run = RunContext()
    retarget.open(run)
    for k, track in enumerate(tracks[:shut + 1]):
        motion = retarget.process(FrameContext(k, track.timestamp, run), source=track, target=target)["motion"]
    out = render(studio_registry, image, target, motion.landmarks, clip[shut], tracks[shut],
                 lips_cover=motion.lips_cover).round().astype(np.uint8)
    seen = face_track(detector.detect(out)[0], (out.shape[1], out.shape[0]), 0.0)
    own = eye_openness(reference_shape() + target.expression)
    shut_share = eye_openness(reference_shape() + seen.expression) / own
    assert shut_share.mean() < 1 / 3 and np.all(shut_share < 0.45), shut_share


def test_a_shut_eye_shows_one_lash_line_as_dark_as_a_real_blinks(studio_registry, detector):
    """single_face.mp4's first frame with its lids posed shut: down the middle of each eye, the dark line its
    lashes make is as deep as in the clip's own blink (frame 27): the area of the dip below the lid's
    median grey is within 0.7-1.6 of the real one's. Pressed together, the lids left only their edge's
    pixels, a line 1-3 px deep at 0.4-0.6 of it (read as a pale, half-open slit)."""
    import imageio.v3 as iio

    from nodes.retarget.ranges import LEFT_EYE_LIDS, RIGHT_EYE_LIDS

    def dips(rgb, points):
        grey = rgb.astype(float) @ np.array([0.299, 0.587, 0.114])
        found = []
        for lower in (145, 374):  # mid lower lid, right then left eye
            x, y = int(round(points[lower, 0])), int(round(points[lower, 1]))
            column = grey[y - 12:y + 12, x - 1:x + 2].mean(axis=1)
            found.append(float(np.maximum(np.median(column) - column, 0).sum()))
        return np.array(found)

    clip = REPO / "tests" / "data" / "real" / "single_face.mp4"
    image, blink = (np.ascontiguousarray(iio.imread(clip, index=i)) for i in (0, 27))
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    shut = track.landmarks.copy()
    for lids in (RIGHT_EYE_LIDS, LEFT_EYE_LIDS):
        shut[lids[:, 0], :2] = shut[lids[:, 1], :2]
    out = render(studio_registry, image, track, shut, size=image.shape[1])
    ratio = dips(out, shut) / dips(blink, detector.detect(blink)[0])
    assert np.all((ratio > 0.7) & (ratio < 1.6)), ratio


def _driven(studio_registry, target_image, target, source_shapes_and_yaws, **params) -> tuple[np.ndarray, np.ndarray]:
    """retarget.face and render.portrait (`params` over the defaults) driven by synthetic source faces:
    (rendered frame, posed landmarks)."""
    from nodes.track.face_model import from_head_space, rotation_from_euler
    from nodes.track.types import HeadPose

    run = RunContext()
    retarget = studio_registry.create("retarget.face", "r", studio_registry.require("retarget.face").schema.defaults())
    retarget.open(run)
    for k, (shape, yaw) in enumerate(source_shapes_and_yaws):
        pose = HeadPose(rotation_from_euler(yaw, 0.0, 0.0), np.array([320.0, 240.0, 0.0]), 120.0)
        source = face_track(from_head_space(shape, pose), (640, 480), k / 30)
        motion = retarget.process(FrameContext(k, k / 30, run), source=source, target=target)["motion"]
    run.close()
    return render(studio_registry, target_image, target, motion.landmarks, **params), motion.landmarks


@pytest.mark.parametrize("yaw", [-14.0, 14.0], ids=["back-toward-the-camera", "further-away"])
@pytest.mark.parametrize("laughing", [False, True], ids=["still", "laughing"])
def test_a_three_quarter_target_turned_further_keeps_its_outline_single(studio_registry, detector, yaw, laughing):
    """The three-quarter portrait (turned about 40 degrees) is turned by its driver, back toward the camera
    (as far as retargeting's reveal limit lets it) or further away, still or laughing. Along each row from
    the brows to the chin, from the room beside the face's far side into the face: the room, then the
    face, once. The old renderer left the background's copy of the nose and far cheek behind as a
    translucent second profile (detached runs on 54% of the rows turned back; 1 to 2% now)."""
    from nodes.capture.motion import ExpressionRig
    from nodes.track.face_model import reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rig = ExpressionRig(reference_shape())
    expression = 0.5 * rig.open + rig.smile if laughing else np.zeros_like(rig.open)
    rest = reference_shape()
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest + expression, yaw)])
    room = np.linalg.norm(out - person_and_plate(image).plate.astype(float), axis=2) < 30
    width = np.ptp(dst[:MESH_POINTS, 0])
    assert dst[4, 0] < dst[:MESH_POINTS, 0].mean()  # the far side is the nose's side, the left
    start = int(max(0, dst[:MESH_POINTS, 0].min() - 0.15 * width))  # a band of the room beside the far side
    inside = int(dst[[4, 5], 0].mean() + 0.15 * width)  # into the face, behind the nose
    rows = range(int(dst[[70, 300], 1].min()), int(dst[152, 1]))
    doubled = 0
    for y in rows:
        face = np.concatenate([[0], (~room[y, start:inside]).astype(int), [0]])
        edges = np.flatnonzero(np.diff(face))
        starts, ends = edges[::2], edges[1::2]
        wide = ends - starts >= 2
        starts, ends = starts[wide], ends[wide]
        doubled += bool(len(starts) > 1 and (starts[1:] - ends[:-1] >= 2).any())
    assert len(rows) > 100 and doubled < 0.05 * len(rows)


def test_multisampling_smooths_the_face_box_and_leaves_the_rest_as_one_sample_draws_it(studio_registry, detector):
    """The three-quarter portrait laughing and turned: with 4x multisampling only the box around the face is
    drawn multisampled (the background's pixels come out the same with one sample). Its smoothed edges
    (the nose's silhouette over the far cheek) differ from the one-sample render; nothing outside the box
    does, and the box is put back where it belongs (a box shifted by a pixel would differ all over it)."""
    from nodes.capture.motion import ExpressionRig
    from nodes.render.renderer import face_box
    from nodes.track.face_model import reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rig = ExpressionRig(reference_shape())
    rest = reference_shape()
    frames = [(rest, 0.0)] * 10 + [(rest + 0.5 * rig.open + rig.smile, 14.0)]
    plain, dst = _driven(studio_registry, image, track, frames)
    smooth, _ = _driven(studio_registry, image, track, frames, antialias="4x")
    (x, y), (width, height) = face_box(dst[:MESH_POINTS, :2], (image.shape[1], image.shape[0]))
    inside = np.zeros(plain.shape[:2], bool)
    inside[y:y + height, x:x + width] = True
    differs = np.abs(smooth - plain).max(axis=2)
    assert (differs[inside] > 10).sum() > 50  # the edges are smoothed
    assert differs[~inside].max() == 0
    assert differs.mean() < 1.0


def test_a_frame_renders_the_same_whatever_frames_came_before_it(studio_registry, detector):
    """One render node, frame after frame, as a run uses it: each frame is the same as a fresh node's render
    of the same pose. (The face box's viewport once stayed on the frame's framebuffer, so from the second
    frame on the background was drawn squeezed into the box and the rest kept an older frame.)"""
    image, track = tracked(detector, REPO / "assets" / "portraits" / "grace_hopper.jpg")
    poses = [rolled(track.landmarks, degrees, shift) for degrees, shift in ((0.0, (0.0, 0.0)), (8.0, (10.0, -5.0)),
                                                                             (-6.0, (-12.0, 8.0)))]
    schema = studio_registry.require("render.portrait").schema
    node = studio_registry.create("render.portrait", "r", schema.defaults())
    run = RunContext()
    node.open(run)
    try:
        in_a_row = [node.process(FrameContext(k, k / 30, run), image=Image(image), track=track,
                                 motion=Motion(pose))["image"].rgb().astype(float) for k, pose in enumerate(poses)]
    finally:
        node.close()
        run.close()
    for pose, rendered in zip(poses[1:], in_a_row[1:]):
        alone = render(studio_registry, image, track, pose, antialias="4x")
        assert np.abs(rendered - alone).max() <= 2


NOSE = [1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 240, 275, 294, 326, 327, 440]


def test_a_three_quarter_nose_turned_back_shows_no_room_inside_it(studio_registry, detector):
    """The three-quarter portrait turned back toward the camera spreads the far side of its nose, which the
    photo holds in a few pixels where skin blends into the blue room: inside the posed nose no pixel may be
    bluer than red (skin never is). Before the edge was drawn as skin where the pose reveals and stretches it,
    a blue bite showed at the nose tip (23 such pixels; none now)."""
    from nodes.track.face_model import reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rest = reference_shape()
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest, -14.0)])
    nose = np.zeros(out.shape[:2], np.uint8)
    cv2.fillConvexPoly(nose, cv2.convexHull(dst[NOSE, :2].round().astype(np.int32)), 1)
    nose = cv2.erode(nose, np.ones((3, 3), np.uint8)) > 0
    assert nose.sum() > 1000
    blue = out[..., 2] > out[..., 0] + 4.0
    assert (blue & nose).sum() < 5


@pytest.mark.parametrize("laughing", [False, True], ids=["still", "laughing"])
def test_a_three_quarter_face_turned_back_shows_its_far_cheek_not_the_room(studio_registry, detector, laughing):
    """The three-quarter portrait's face mesh reaches past its silhouette over the room (beside the nose,
    along the far cheek). Turned back toward the camera, the face below the nose's middle, on its far side
    (a little in from the mesh's edge), is skin, not the room: the room showed there between the nose and
    a detached sliver of cheek (on 53% and 55% of those pixels, still and laughing; 8 to 9% now, the
    photo's own lilac edge of the nose)."""
    from nodes.capture.motion import ExpressionRig
    from nodes.track.face_model import reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rig = ExpressionRig(reference_shape())
    expression = 0.5 * rig.open + rig.smile if laughing else np.zeros_like(rig.open)
    rest = reference_shape()
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest + expression, -14.0)])
    face = np.zeros(out.shape[:2], np.uint8)
    for triangle in dst[topology().triangles, :2].round().astype(np.int32):  # past the outline: turned, it folds
        cv2.fillConvexPoly(face, triangle, 1)
    face = cv2.erode(face, np.ones((5, 5), np.uint8)) > 0
    face[:int(dst[195, 1])] = False  # from the nose's middle down (no hair, no eyes) on its far side
    face[:, int(dst[4, 0] - 0.05 * np.ptp(dst[:MESH_POINTS, 0])):] = False
    room = out[..., 0] - out[..., 2] < 15.0  # skin is much redder than blue; the room and its blends are not
    assert face.sum() > 1000 and (room & face).sum() < 0.15 * face.sum()


def test_a_three_quarter_face_turned_back_shows_the_cheek_its_nose_hid_as_its_near_cheek_not_a_second_nose(
        studio_registry, detector):
    """The three-quarter portrait's nose hides the cheek beside it on its far side. Turned back toward the
    camera, that cheek comes into view; drawn from its own spots in the photo (the side of the nose) it
    showed a second nose tip beside the first. Drawn from its left-right counterpart (the near cheek), at
    the posed points of the cheek the photo hid and the pose shows, the frame is 10 levels from the
    counterpart's colour on average and 30 from the nose's spots (before: 29 and 14)."""
    from nodes.render.edges import EdgeReveal
    from nodes.retarget.facing import hidden
    from nodes.track.face_model import mirror_points, reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rest = reference_shape()
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest, -14.0)])
    # the cheek: the lips, eyelids and outline keep their own pixels wherever they are
    drawn_from_counterparts = EdgeReveal(track.landmarks).mirror_fill(dst) == 1.0
    shown = np.flatnonzero(hidden(track.landmarks) & ~hidden(dst) & drawn_from_counterparts)
    assert len(shown) > 20

    def colours(pixels, points):
        return pixels[points[:, 1].round().astype(int), points[:, 0].round().astype(int), :3].astype(float)

    drawn = colours(out, dst[shown])
    from_counterpart = np.abs(drawn - colours(image, track.landmarks[mirror_points()[shown]])).mean()
    from_own_spot = np.abs(drawn - colours(image, track.landmarks[shown])).mean()
    assert from_counterpart < 0.5 * from_own_spot, (from_counterpart, from_own_spot)


@pytest.mark.parametrize("laughing", [False, True], ids=["still", "laughing"])
def test_a_three_quarter_face_turned_back_shows_skin_around_its_far_eye_not_the_rooms_blue(studio_registry,
                                                                                        detector, laughing):
    """The photo shows the far eye squeezed at the silhouette, its outer corner a blend of skin, lashes and
    the blue wall, though the tracker's mesh faces the camera there. Turned back toward the camera, the
    pose spreads that corner: blue streaks and a lilac lens beside the eye (337 and 343 pixels bluer than
    red around it, still and laughing). Seen by how much of a frontal face's area its triangles keep, the
    skin there takes its counterpart's: 5 and 40 such pixels."""
    from nodes.capture.motion import ExpressionRig
    from nodes.track.face_model import reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rest = reference_shape()
    rig = ExpressionRig(rest)
    expression = 0.5 * rig.open + rig.smile if laughing else np.zeros_like(rig.open)
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest + expression, -14.0)])
    around = [70, 63, 105, 66, 107, 55, 193, 245, 188, 114, 47, 100, 118, 117, 116, 143, 156]  # brow to cheek
    region = _beside_far_eye(dst, around, out.shape[:2])
    blue = out[..., 2] > out[..., 0]
    assert region.sum() > 2000 and (blue & region).sum() < 0.03 * region.sum()


@pytest.mark.parametrize("frame, bound", [("300", 0.025), ("440", 0.015)])
def test_a_three_quarter_face_laughing_in_real_poses_shows_no_blue_grey_streak_under_its_far_eye(
        studio_registry, detector, frame, bound):
    """Driven by a real clip (laughing, looking up; laughing with eyes shut), the far eye's outer corner,
    which the photo shows as a blend of lashes and the blue wall, ran down the far cheek as a blue-grey
    streak: the cheek took its counterpart's skin only in part, and the corner kept its own. Between the far
    eye and the nose's tip, the share of pixels not clearly redder than blue (skin is): 0.097 and 0.050
    at first, 0.071 and 0.006 once the cheek took its counterpart's skin, 0.006 and 0.003 now that a
    moved own pixel that is the person's colour blended with the room behind it takes the person's
    colour alone (frames 300 and 440)."""
    poses = json.loads((REPO / "tests" / "data" / "poses" / "three_quarter_laughing.json").read_text())["poses"]
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    dst = np.array(poses[frame], np.float32)
    out = render(studio_registry, image, track, dst)
    under_eye = [33, 7, 163, 144, 145, 153, 154, 155, 133, 114, 188, 217, 126, 209, 49, 48, 64, 4, 5, 195, 3, 196,
                 174, 245, 233, 232, 231, 230, 229, 228, 31, 226, 111, 117, 118, 119, 120, 121, 128]
    region = _beside_far_eye(dst, under_eye, out.shape[:2])
    greyish = out[..., 0] - out[..., 2] < 20.0
    assert region.sum() > 1500 and (greyish & region).sum() < bound * region.sum()


def test_a_three_quarter_face_turned_back_leaves_no_second_edge_beside_its_far_jaw(studio_registry, detector):
    """Grinning and turned back toward the camera (a real pose), the face's far side no longer lies where
    the photo has it, and the photo's own far cheek, a few pixels past the face mesh, stayed in the
    background where it barely moved: a pale second edge beside the jaw. Beside the far side (a tenth of the
    face's width out from its mesh), from the nose's tip to the chin, the share of pixels that are not the
    room: 0.22 before, 0.08 now (docs/far_cheek_turned_back_no_second_edge.jpg)."""
    poses = json.loads((REPO / "tests" / "data" / "poses" / "three_quarter_laughing.json").read_text())["poses"]
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    dst = np.array(poses["377"], np.float32)
    out = render(studio_registry, image, track, dst)
    face = np.zeros(out.shape[:2], np.uint8)
    for triangle in dst[topology().triangles, :2].round().astype(np.int32):
        cv2.fillConvexPoly(face, triangle, 1)
    reach = 2 * int(0.1 * np.ptp(dst[:MESH_POINTS, 0])) + 1
    beside = (cv2.dilate(face, np.ones((reach, reach), np.uint8)) > 0) & (cv2.dilate(face, np.ones((5, 5), np.uint8)) == 0)
    beside[:int(dst[4, 1])], beside[int(dst[152, 1]):], beside[:, int(dst[4, 0]):] = False, False, False
    not_room = np.linalg.norm(out - person_and_plate(image).plate.astype(float), axis=2) > 30
    assert beside.sum() > 3000 and (not_room & beside).sum() < 0.12 * beside.sum()


def _beside_far_eye(dst: np.ndarray, points: list[int], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: the hull of `points` of the posed landmarks, less the far (right) eye's opening,
    a little in from the face mesh's edge."""
    region = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(region, cv2.convexHull(dst[points, :2].round().astype(np.int32)), 1)
    cv2.fillPoly(region, [dst[topology().right_eye, :2].round().astype(np.int32)], 0)
    face = np.zeros_like(region)
    for triangle in dst[topology().triangles, :2].round().astype(np.int32):
        cv2.fillConvexPoly(face, triangle, 1)
    return (region & cv2.erode(face, np.ones((5, 5), np.uint8))) > 0


def test_a_three_quarter_face_turned_back_shows_its_counterparts_skin_past_its_silhouette_not_a_flat_colour(
        studio_registry, detector):
    """Past the photo's silhouette (and in the soft edge before it) the face mesh covers the room. Turned
    back toward the camera, the face shows skin there: the counterpart's (the near side's) where it looks
    like the person's colours carried past the silhouette, which before were shown alone, flat (a lens of
    flat lilac-pink beside the far eye). At the points whose own spot is past the silhouette or in its edge
    (37), the frame is 13 levels from their counterparts' colours and 16 from the carried colours (before:
    14 and 14)."""
    from nodes.track.face_model import mirror_points, reference_shape

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    rest = reference_shape()
    out, dst = _driven(studio_registry, image, track, [(rest, 0.0)] * 10 + [(rest, -14.0)])
    separated = person_and_plate(image)
    src = track.landmarks[:MESH_POINTS]

    def colours(pixels, points):
        return pixels[points[:, 1].round().astype(int), points[:, 0].round().astype(int), :3].astype(float)

    past = np.flatnonzero(colours(separated.mask[..., None], src)[:, 0] < 0.8)
    assert len(past) > 20
    drawn = colours(out, dst[past])
    from_counterpart = np.abs(drawn - colours(image, track.landmarks[mirror_points()[past]])).mean()
    carried = np.abs(drawn - colours(separated.extended, src[past])).mean()
    assert from_counterpart < 0.9 * carried, (from_counterpart, carried)


def test_the_plate_behind_spiky_hair_is_the_wall_not_a_smudge_of_hair_and_ceiling():
    """The three-quarter portrait's hair reaches a dark band at the top of the frame and sends loose
    strands past its silhouette; filled from every side, the room behind the top of his hair came out as a
    dark grey smudge (34 levels bluer-darker than the wall), which showed above a head that moved down."""
    image = read_image_file(REPO / "tests" / "data" / "real" / "three_quarter.jpg", 2048)[0][:, :, :3]
    plate = person_and_plate(image)
    rows = np.flatnonzero((plate.mask > 0.5).any(axis=1))
    band = slice(rows[0], rows[0] + (rows[-1] - rows[0]) // 5)  # the top fifth of the person: hair
    behind_hair = plate.plate[band][plate.mask[band] > 0.5].astype(float).mean(axis=0)
    wall_beside = image[band][plate.mask[band] < 0.01].astype(float).mean(axis=0)
    assert np.abs(behind_hair - wall_beside).max() < 12, (behind_hair, wall_beside)


def test_the_backgrounds_still_triangles_render_as_the_full_program_would(studio_registry, detector, monkeypatch):
    """Triangles moved by under STILL_PIXELS, and moved ones that hold only the person (no room to show
    through), are drawn by a variant of background.frag that never looks at the plate (llvmpipe pays for
    a branch whether or not a pixel takes it); drawn by the full program instead, the frame is the same."""
    from dataclasses import replace

    from nodes.render import warp_mesh

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    dst = rolled(track.landmarks, 4.0, (6.0, 3.0))
    built = []
    build = warp_mesh.MeshBuilder.build
    monkeypatch.setattr(warp_mesh.MeshBuilder, "build", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    split = render(studio_registry, image, track, dst)
    mesh = built[-1]
    assert 0 < mesh.background_still < len(mesh.background)  # both kinds of triangle are there
    corners = mesh.background[:mesh.background_still].reshape(-1, 3, 5)
    moved = np.linalg.norm(corners[:, :, :2] - corners[:, :, 3:] * image.shape[1::-1], axis=2).max(axis=1)
    assert (moved > 2 * warp_mesh.STILL_PIXELS).sum() > 20  # moved, all person
    monkeypatch.setattr(warp_mesh.MeshBuilder, "build", lambda *a, **k: replace(build(*a, **k), background_still=0))
    whole = render(studio_registry, image, track, dst)
    assert np.abs(split - whole).max() <= 1


def test_the_room_moved_far_is_left_to_the_plate_the_frame_starts_as_and_looks_as_the_full_program_draws_it(
        studio_registry, detector, monkeypatch):
    """Background triangles that hold only the room and moved at least ROOM_PIXELS everywhere, or only the
    room that stays put, show the plate where they lie: the frame starts as a copy of the plate and its
    full-frame pass leaves them out. Drawn by the full program instead, the frame is the same, at the
    portrait's size and upscaled."""
    from dataclasses import replace

    from nodes.render import warp_mesh

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    dst = rolled(track.landmarks, 5.0, (40.0, 12.0))
    built = []
    build = warp_mesh.MeshBuilder.build
    monkeypatch.setattr(warp_mesh.MeshBuilder, "build", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    for size in (0, int(max(image.shape[:2]) * 1.5)):
        split = render(studio_registry, image, track, dst, size=size)
        mesh = built[-1]
        assert (len(mesh.background) - mesh.background_shown) // 3 > 20  # triangles left to the plate
        with monkeypatch.context() as drawn_all:
            drawn_all.setattr(warp_mesh.MeshBuilder, "build",
                              lambda *a, **k: replace(build(*a, **k), background_shown=len(built[-1].background)))
            whole = render(studio_registry, image, track, dst, size=size)
        assert np.abs(split - whole).max() <= 1, size


def test_the_room_a_portrait_shows_stays_put_as_the_head_moves(studio_registry, detector, monkeypatch):
    """single_face.mp4's first frame: a man before a white door. His head rolls and moves; the background
    mesh around it follows the head (hair, collar) and carried the door's panels a few pixels along with
    it, bent. The room the portrait shows away from him stays put now: the frame is its own pixels there."""
    import imageio.v3 as iio

    from nodes.render import plate as plates

    image = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=0))
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    dst = rolled(track.landmarks, 6.0, (25.0, 8.0))
    made = person_and_plate(image)
    near_him = cv2.dilate((made.mask > 0.05).astype(np.uint8), np.ones((81, 81), np.uint8)) > 0
    away = (made.stays == 255) & ~near_him
    assert away.mean() > 0.2
    staying = render(studio_registry, image, track, dst)
    assert np.abs(staying - image)[away].max() <= 1
    monkeypatch.setattr(plates, "room_stays", lambda bare: np.zeros(bare.shape, np.uint8))
    monkeypatch.setattr(plates, "_STILL_PLATES", {})  # the plate made anew, with the zeroed map
    moving = render(studio_registry, image, track, dst)
    assert (np.abs(moving - image)[away].max(axis=1) > 20).sum() > 200  # the panels' edges moved


def test_the_room_eases_from_moving_with_the_person_to_staying_put_across_a_band():
    """Past the plate's own pixels the room may hold the person's loose hair, which moves with them: the
    room eases into staying put over STAYS_BAND, so the two meet without a break."""
    from nodes.render.plate import STAYS_BAND, room_stays

    bare = np.ones((100, 400), bool)
    bare[:, :150] = False  # the person and their fringe, as the plate has them inpainted
    across = room_stays(bare)[50].astype(int)
    band = round(STAYS_BAND * 400)
    assert (across[:150] == 0).all() and (across[151 + band:] == 255).all()
    assert (np.diff(across) >= 0).all() and 60 < across[150 + band // 2] < 200


def test_a_triangle_counts_as_moved_far_only_where_every_point_of_it_moved_that_far():
    from nodes.render.background import moved_at_least

    shifts = np.array([[[5.0, 0.0], [5.0, 0.0], [5.0, 0.0]],  # one shift alike at every corner
                       [[-9.0, -9.0], [12.0, -9.0], [-9.0, 12.0]],  # corners far, no motion inside it
                       [[6.0, -2.0], [6.0, 2.0], [9.0, 0.0]]])  # nearest to no motion on an edge: 6
    assert moved_at_least(shifts, 4.0).tolist() == [True, False, True]
    assert moved_at_least(shifts, 5.5).tolist() == [False, False, True]
    assert moved_at_least(shifts, 6.5).tolist() == [False, False, False]


def test_a_frontal_portraits_skin_renders_as_the_turned_portraits_program_would(studio_registry, detector,
                                                                               monkeypatch):
    """A frontal portrait draws nothing from its counterparts and is never turned back, so its skin is drawn
    by a variant of warp.frag without those lookups; drawn by the turned portrait's variant, the frame is
    the same."""
    from dataclasses import replace

    from nodes.render import warp_mesh

    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "smile_teeth.jpg")
    dst = rolled(track.landmarks, 6.0, (8.0, -4.0))
    built = []
    build = warp_mesh.MeshBuilder.build
    monkeypatch.setattr(warp_mesh.MeshBuilder, "build", lambda *a, **k: built.append(build(*a, **k)) or built[-1])
    lean = render(studio_registry, image, track, dst)
    assert not built[-1].turned
    monkeypatch.setattr(warp_mesh.MeshBuilder, "build", lambda *a, **k: replace(build(*a, **k), turned=True))
    turned = render(studio_registry, image, track, dst)
    assert np.abs(lean - turned).max() <= 1


def test_a_head_lifted_and_rolled_leaves_the_shirt_at_the_frames_foot(studio_registry, detector):
    """The smiling portrait's chin is near the frame's foot, where her white shirt shows in the last rows.
    Her head rolls 20° and lifts (wolfgang's frame 405 does this): the hair beside it moved up with the
    head while the frame's foot stayed put, and the last grid cell between them stretched the shirt's
    rows up into white streaks beside her hair. The stretch is spread over a band along the foot now:
    the shirt stays at the foot."""
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "smile_teeth.jpg")
    height, width = image.shape[:2]

    def shirt_above_foot(pixels: np.ndarray) -> int:  # the shirt is light, the wall blue, the hair dark
        return int((pixels[: height - 40, 9 * width // 10:, 0] > 140).sum())

    assert shirt_above_foot(image) < 20
    out = render(studio_registry, image, track, rolled(track.landmarks, -20.0, (25.0, -25.0)))
    assert shirt_above_foot(out) < 20


@pytest.mark.parametrize("frame", ["300", "377"])
def test_a_frontal_face_turned_shows_no_room_inside_its_near_cheek(studio_registry, detector, frame):
    """single_face.mp4's first frame posed as a laughing clip turned it (tests/data/poses): his right cheek
    and temple come toward the camera. The face mesh reaches a little past his silhouette at the temple;
    moved, the room behind it (a white door) showed there, inside the face, as a pale blob. The person's
    colours carried past the silhouette fill it now. Share of the face's rim (its outer 10 pixels) beside
    his near eye that is far lighter than the rest of it: 0.023 and 0.049 before, none now."""
    import imageio.v3 as iio

    poses = json.loads((REPO / "tests" / "data" / "poses" / "single_face_turned.json").read_text())["poses"]
    image = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=0))
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    dst = np.array(poses[frame], np.float32)
    out = render(studio_registry, image, track, dst)
    face = np.zeros(out.shape[:2], np.uint8)
    for triangle in dst[topology().triangles, :2].round().astype(np.int32):
        cv2.fillConvexPoly(face, triangle, 1)
    rim = (cv2.erode(face, np.ones((5, 5), np.uint8)) > 0) & ~(cv2.erode(face, np.ones((25, 25), np.uint8)) > 0)
    rim[:, int(dst[33, 0]):] = False  # beside the near (right) eye, past its outer corner
    luma = out @ [0.299, 0.587, 0.114]
    pale = luma > np.median(luma[rim]) + 35.0
    assert rim.sum() > 1000 and (pale & rim).sum() < 0.005 * rim.sum(), (pale & rim).sum() / rim.sum()


@pytest.mark.parametrize("frame", ["300", "400"])
def test_a_frontal_face_turned_shows_no_pale_ghost_of_its_jaws_soft_edge(studio_registry, detector, frame):
    """The astronaut posed as a smiling clip turned her (tests/data/poses): her cheek on the image's left
    comes toward the camera, and the face mesh there reaches past her jaw's soft edge, where the photo
    blends her skin with the pale room. Moved, that blend showed inside the face as a pale ghost of her ear
    lobe, with a light line between it and her cheek. Now a moved pixel that is the person's colour blended
    with the room takes the person's colour. Pale greyish pixels in the band 12 px inside her near jaw's
    outline, between her eyes and chin: 53 and 64 before, 11 and 10 now."""
    poses = json.loads((REPO / "tests" / "data" / "poses" / "astronaut_turned.json").read_text())["poses"]
    image, track = tracked(detector, REPO / "assets" / "portraits" / "astronaut.png")
    dst = np.array(poses[frame], np.float32)
    out = render(studio_registry, image, track, dst)
    inside = np.zeros(out.shape[:2], np.uint8)
    cv2.fillPoly(inside, [dst[topology().outline, :2].round().astype(np.int32)], 1)
    band = (cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0) & ~(cv2.erode(inside, np.ones((25, 25), np.uint8)) > 0)
    rows, columns = np.mgrid[: out.shape[0], : out.shape[1]]
    band &= (columns < dst[4, 0]) & (rows > dst[33, 1]) & (rows < dst[152, 1] - 10)  # the near jaw
    pale = (out[..., 0] - out[..., 2] < 35.0) & (out.mean(axis=2) > 150.0)  # skin is redder, the room paler
    assert band.sum() > 800 and (pale & band).sum() < 25, (pale & band).sum()


def test_beside_a_head_moved_a_few_pixels_a_seen_room_stays_where_it_is(studio_registry, detector, monkeypatch):
    """A target video's plate is the room itself, seen as the person moved: beside a head moved 7 px the
    room shows as it is. Carried along with the head (as an inpainted plate's guess still is, for up to
    12 px), a door's panels beside it bent and doubled."""
    import imageio.v3 as iio

    from nodes.render import warp_mesh

    image = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=0))
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    room = person_and_plate(image).plate  # as a target video's steadied plate: lines up with the room
    given = person_and_plate(image, room)
    assert given.seen and not person_and_plate(image).seen
    assert not person_and_plate(image, np.roll(room, 12, axis=1)).seen  # a shaken frame's does not line up
    dst = rolled(track.landmarks, 0.0, (7.0, 0.0))
    near = (given.stays < 255) & (given.mask < 0.02) & (np.roll(given.mask, 7, axis=1) < 0.02)
    near[:, :8] = near[:, -8:] = False
    assert near.sum() > 2000
    shown = render(studio_registry, image, track, dst, plate=room)
    monkeypatch.setattr(warp_mesh, "SEEN_ROOM_PIXELS", warp_mesh.ROOM_PIXELS)
    carried = render(studio_registry, image, track, dst, plate=room)
    stays, moved = (np.abs(out - room)[near].mean() for out in (shown, carried))
    assert stays < 0.5 * moved, (stays, moved)


def test_a_still_portraits_plate_is_made_once_for_nodes_made_anew(studio_registry, detector, monkeypatch):
    """Making a plate takes about a second: a graph restarted, or a render node made anew, finds its
    portrait's plate made, by the portrait's pixels (not by which image object holds them)."""
    from nodes.render import plate as plates

    made = []
    monkeypatch.setattr(plates, "_STILL_PLATES", {})
    monkeypatch.setattr(plates, "person_and_plate",
                        lambda rgb, plate=None, turns=0: made.append(rgb.shape) or person_and_plate(rgb, plate, turns))
    image, track = tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")
    first = render(studio_registry, image, track, track.landmarks)
    again = render(studio_registry, image.copy(), track, track.landmarks)
    assert len(made) == 1 and np.array_equal(first, again)
    render(studio_registry, np.ascontiguousarray(image[:, ::-1]), track, track.landmarks)  # other pixels
    assert len(made) == 2


def test_a_portrait_on_its_side_is_segmented_and_its_room_filled_standing_up(detector, portraits):
    """On its side the astronaut was segmented as she lay: her flag was taken for her and the plate smeared it
    down the frame. Her plate is made upright now (the turn her face needs) and turned back."""
    from nodes.track.upright import upright_turns

    image = np.ascontiguousarray(portraits["astronaut"][:, :, :3])
    on_side = np.ascontiguousarray(np.rot90(image, 1))
    turns = upright_turns(detector.detect(on_side)[0])
    assert turns == 3
    upright = person_and_plate(image)
    made = person_and_plate(on_side, turns=turns)
    for part in ("mask", "plate", "extended", "stays"):
        assert np.array_equal(getattr(made, part), np.rot90(getattr(upright, part), 1)), part
    as_it_lay = person_and_plate(on_side)
    assert np.abs(as_it_lay.plate.astype(float) - made.plate).max(axis=2).mean() > 3.0
