"""Loose hair past the silhouette joins the plate's hole (nodes/render/loose_hair.py): the wisps standing
out of `three_quarter.jpg`'s hair are filled under in the plate, so a moved head takes them along rather
than leaving dark scratches on the wall; a room's own straight lines and a backdrop's speckle stay."""
from __future__ import annotations

import cv2
import imageio.v3 as iio
import numpy as np

from nodes.render.loose_hair import loose_hair
from tests.conftest import REPO

SIDE = 512


def _wall_with_head() -> tuple[np.ndarray, np.ndarray]:
    """(rgb, hole): a grey wall with light speckle, a dark head (the hole, grown past it), wisps standing
    out of its top, a long straight dark line (a board's edge) running from it across the wall and a short
    dark stroke at its bottom."""
    rng = np.random.default_rng(3)
    rgb = np.clip(150 + rng.normal(0, 2.0, (SIDE, SIDE, 3)), 0, 255).astype(np.uint8)
    cv2.circle(rgb, (256, 300), 120, (40, 35, 35), -1)
    for angle in (-50, -25, 0, 20, 45):  # from the head's edge outward, 20 px long, 1 px wide
        direction = np.array([np.sin(np.radians(angle)), -np.cos(np.radians(angle))])
        start, end = np.array([256, 300]) + 122 * direction, np.array([256, 300]) + 142 * direction
        cv2.line(rgb, tuple(int(v) for v in start), tuple(int(v) for v in end), (90, 85, 85), 1)
    cv2.line(rgb, (380, 280), (511, 240), (100, 100, 100), 1)  # the board's edge, from the head's side
    cv2.line(rgb, (256, 428), (262, 446), (90, 85, 85), 1)  # a dark stroke under it: beside no head of hair
    hole = np.zeros((SIDE, SIDE), np.uint8)
    cv2.circle(hole, (256, 300), 126, 1, -1)
    return rgb, hole


def test_wisps_touching_the_head_are_found_and_the_rooms_lines_and_speckle_are_not():
    rgb, hole = _wall_with_head()
    found = loose_hair(rgb, hole)
    rows, cols = np.nonzero(found)
    assert len(rows) >= 5 * 14  # most of each wisp's 20 pixels
    distance = np.hypot(cols - 256, rows - 300)
    assert distance.min() >= 125 and distance.max() <= 144  # along the wisps, nowhere else on the wall
    assert not found[230:290, 385:].any()  # the straight line stays the room's
    assert not found[420:].any()  # and so does the stroke below the head's top 40%


def test_three_quarters_wisps_leave_the_plate():
    """Where the wisps above his hair were, the plate shows the wall: far less dark detail there than the
    portrait has, and the wall elsewhere as it was."""
    from nodes.render.plate import person_and_plate

    rgb = iio.imread(REPO / "tests" / "data" / "real" / "three_quarter.jpg")[:, :, :3]
    made = person_and_plate(rgb)
    room = made.mask < 0.2
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))

    def darkness(image: np.ndarray) -> np.ndarray:
        return cv2.morphologyEx(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.MORPH_BLACKHAT, kernel).astype(float)

    hole = cv2.dilate((made.mask > 0.2).astype(np.uint8), np.ones((21, 21), np.uint8))
    wisps = loose_hair(rgb, hole)
    assert wisps.sum() >= 300 and wisps[:120].sum() >= 0.65 * wisps.sum()  # mostly standing out above his hair
    assert darkness(made.plate)[wisps].mean() <= 0.5 * darkness(rgb)[wisps].mean()
    far = room & (cv2.dilate(hole, np.ones((61, 61), np.uint8)) == 0)
    assert np.array_equal(made.plate[far], rgb[far])


def test_opencv_5s_flat_segment_list_takes_out_the_same_straight_lines(monkeypatch):
    """OpenCV 4 returns HoughLinesP as (N, 1, 4), OpenCV 5 (the GPU machine's) as (N, 4): there the nested
    indexing failed every render at its first frame. The list is flattened here as OpenCV 5 gives it."""
    rgb, hole = _wall_with_head()
    expected = loose_hair(rgb, hole)
    native = cv2.HoughLinesP
    found = []

    def flat(*args, **kwargs):
        lines = native(*args, **kwargs)
        found.append(lines is not None)
        return None if lines is None else lines.reshape(-1, 4)  # flat, whichever OpenCV runs this

    monkeypatch.setattr(cv2, "HoughLinesP", flat)
    assert np.array_equal(loose_hair(rgb, hole), expected)
    assert any(found)  # the board's edge was a line to take out
