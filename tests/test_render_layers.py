"""The layered renderer on real portraits: no seam where face and background meet, and what a moved
head uncovers is the room behind it (the plate), not stretched face pixels or a ghost."""
from __future__ import annotations

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


def render(studio_registry, image, track, dst, **params) -> np.ndarray:
    schema = studio_registry.require("render.portrait").schema
    node = studio_registry.create("render.portrait", "r", {**schema.defaults(), "antialias": "off", **params})
    run = RunContext()
    node.open(run)
    try:
        return node.process(FrameContext(0, 0.0, run), image=Image(image), track=track,
                            motion=Motion(dst))["image"].rgb().astype(float)
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


def edge_strength(pixels: np.ndarray, points: np.ndarray, normals: np.ndarray, reach: float = 3.0) -> float:
    """Mean colour difference across a curve: pixels `reach` px outside minus inside, per point."""
    h, w = pixels.shape[:2]
    sample = lambda p: pixels[np.clip(p[:, 1].round().astype(int), 0, h - 1), np.clip(p[:, 0].round().astype(int), 0, w - 1)]  # noqa: E731
    return float(np.abs(sample(points + reach * normals) - sample(points - reach * normals)).mean())


def outline_normals(points: np.ndarray) -> np.ndarray:
    tangent = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-6)
    outward = np.sign(((points - points.mean(axis=0)) * normal).sum(axis=1, keepdims=True))
    return normal * outward


def test_no_seam_where_the_face_meets_the_background_on_a_head_roll(studio_registry, detector):
    """Across the face outline the rolled render changes no more than the portrait does across its own
    outline: no hard edge, no light band opening between jaw and hair."""
    image, track = tracked(detector, REPO / "assets" / "portraits" / "grace_hopper.jpg")
    dst = rolled(track.landmarks, 8.0, (5.0, -3.0))
    out = render(studio_registry, image, track, dst)
    loop = topology().outline
    before = edge_strength(image.astype(float), track.landmarks[loop, :2], outline_normals(track.landmarks[loop, :2]))
    after = edge_strength(out, dst[loop, :2], outline_normals(dst[loop, :2]))
    assert after < before * 1.25 + 3.0


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


def test_a_driver_with_shut_eyes_shuts_the_targets_eyes(studio_registry, detector, portraits):
    """Real frames of single_face.mp4 drive the astronaut: at the driver's most shut frame, the rendered
    portrait, re-tracked, has its eyes shut too (below a third of its own open level)."""
    import imageio.v3 as iio

    from nodes.retarget.ranges import eye_openness
    from nodes.track.face_model import reference_shape

    clip = iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4")
    tracks = [face_track(detector.detect(np.ascontiguousarray(f))[0], (f.shape[1], f.shape[0]), i / 30.0)
              for i, f in enumerate(clip)]
    openness = [eye_openness(reference_shape() + t.expression).mean() for t in tracks]
    shut = int(np.argmin(openness))
    assert openness[shut] < 0.5 * np.median(openness)  # the clip does blink
    image = portraits["astronaut"][:, :, :3]
    target = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    schema = studio_registry.require("retarget.face").schema
    retarget = studio_registry.create("retarget.face", "r", schema.defaults())
    run = RunContext()
    retarget.open(run)
    for k, track in enumerate(tracks[:shut + 1]):
        motion = retarget.process(FrameContext(k, track.timestamp, run), source=track, target=target)["motion"]
    out = render(studio_registry, image, target, motion.landmarks).round().astype(np.uint8)
    seen = face_track(detector.detect(out)[0], (out.shape[1], out.shape[0]), 0.0)
    own = eye_openness(reference_shape() + target.expression)
    assert np.all(eye_openness(reference_shape() + seen.expression) < own / 3)
