"""Below the chin the head's motion gives way to the torso's across the neck (nodes/render/background.py):
what sits around the neck's base (a collar, the astronaut's metal neck ring) stays with the torso as the
head tilts, and a head that drops toward the torso squeezes the neck without folding it over."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.render import background
from nodes.render.background import background_mesh, background_positions
from nodes.track.face_model import MESH_POINTS, from_head_space, reference_shape, rotation_from_euler
from nodes.track.types import HeadPose

SIZE = (400, 400)
CENTRE = np.array([200.0, 170.0, 0.0])
SCALE = 60.0  # pixels per reference unit


def _face(roll: float = 0.0, drop: float = 0.0) -> np.ndarray:
    """The reference face in portrait pixels, rolled by `roll` degrees and moved down `drop` pixels."""
    return from_head_space(reference_shape(), HeadPose(rotation_from_euler(0.0, 0.0, roll),
                                                       CENTRE + [0.0, drop, 0.0], SCALE))


def _shoulders(src: np.ndarray) -> np.ndarray:
    """Body points (neck base, shoulders) well below the chin, as a portrait with a long neck has them."""
    chin = src[:MESH_POINTS, 1].max()
    return np.array([[200.0, chin + 110.0], [110.0, chin + 110.0], [290.0, chin + 110.0]])


def _signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (points[triangles[:, k]] for k in range(3))
    return (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]


def test_a_tilted_head_leaves_what_sits_around_the_necks_base_with_the_torso():
    """A head rolled 25° over a still torso: past the neck's band below the chin (half the face's radius),
    the background stays put though the shoulder line is further down; beside the face it turns with it."""
    src, dst = _face(), _face(roll=25.0)
    mesh = background_mesh(src, SIZE, 32)
    torso = (_shoulders(src), _shoulders(src))
    moved = np.linalg.norm(background_positions(mesh, src, dst, SIZE, torso) - mesh.points, axis=1)
    chin = src[:MESH_POINTS, 1].max()
    radius = np.linalg.norm(src[:MESH_POINTS, :2] - src[:MESH_POINTS, :2].mean(axis=0), axis=1).max()
    collar = (mesh.points[:, 1] > chin + 0.5 * radius) & (mesh.points[:, 1] < chin + 110.0)
    assert collar.sum() > 20
    assert moved[collar].max() < 0.5, moved[collar].max()
    beside = (np.abs(mesh.points[:, 1] - CENTRE[1]) < 20) & (np.abs(mesh.points[:, 0] - CENTRE[0]) < 1.3 * radius)
    beside[: len(background.topology().outline)] = False  # the outline itself is the face's
    assert moved[beside].min() > 10.0


@pytest.mark.parametrize("with_torso", [True, False])
def test_a_head_dropped_toward_the_torso_squeezes_the_neck_without_folding_it(with_torso, monkeypatch):
    """The head drops by most of the neck's band (a driver leaning in and looking down): the band grows
    with the drop, so no background triangle turns over; held at its length, the neck folds."""
    src = _face()
    radius = np.linalg.norm(src[:MESH_POINTS, :2] - src[:MESH_POINTS, :2].mean(axis=0), axis=1).max()
    dst = _face(drop=0.45 * radius / 0.75 if not with_torso else 0.45 * radius)
    mesh = background_mesh(src, SIZE, 32)
    torso = (_shoulders(src), _shoulders(src)) if with_torso else None
    before = _signed_areas(mesh.points, mesh.triangles)

    def turned_over() -> int:
        after = _signed_areas(background_positions(mesh, src, dst, SIZE, torso), mesh.triangles)
        return int((np.sign(after) != np.sign(before)).sum())

    assert turned_over() == 0
    monkeypatch.setattr(background, "NECK_SQUEEZE", 0.0)
    assert turned_over() > 0  # the guard is what keeps it so
