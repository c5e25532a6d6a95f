"""A face's edge stretched by a turn draws its texture from further in (nodes/render/stretched_edge.py)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nodes.capture.image import read_image_file
from nodes.render.stretched_edge import StretchedEdge
from nodes.track.face import face_track
from nodes.track.face_model import MESH_POINTS, topology
from tests.conftest import REPO

POSES = REPO / "tests" / "data" / "poses" / "hopper_turned.json"


@pytest.fixture(scope="module")
def hopper(detector):
    image = read_image_file(REPO / "assets" / "portraits" / "grace_hopper.jpg", 2048)[0][:, :, :3]
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    return track.landmarks, {f: np.array(p, np.float64) for f, p in json.loads(POSES.read_text())["poses"].items()}


def outline_spread(uvs: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Per outline point, how many times the area of the portrait its triangles draw the pose spreads them
    over (for the face's size): what the photo saw edge-on and the turn brings into view."""
    triangles, outline = topology().triangles, topology().outline

    def areas(points):
        corners = points[triangles, :2]
        first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        return 0.5 * np.abs(first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0])

    drawn, posed = areas(uvs[:MESH_POINTS]), areas(dst[:MESH_POINTS])
    fans = (triangles[None, :, :] == outline[:, None, None]).any(axis=2)
    return (fans @ posed) / (fans @ drawn) / (posed.sum() / drawn.sum())


@pytest.mark.parametrize("frame, before", [("250", 4.9), ("394", 8.6)])
def test_a_turned_cheeks_outline_draws_from_further_in(hopper, frame, before):
    """Hopper posed as a smiling clip turned her (tests/data/poses): the strip along her near outline, which
    the photo saw nearly edge-on, was drawn 4.9 and 8.6 times as wide as the photo has it (the outline's
    fans, 90th percentile), and her ear's rim, temple hair and wrinkles ran across her cheek as streaks. The
    band a few rings in from the outline now reads its texture from further in: 1.8 and 2.4 times."""
    src, poses = hopper
    dst = poses[frame]
    own = src[:, :2].astype(np.float64)
    assert np.percentile(outline_spread(own, dst), 90) == pytest.approx(before, abs=0.1)
    relaxed = StretchedEdge(src).uvs(dst, own)
    assert np.percentile(outline_spread(relaxed, dst), 90) < 3.0
    kept = np.setdiff1d(np.arange(len(own)), StretchedEdge(src)._band)
    assert np.array_equal(relaxed[kept], own[kept])  # the outline and the features keep their own texture


def test_a_face_at_rest_or_moved_as_a_whole_keeps_its_own_texture(hopper):
    """Only a pose that spreads the outline moves the texture: at rest, or moved, turned in the picture and
    scaled as a whole, every point reads its own pixel (the harmonic map of an irregular mesh is not the
    portrait's own, so a relaxing that did not start from zero would make the skin swim as soon as it began)."""
    src, _ = hopper
    own = src[:, :2].astype(np.float64)
    edge = StretchedEdge(src)
    angle = np.radians(12.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = src.astype(np.float64).copy()
    moved[:, :2] = (src[:, :2] - 250.0) @ rotation.T * 1.3 + 270.0
    for dst in (src, moved):
        assert np.array_equal(edge.uvs(dst, own), own)


def test_the_texture_moves_smoothly_as_the_head_turns(hopper):
    """From rest to the full turn, no point's texture jumps: in half the step it moves about half as far (a
    jump would not shrink), at most 2 px in a fortieth of the turn, 7.5 px in all."""
    src, poses = hopper
    own = src[:, :2].astype(np.float64)
    edge = StretchedEdge(src)

    def largest_step(count):
        steps = [edge.uvs(src + t * (poses["394"] - src), own) for t in np.linspace(0.0, 1.0, count + 1)]
        return max(np.abs(after - before).max() for before, after in zip(steps, steps[1:]))

    coarse, fine = largest_step(40), largest_step(80)
    assert coarse < 2.5 and fine < 0.65 * coarse, (coarse, fine)
    assert np.abs(edge.uvs(poses["394"], own) - own).max() > 5.0


def test_a_turned_portraits_counterpart_skin_is_not_relaxed(hopper):
    """Where a point draws its left-right counterpart's skin anyway (a turned portrait's far side), its own
    texture is left as it is."""
    src, poses = hopper
    own = src[:, :2].astype(np.float64)
    everywhere = np.ones(len(src))
    assert np.array_equal(StretchedEdge(src).uvs(poses["394"], own, everywhere), own)
