"""The room's straight lines go on behind the person in the plate (nodes/render/room_lines.py): a
board's slanted top edge and its upright frame, seen on both sides of the head, not a grey smear where
the wall above the edge and the board below it blend, nor a dark band where the rows start from the wall
outside a frame the hair covers."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.capture.image import read_image_file
from nodes.render.plate import person_and_plate
from nodes.render.room_lines import along_lines_fill, room_lines
from tests.conftest import REPO

SIDE = 256
WALL, FRAME, BOARD = (120, 118, 140), (205, 205, 212), (110, 130, 190)
SLOPE = -0.12  # the board's top edge: y = TOP - 0.12 x
TOP = 70.0
UPRIGHT = 20.0  # the board's left frame: x = UPRIGHT + 0.03 y


def _room() -> np.ndarray:
    """A grey wall above a blue board with a light frame along its slanted top and upright left edges,
    with a little noise."""
    ys, xs = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    above = ys < TOP + SLOPE * xs
    left = xs < UPRIGHT + 0.03 * ys
    rgb = np.where((above | left)[:, :, None], np.float32(WALL), np.float32(BOARD))
    on_frame = ((np.abs(ys - (TOP + SLOPE * xs)) < 1.6) & ~left) | ((np.abs(xs - (UPRIGHT + 0.03 * ys)) < 1.6)
                                                                   & ~above)
    rgb[on_frame] = FRAME
    rgb += np.random.default_rng(0).normal(0.0, 3.0, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _person() -> np.ndarray:
    """A head and shoulders reaching up over the board's top edge, with a tuft of hair over its frame."""
    ys, xs = np.mgrid[:SIDE, :SIDE]
    head = ((ys - 140) / 112.0) ** 2 + ((xs - 140) / 62.0) ** 2 < 1.0
    tuft = (ys > 110) & (ys < 140) & (xs > 12) & (xs < 150)
    return head | tuft


def test_a_slanted_edge_and_an_upright_frame_go_on_behind_the_head():
    rgb, hole = _room(), _person()
    lines = room_lines(rgb, hole.astype(np.uint8))
    assert lines.level is not None and len(lines.upright) == 1, lines
    assert abs(np.rad2deg(lines.level.theta) - 90.0 - np.rad2deg(np.arctan(SLOPE))) < 1.0
    filled = along_lines_fill(rgb, hole, lines, np.full(rgb.shape, 128.0, np.float32))
    xs = np.arange(110, 175)  # behind the top of the head
    edge = TOP + SLOPE * xs
    assert hole[np.round(edge).astype(int), xs].all()

    def along(offset: float) -> np.ndarray:
        return filled[np.round(edge + offset).astype(int), xs].mean(axis=0)

    assert np.abs(along(-6) - WALL).max() < 10, along(-6)
    assert np.abs(along(0) - FRAME).max() < 30, along(0)
    assert np.abs(along(6) - BOARD).max() < 10, along(6)
    # the tuft over the left frame: the board right of the frame, not the wall the row starts from
    behind_tuft = filled[115:135, 40:100]
    assert np.abs(behind_tuft.reshape(-1, 3).mean(axis=0) - BOARD).max() < 10


def test_lines_that_merely_line_up_across_the_head_are_not_joined():
    """A wall's edge left of the head and a shelf's right of it at the same height, but with other
    colours either side: two lines, not one passing behind the head."""
    rgb, hole = _room(), _person()
    ys, xs = np.mgrid[:SIDE, :SIDE]
    right = xs > 200
    rgb[right & (ys < TOP + SLOPE * xs + 1.6)] = (60, 40, 30)  # dark wood down to the board, no frame
    assert room_lines(rgb, hole.astype(np.uint8)).level is None


def test_no_line_is_followed_where_none_passes_behind_the_person():
    """The bundled portraits: a flag's stripes beside the head, a rocket's edges and a mottled backdrop
    hold no line seen on both sides of the person. single_face.mp4: the door's lower panels have their top
    edges level either side of his head, but they end at the panels' corners; the rail between is plain."""
    import imageio.v3 as iio

    from nodes.track.segmentation import person_mask

    door = iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=0)
    portraits = [read_image_file(REPO / "assets" / "portraits" / name, SIDE)[0] for name in ("grace_hopper.jpg",
                                                                                            "astronaut.png")]
    for rgb in [door[::2, ::2], *portraits]:  # about the plate's working size
        hole = cv2.dilate((person_mask(rgb[:, :, :3]) > 0.2).astype(np.uint8), np.ones((11, 11), np.uint8))
        assert not room_lines(rgb[:, :, :3], hole), rgb.shape


def test_the_three_quarter_portraits_board_edge_goes_on_behind_his_hair():
    """three_quarter.jpg: the board's top edge, a light frame between the wall and the board, runs behind
    his hair; filled along the image's rows, the frame was lost in a grey smear there."""
    image = read_image_file(REPO / "tests" / "data" / "real" / "three_quarter.jpg", 512)[0][:, :, :3]
    separated = person_and_plate(image)
    hole = separated.mask > 0.5
    plate = separated.plate.astype(np.float32)
    # the frame along the edge as seen left and right of his head: y = 82 - 0.127 x (measured on the portrait)
    columns = np.arange(30, 512)
    edge = 82 - 0.127 * columns
    behind = hole[np.round(edge).astype(int), columns]
    covered = np.flatnonzero(behind)
    assert covered.size > 60
    near = (np.abs(columns - columns[covered[0]]) < 100) | (np.abs(columns - columns[covered[-1]]) < 100)
    room = cv2.erode((separated.mask < 0.2).astype(np.uint8), np.ones((11, 11), np.uint8)) > 0  # no loose hair
    for offset in (-10, 0, 12):  # the wall above the edge, its light frame, the board below it
        rows = np.round(edge + offset).astype(int)
        beside = near & room[rows, columns]
        assert beside.sum() > 20
        seen = image[rows[beside], columns[beside]].astype(np.float32).mean(axis=0)
        off = np.abs(plate[rows[behind], columns[behind]] - seen).max(axis=1)
        assert np.percentile(off, 90) < 12, (offset, np.percentile(off, 90))  # filled along rows: 8, 40, 10


@pytest.mark.parametrize("votes", [False, True])
def test_opencv_5s_flat_line_list_finds_the_same_lines(monkeypatch, votes):
    """OpenCV 4 returns HoughLines as (N, 1, 2). OpenCV 5.0 flattened HoughLinesP's list (which failed every
    render at its first frame there) but not this one; read in any shape, a build that flattens it too, or
    adds the votes, finds the same lines."""
    rgb, hole = _room(), _person().astype(np.uint8)
    expected = room_lines(rgb, hole)
    native = cv2.HoughLines

    def flat(*args, **kwargs):
        lines = native(*args, **kwargs)
        if lines is None:
            return None
        flat = lines.reshape(len(lines), -1)[:, :2]  # whichever OpenCV runs this
        return np.concatenate([flat, np.ones((len(lines), 1), lines.dtype)], 1) if votes else flat

    monkeypatch.setattr(cv2, "HoughLines", flat)
    assert room_lines(rgb, hole) == expected
