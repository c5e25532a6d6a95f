"""Where an eye's fan centres its iris (nodes/render/eyes.py `iris_place`), on real poses of the
three-quarter portrait (tests/data/poses/three_quarter_eyes.json): a shutting eye's iris stays up where it
was, and a narrow eye's iris can be posed down on its lower lid."""
from __future__ import annotations

import json

import numpy as np
import pytest

from nodes.render.eyes import IRIS_STRETCH, EyeOpening, iris_place
from nodes.track.face_model import LEFT_IRIS, RIGHT_IRIS
from tests.conftest import REPO
from tests.test_render_layers import render, tracked

POSES = json.loads((REPO / "tests" / "data" / "poses" / "three_quarter_eyes.json").read_text())["poses"]
SHUT, OPEN = ("65", "108"), "145"  # crying with both eyes shut; eyes open, the near (left) iris on its lower lid
IRISES = (RIGHT_IRIS, LEFT_IRIS)


@pytest.fixture(scope="module")
def three_quarter(detector):
    return tracked(detector, REPO / "tests" / "data" / "real" / "three_quarter.jpg")


def _across(points: np.ndarray, eye: int, point: np.ndarray) -> float:
    return EyeOpening(points, eye).locate(point)[1]


@pytest.mark.parametrize("frame", SHUT)
def test_a_shut_eyes_iris_is_centred_on_its_lash_line_not_above_it(three_quarter, frame):
    """Posed shut, each iris is 5-8 px above the lids that met below it; the fan centred there reached over
    the upper lid. Its centre is now on the lids' line."""
    _, track = three_quarter
    dst = np.array(POSES[frame])
    for eye in range(2):
        opening = EyeOpening(dst, eye)
        at, _ = opening.locate(dst[IRISES[eye], :2])
        on_the_lids = opening.place(at, 0.5)
        assert np.linalg.norm(dst[IRISES[eye], :2] - on_the_lids) > 4.0  # the pose puts it well above them
        assert np.linalg.norm(iris_place(track.landmarks, dst, eye, dst[IRISES[eye], :2]) - on_the_lids) < 0.5


def test_a_narrow_eyes_iris_posed_on_its_lower_lid_moves_across_it_only_as_far_as_the_stretch_allows(three_quarter):
    """The near eye's iris sits under its upper lid (0.17 of the way across); posed on its lower lid (0.98)
    the fan stretched the glint above it into a bar down the eye."""
    _, track = three_quarter
    src, dst = track.landmarks, np.array(POSES[OPEN])
    own = _across(src, 1, src[LEFT_IRIS, :2])
    assert own < 0.25 and _across(dst, 1, dst[LEFT_IRIS, :2]) > 0.9
    assert _across(dst, 1, iris_place(src, dst, 1, dst[LEFT_IRIS, :2])) == pytest.approx(IRIS_STRETCH * own)


def test_an_iris_where_the_portrait_has_it_stays_there(three_quarter):
    _, track = three_quarter
    src = track.landmarks
    for eye in range(2):
        np.testing.assert_allclose(iris_place(src, src, eye, src[IRISES[eye], :2]), src[IRISES[eye], :2], atol=1e-6)


@pytest.mark.gl
@pytest.mark.parametrize("frame", SHUT)
def test_a_shut_eye_shows_no_dark_speck_where_its_iris_was(studio_registry, three_quarter, frame):
    """The fan's centre above a shut eye rasterised as a dark speck of lash colour on the lid skin where the
    iris was (grey 39 among 117-123)."""
    image, track = three_quarter
    dst = np.array(POSES[frame], np.float32)
    grey = render(studio_registry, image, track, dst).mean(axis=2)
    for iris in IRISES:
        x, y = np.round(dst[iris, :2]).astype(int)
        around = grey[y - 4:y + 5, x - 4:x + 5]
        assert grey[y, x] > 0.8 * np.median(around), (iris, grey[y, x], np.median(around))
