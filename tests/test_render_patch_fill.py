"""The room a moved head uncovers goes on with the room's own texture (nodes/render/patch_fill.py): a
flag's stars and stripes, not a smudge; beside a plain wall the smooth fill stays as it was."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from nodes.render.patch_fill import patch_completion

SIDE = 128


def patch_filled(rgb: np.ndarray, hole: np.ndarray, depth: float) -> np.ndarray:
    return patch_completion(rgb, hole, depth).image


def _detail(image: np.ndarray) -> np.ndarray:
    """(H, W) mean absolute difference of each pixel from its blur: a texture's fine detail."""
    values = image.astype(np.float32)
    return np.abs(values - cv2.GaussianBlur(values, (0, 0), 2.0)).mean(axis=2)


def _room(striped: bool, side: int = SIDE) -> np.ndarray:
    """A wall shading left to right, with vertical stripes 8 px apart where `striped`."""
    columns = np.arange(side)
    shade = 80 + columns * 0.6 * SIDE / side
    if striped:
        shade = shade + np.where((columns // 4) % 2 == 0, 50, -50)
    rgb = np.repeat(np.repeat(shade[None, :, None], side, axis=0), 3, axis=2)
    rgb[:, :, 2] += 30
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _head_hole(side: int = SIDE) -> np.ndarray:
    rows, cols = np.mgrid[:side, :side] * SIDE / side
    return (rows - 70) ** 2 + (cols - 64) ** 2 < 36 ** 2


def _smoothly_filled(room: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """The room with the hole as the plate's row fill leaves it: each row's colours blurred across."""
    blurred = cv2.GaussianBlur(room, (0, 0), 12.0)
    return np.where(hole[:, :, None], blurred, room)


def test_stripes_beside_a_hole_go_on_into_its_strip_where_a_smooth_fill_blurs_them_away():
    truth, hole = _room(striped=True), _head_hole()
    smooth = _smoothly_filled(truth, hole)
    completed = patch_filled(smooth, hole, depth=12.0)
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    strip = hole & (inside > 1) & (inside < 7)  # short of where the completion eases out
    error = np.abs(completed.astype(float) - truth)[strip].mean()
    smooth_error = np.abs(smooth.astype(float) - truth)[strip].mean()
    assert error < 0.5 * smooth_error, (error, smooth_error)
    assert _detail(completed)[strip].mean() > 0.6 * _detail(truth)[strip].mean()
    assert np.array_equal(completed[~hole], truth[~hole])  # the room itself is never touched
    deep = hole & (inside > 13)
    assert np.array_equal(completed[deep], smooth[deep])  # past the strip: the fill as given


def test_carried_up_to_the_portraits_size_the_texture_is_as_sharp_as_the_room():
    """Matched at half the size, the completion is voted again at the full size from the full-size room:
    stripes 4 px wide there come out as stripes, where the half-size completion scaled up blurs them."""
    big = 2 * SIDE
    truth, hole = _room(striped=True, side=big), _head_hole(big)
    small_hole = cv2.resize(hole.astype(np.uint8), (SIDE, SIDE), interpolation=cv2.INTER_NEAREST) > 0
    small_fill = _smoothly_filled(cv2.resize(truth, (SIDE, SIDE), interpolation=cv2.INTER_AREA), small_hole)
    completion = patch_completion(small_fill, small_hole, depth=12.0)
    fill = cv2.resize(small_fill, (big, big), interpolation=cv2.INTER_LINEAR)
    sharp = completion.at_size(truth, hole, fill)
    scaled = cv2.resize(completion.image, (big, big), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    strip = hole & (inside > 2) & (inside < 14)
    sharp_error, scaled_error = (np.abs(image - truth)[strip].mean() for image in (sharp, scaled))
    assert sharp_error < 0.6 * scaled_error, (sharp_error, scaled_error)
    assert _detail(sharp)[strip].mean() > 0.7 * _detail(truth)[strip].mean()
    assert np.array_equal(sharp[~hole], fill[~hole].astype(np.float32))  # only the hole is voted


def test_carried_up_to_the_portraits_size_a_fine_texture_shows_no_mosaic_of_the_working_sizes_pixels():
    """A room of fine irregular texture (a cloth, a plaster wall): matched at half the size, neighbouring
    patches come from different places, and where the full size's votes came from every third patch each
    way its pixels changed more across the working size's 2 px tiles than within them (1.37 times as much,
    the room itself 1.00): a mosaic. Every patch over a pixel votes now (1.09)."""
    big = 2 * SIDE
    rng = np.random.default_rng(3)
    noise = sum(cv2.resize(rng.normal(0.0, 1.0, (n, n)).astype(np.float32), (big, big),
                           interpolation=cv2.INTER_CUBIC) for n in (97, 53, 29))  # no period of 2 px in it
    truth = np.clip(128 + 25 * noise[:, :, None] * np.array([1.0, 0.8, 0.6]), 0, 255).astype(np.uint8)
    hole = _head_hole(big)
    small_hole = cv2.resize(hole.astype(np.uint8), (SIDE, SIDE), interpolation=cv2.INTER_NEAREST) > 0
    small_fill = _smoothly_filled(cv2.resize(truth, (SIDE, SIDE), interpolation=cv2.INTER_AREA), small_hole)
    fill = cv2.resize(small_fill, (big, big), interpolation=cv2.INTER_LINEAR)
    out = patch_completion(small_fill, small_hole, depth=12.0).at_size(truth, hole, fill).mean(axis=2)
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    strip = hole & (inside > 2) & (inside < 14)

    def across_tile_edges(image: np.ndarray) -> float:  # change across the tiles' edges over that within them
        step = np.abs(np.diff(image.astype(np.float32), axis=1))
        pairs = strip[:, 1:] & strip[:, :-1]
        edge = (np.arange(step.shape[1]) % 2 == 1)[None, :]
        return float(step[pairs & edge].mean() / step[pairs & ~edge].mean())

    assert across_tile_edges(truth.mean(axis=2)) < 1.05
    assert across_tile_edges(out) < 1.2


def test_beside_a_plain_wall_the_smooth_fill_is_kept():
    """A completion beside a wall with no texture has nothing to add and could carry a shade in from
    further off: the fill is left as it was."""
    hole = _head_hole()
    smooth = _smoothly_filled(_room(striped=False), hole)
    assert np.array_equal(patch_filled(smooth, hole, depth=12.0), smooth)


def test_beside_a_sliver_of_room_the_smooth_fill_is_kept():
    """A person cut by the frame's edge leaves a sliver of room beside them: chosen from it, one piece
    repeated down the strip in a grid. Where under CHOICE of the search square is room, the fill stays."""
    truth = _room(striped=True)
    truth[:, :7] = np.where((np.arange(SIDE) // 3 % 2 == 0)[:, None, None], 40, 220)  # a striped sliver
    hole = np.ones((SIDE, SIDE), bool)
    hole[:40] = False  # the room above the person
    hole[:, :7] = False  # and a sliver of it beside them, down the frame's edge: one patch wide
    smooth = _smoothly_filled(truth, hole)
    completed = patch_filled(smooth, hole, depth=12.0)
    below = np.zeros_like(hole)
    below[100:, 7:19] = True  # beside the sliver, far from the room above
    assert np.array_equal(completed[below], smooth[below])
    above = hole.copy()
    above[46:] = False
    assert np.abs(completed[above].astype(float) - smooth[above]).mean() > 5.0  # the room above goes on


def test_the_completion_is_the_same_every_time():
    hole = _head_hole()
    smooth = _smoothly_filled(_room(striped=True), hole)
    assert np.array_equal(patch_filled(smooth, hole, 12.0), patch_filled(smooth, hole, 12.0))


@pytest.mark.parametrize(
    "case", ["no hole", "all hole", "tiny frame", "hole at the frame's edge", "no room patch fits"])
def test_odd_holes_leave_a_usable_picture(case):
    rng = np.random.default_rng(3)
    side = 8 if case == "tiny frame" else 64
    rgb = rng.integers(0, 255, (side, side, 3), dtype=np.uint8)
    hole = np.zeros((side, side), bool)
    if case == "all hole":
        hole[:] = True
    elif case == "tiny frame":
        hole[2:5, 2:5] = True
    elif case == "hole at the frame's edge":
        hole[:, :20] = True
    elif case == "no room patch fits":
        hole[::4, :] = True  # the room is rows three pixels high: no 7x7 patch of it
    out = patch_filled(rgb, hole, depth=10.0)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out[~hole], rgb[~hole])
    if case in ("no hole", "all hole", "no room patch fits"):
        assert np.array_equal(out, rgb)


def test_hoppers_flag_goes_on_beside_her_where_the_row_fill_smeared_it(monkeypatch):
    """Grace Hopper stands before a flag: the strip of plate her head and shoulders uncover on its side
    keeps much of the flag's detail; the row fill alone smears it to little more than half as much (2.4
    and 1.3 grey levels from its blur, the flag itself 7.7; voted by every third patch, 3.5, a mosaic's
    tile edges counted as detail)."""
    import imageio.v3 as iio

    from nodes.render import patch_fill
    from nodes.render.plate import person_and_plate

    rgb = iio.imread("assets/portraits/grace_hopper.jpg")[:, :, :3]
    made = person_and_plate(rgb)
    monkeypatch.setattr(patch_fill, "TEXTURE", (1e6, 2e6))  # no room is textured enough: the row fill alone
    smeared = person_and_plate(rgb)
    bare = np.all(made.plate == rgb, axis=2)
    height, width = bare.shape
    inside = cv2.distanceTransform((~bare).astype(np.uint8), cv2.DIST_L2, 3)
    flag_side = np.zeros_like(bare)
    flag_side[:, : width // 3] = True
    strip = (inside > 3) & (inside < 0.06 * max(height, width)) & flag_side & (made.mask < 0.5)
    assert strip.sum() > 5000
    detail, smeared_detail = _detail(made.plate)[strip].mean(), _detail(smeared.plate)[strip].mean()
    assert detail > 1.6 * smeared_detail, (detail, smeared_detail)


def test_a_body_cut_by_the_frames_edge_is_filled_from_the_room_beside_it_not_from_the_far_side():
    """The astronaut's arm reaches the frame's left edge beside her flag, so rows there show room on the
    right only: her helmet and the black table. Filled along the row, that black ran under her arm to the
    frame's edge, and a torso moved right uncovered a black band beside the flag (luma 3-61 over rows
    388-424 at the left edge, its red 4-60; now the flag's white and red stripes carried on, and the wall:
    red 174 on average). Hopper's shoulder reaches the right edge: the flag's beige from the far side
    filled under it, now the blue wall above."""
    import imageio.v3 as iio

    from nodes.render.plate import person_and_plate

    luma = np.array([0.299, 0.587, 0.114])
    astronaut = person_and_plate(np.ascontiguousarray(iio.imread("assets/portraits/astronaut.png")[:, :, :3])).plate
    assert astronaut[388:425, :60, 0].mean() > 150 and (astronaut[388:425, :60].astype(float) @ luma).min() > 50
    assert (astronaut[388:425, 440:].astype(float) @ luma).mean() < 20  # beside the helmet: its black
    hopper = person_and_plate(np.ascontiguousarray(iio.imread("assets/portraits/grace_hopper.jpg")[:, :, :3])).plate
    red, green, blue = hopper[420:520, 430:].reshape(-1, 3).astype(float).mean(axis=0)
    assert blue > red + 40  # the wall's blue


def test_the_strip_of_flag_between_the_astronauts_sleeve_and_the_frames_edge_is_room_not_her():
    """The selfie model reads the flag hemmed in by her sleeve and the frame's left edge as half her
    (0.54 on average over rows 430-505, 12 pixels in), so it went along with her torso and smeared into
    blocks of stripes as she turned (wolfgang_expressions.mp4 frames 394-440). The pose model's silhouette
    settles it: room (0.0). Her sleeve, and everything above her shoulders, keep the selfie model's mask."""
    import imageio.v3 as iio

    from nodes.track.segmentation import person_mask, portrait_person_mask

    rgb = np.ascontiguousarray(iio.imread("assets/portraits/astronaut.png")[:, :, :3])
    selfie, settled = person_mask(rgb), portrait_person_mask(rgb)
    assert selfie[430:506, :12].mean() > 0.4 and settled[430:506, :12].max() < 0.05
    assert settled[430:506, 40:60].min() > 0.95  # the sleeve
    assert np.array_equal(selfie[:250], settled[:250])  # her head and the room round it
