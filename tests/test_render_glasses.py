"""Glasses ride on the head: in a portrait that wears them, what the lenses and rims cover moves with the
head alone, so a smile or a frown no longer bends them; the lids still close behind them."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from nodes.capture.image import read_image_file
from nodes.render.glasses import WithTheHead, wears_glasses
from nodes.track.face_model import MESH_POINTS, procrustes, topology
from tests.conftest import REPO

REAL = REPO / "tests" / "data" / "real"


def portrait(name: str, portraits) -> np.ndarray:
    if name in portraits:
        return portraits[name][:, :, :3]
    if name.endswith(".mp4"):
        return np.ascontiguousarray(iio.imread(REAL / name, index=0))
    return read_image_file(REAL / name, 2048)[0][:, :, :3]


@pytest.mark.parametrize("name, wears", [("hopper", True), ("astronaut", False), ("smile_teeth.jpg", False),
                                         ("three_quarter.jpg", False), ("single_face.mp4", False),
                                         ("wolfgang_expressions.mp4", False)])
def test_glasses_are_found_across_the_nose_of_hopper_only(detector, portraits, name, wears):
    image = portrait(name, portraits)
    assert wears_glasses(image, detector.detect(image)[0]) == wears


def test_glasses_are_found_on_a_face_half_as_wide(detector):
    """assets/driving/hopper_talks.mp4: Hopper animated at 308x360, her face about 116 px wide."""
    clip = iio.imread(REPO / "assets" / "driving" / "hopper_talks.mp4")
    frames = [np.ascontiguousarray(frame) for frame in clip[::40]]
    assert all(wears_glasses(frame, detector.detect(frame)[0]) for frame in frames)


def misfit(points: np.ndarray, rest: np.ndarray) -> float:
    """Mean distance, pixels, of (K, 3) points from where a similarity transform best takes `rest` there."""
    pose = procrustes(points, rest)
    return float(np.linalg.norm(points - (pose.scale * rest @ pose.rotation.T + pose.translation), axis=1).mean())


def test_what_the_lenses_cover_moves_with_the_head_and_the_lids_still_close(detector, portraits):
    """Hopper grins and squints (her cheeks up under the lower rims, her brows down onto the bar) with her
    head rolled and moved: the landmarks under her glasses keep their shape, the lids take the motion's."""
    image = portraits["hopper"][:, :, :3]
    src = detector.detect(image)[0].astype(np.float64)
    glasses = WithTheHead(src)
    weights = glasses.weights
    covered = np.flatnonzero(weights[:MESH_POINTS] > 0.99)
    eyes = topology().regions["eyes"]
    assert len(covered) > 40 and not np.isin(eyes, covered).any()
    dst = src.copy()
    width = float(np.ptp(src[:MESH_POINTS, 0]))
    below_eyes = covered[src[covered, 1] > src[[33, 263], 1].mean()]
    dst[below_eyes, 1] -= 0.04 * width  # cheeks raised
    dst[topology().regions["brows"], 1] += 0.03 * width  # a frown
    dst[eyes, 1] += 0.02 * width  # lids lowered
    angle = np.radians(8.0)
    turn = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0.0, 0.0, 1.0]])
    dst = (dst - src.mean(axis=0)) @ turn.T + src.mean(axis=0) + [12.0, -5.0, 0.0]
    out = glasses.posed(dst)
    assert misfit(dst[covered], src[covered]) > 0.01 * width  # the expression bent them
    assert misfit(out[covered], src[covered]) < 0.002 * width  # moved as one piece
    np.testing.assert_allclose(out[eyes], dst[eyes], atol=1e-3)  # the lids as the motion has them
