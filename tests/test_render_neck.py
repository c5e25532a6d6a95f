"""Beside the neck, below the jaw, the background moves half with the torso, half with the head: the
astronaut's suit ring rises to her chin there, and bent with every roll of her head."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.render.background import JAW_ANGLES, background_mesh, background_positions, beside_the_neck
from nodes.track.face_model import CHIN, topology
from tests.conftest import REPO
from tests.test_render_layers import rolled, tracked


@pytest.fixture(scope="module")
def astronaut(detector):
    image, track = tracked(detector, REPO / "assets" / "portraits" / "astronaut.png")
    return (image.shape[1], image.shape[0]), track.landmarks


@pytest.mark.parametrize("degrees", [-12.0, 12.0])
def test_a_head_rolled_over_a_still_torso_leaves_the_suits_ring_beside_the_neck_where_it_was(astronaut, degrees):
    size, landmarks = astronaut
    mesh = background_mesh(landmarks, size, 32)
    points = mesh.points[len(topology().outline):]
    torso = np.array([[209.0, 248.0], [306.0, 257.0], [113.0, 240.0]])  # her neck base and shoulders, held
    posed = background_positions(mesh, landmarks, rolled(landmarks, degrees, (0.0, 0.0)), size, (torso, torso))
    moved = np.linalg.norm(posed[len(topology().outline):] - points, axis=1)
    chin = landmarks[CHIN, :2]
    jaw_half = 0.5 * abs(landmarks[JAW_ANGLES[1], 0] - landmarks[JAW_ANGLES[0], 0])
    aside = np.abs(points[:, 0] - chin[0])
    ring = (aside > 1.5 * jaw_half) & (aside < 2.4 * jaw_half) & (np.abs(points[:, 1] - chin[1]) < 20)
    neck = (aside < 20) & (points[:, 1] > chin[1]) & (points[:, 1] < chin[1] + 20)
    hair = (points[:, 1] < chin[1] - 90) & (aside < 80)
    assert ring.sum() >= 6 and neck.any()
    top_of_head = np.percentile(moved[hair], 90)  # 15 px
    assert moved[ring].mean() < 0.8 * top_of_head  # measured 10.1 px; moved with the head it was 13.4
    assert moved[neck].mean() > 0.6 * top_of_head  # the neck itself still bends with the head (12.9 px)


def test_the_neck_has_its_sides_where_the_face_has_them_on_a_portrait_on_its_side(astronaut):
    size, landmarks = astronaut
    points = np.stack(np.meshgrid(np.arange(0, size[0], 8.0), np.arange(0, size[1], 8.0)), axis=-1).reshape(-1, 2)
    upright = beside_the_neck(points, landmarks)
    turn = lambda p: np.stack([size[1] - p[:, 1], p[:, 0]], axis=1)  # noqa: E731  a quarter turn
    on_its_side = landmarks.copy()
    on_its_side[:, :2] = turn(landmarks[:, :2])
    assert 0.5 < upright.max() and upright.sum() > 20
    np.testing.assert_allclose(beside_the_neck(turn(points), on_its_side), upright, atol=1e-6)
