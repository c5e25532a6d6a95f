"""Straight lines of the room that pass behind the person (a board's edges, a wall's top, a door's
frame), seen on both sides of them, and the plate's fill that carries them on behind the person.

Filled along the image's rows, a slanted line ends at the hole: each row meets the wall on one side and
the board on the other, and behind the head the two blend into a grey smear; an upright line covered by
the hair's edge (the board's frame beside his temple) makes the rows there start from the wall outside
it, a dark band across the board (three_quarter.jpg). Here the rows of the fill run along the level
line, so each starts and ends the same way across it, and an upright line is drawn on through the hole
with its own profile (the line and the room just either side of it, as seen where it shows), which the
rows then start from."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import median_filter

from nodes.render.ramps import smoothstep

TILT = 30.0  # degrees: the furthest from level (or upright) a line followed runs
SUPPORT = 0.08  # of the longest side: how much of a line's edge must be seen on each side of the hole
NEAR = 0.25  # of the longest side: its edge counted this close to the hole, so a line seen there goes behind it
SIDES_AGREE = 24.0  # 0..255, per channel: the room just either side of a line alike on both sides of the hole
SIDE_DEPTH = 3  # working pixels: how far either side of a line the room is compared
PROFILE = 0.02  # of the longest side: how far either side of an upright line its profile is carried on
END_RUN = 5  # known pixels along each row that make its end's colour (their median: one loose hair is no end)
EDGE_SKIP = 2  # pixels: the hole's soft rim is not taken as the room's end
BLUR_ALONG = 0.02  # of the longest side: the fill blurred along its rows (its row-to-row streaks)
BLUR_ACROSS = 0.02  # of the longest side: and across them, away from the level line
LINE_BAND = 0.05  # of the longest side: near the level line the fill is not blurred across it, so it stays sharp
CORNER = 0.05  # of the longest side: how near the hole, and how long, an edge leaving a line makes a corner
CORNER_GAP = 4  # working pixels: an edge leaving the line is looked for from this far off it (past its own)
CORNER_EDGE = 0.7  # of the pixels along the way across the line: edge, for a corner
LINES_TRIED = 40  # the strongest straight edges of each kind weighed


@dataclass(frozen=True)
class Line:
    """x·cos(theta) + y·sin(theta) = distance, in the pixels of the image it was found in."""

    distance: float
    theta: float

    def scaled(self, factor: float) -> "Line":
        return Line(self.distance * factor, self.theta)

    def upright(self) -> bool:
        return abs(np.cos(self.theta)) > abs(np.sin(self.theta))

    def points(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(ys, xs) int: the line's pixels inside an image of `shape`, one per row (upright) or column."""
        height, width = shape
        if self.upright():
            ys = np.arange(height)
            xs = np.round((self.distance - ys * np.sin(self.theta)) / np.cos(self.theta)).astype(np.int64)
        else:
            xs = np.arange(width)
            ys = np.round((self.distance - xs * np.cos(self.theta)) / np.sin(self.theta)).astype(np.int64)
        inside = (ys >= 0) & (ys < height) & (xs >= 0) & (xs < width)
        return ys[inside], xs[inside]

    def normal(self) -> np.ndarray:
        """(dy, dx): one pixel across the line."""
        return np.array([np.sin(self.theta), np.cos(self.theta)])


@dataclass(frozen=True)
class RoomLines:
    """The room's lines behind the person: the strongest near-level one (whose direction the fill's rows
    follow) and the near-upright ones (drawn on through the hole)."""

    level: Line | None
    upright: tuple[Line, ...]

    def scaled(self, factor: float) -> "RoomLines":
        return RoomLines(self.level.scaled(factor) if self.level else None,
                         tuple(line.scaled(factor) for line in self.upright))

    def __bool__(self) -> bool:
        return self.level is not None or bool(self.upright)


def room_lines(rgb: np.ndarray, hole: np.ndarray) -> RoomLines:
    """The straight edges of the room in `rgb` ((H, W, 3) uint8) that pass behind `hole` ((H, W), nonzero
    inside) and are seen on both sides of it."""
    gray = cv2.GaussianBlur(cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY), (0, 0), 1.0)
    edges = cv2.Canny(gray, 30, 80)
    edges[cv2.dilate((hole > 0).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0] = 0  # the silhouette's own
    seen = cv2.dilate(edges, np.ones((3, 3), np.uint8)) > 0
    side = max(hole.shape)
    threshold = max(8, round(2 * SUPPORT * side))
    tilt = np.deg2rad(TILT)

    def found(low: float, high: float) -> list[tuple[int, Line]]:
        """(support, line) of the lines with theta between `low` and `high` that pass behind the hole."""
        lines = cv2.HoughLines(edges, 1, np.pi / 360, threshold=threshold, min_theta=low, max_theta=high)
        # (N, 1, 2), or flat as OpenCV 5 made HoughLinesP's, or with the votes (N, 3): read in any shape
        strongest = [] if lines is None else lines.reshape(len(lines), -1)[:LINES_TRIED, :2]
        candidates = [Line(float(rho), float(theta)) for rho, theta in strongest]
        weighed = [(_support(seen, hole > 0, rgb, line), line) for line in candidates]
        return [(support, line) for support, line in weighed if support > 0]

    level = max(found(np.pi / 2 - tilt, np.pi / 2 + tilt), key=lambda weighed: weighed[0], default=(0, None))[1]
    upright = found(0.0, tilt) + found(np.pi - tilt, np.pi)
    return RoomLines(level, tuple(_apart([line for _, line in sorted(upright, key=lambda w: -w[0])], side)))


def _apart(lines: list[Line], side: int) -> list[Line]:
    """`lines`, strongest first, less those within a profile's width of a stronger one (the two edges of
    one frame, or one edge found twice)."""
    kept: list[Line] = []
    for line in lines:
        if all(abs(line.distance - other.distance) > 2 * PROFILE * side + SIDE_DEPTH for other in kept):
            kept.append(line)
    return kept


def _support(seen: np.ndarray, hole: np.ndarray, rgb: np.ndarray, line: Line) -> int:
    """The line's edge pixels seen within NEAR of the hole before and after the part of it the hole
    covers (the best such part), or 0 where either has less than SUPPORT, or where the room either side
    of the line differs from one side of the hole to the other (two lines that merely line up)."""
    ys, xs = line.points(hole.shape)
    corner = max(1, round(CORNER * max(hole.shape)))
    best = 0
    for start, end, before, after in _covered_parts(ys, xs, line, hole, SIDE_DEPTH):
        counts = seen[ys[before], xs[before]].sum(), seen[ys[after], xs[after]].sum()
        next_to_hole = (slice(max(0, start - corner), start), slice(end, end + corner))
        if (min(counts) >= SUPPORT * max(hole.shape) and _sides_agree(hole, rgb, line, ys, xs, before, after)
                and not any(_turns(seen, line, ys[part], xs[part]) for part in next_to_hole)):
            best = max(best, int(sum(counts)))
    return best


def _turns(seen: np.ndarray, line: Line, ys: np.ndarray, xs: np.ndarray) -> bool:
    """Whether an edge leaves the line at a corner at one of its pixels (ys, xs) (those next to the
    hole): a door's panels, their top edges level with each other either side of a head, end at their
    corners, and the rail between them goes on plain."""
    steps = np.arange(CORNER_GAP, max(CORNER_GAP + 2, round(CORNER * max(seen.shape))) + 1)
    for sign in (-1, 1):
        across = line.normal() * sign
        for y, x in zip(ys, xs):
            path = _shifted(y, x, (steps * across[0], steps * across[1]), seen.shape)
            if seen[path].mean() >= CORNER_EDGE:
                return True
    return False


def _covered_parts(ys: np.ndarray, xs: np.ndarray, line: Line, hole: np.ndarray, reach: int):
    """For each stretch of the line's pixels (ys, xs) that the hole covers (within `reach` pixels of it
    either side) and that the room shows on both ends of: its first pixel, the one past its last, and
    (before, after), bool over the pixels, those uncovered within NEAR of it on either end."""
    covered = np.zeros(len(ys), bool)
    for step in range(-reach, reach + 1):
        covered |= hole[_shifted(ys, xs, line.normal() * step, hole.shape)]
    along = ys if line.upright() else xs
    reach_along = NEAR * max(hole.shape)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], covered.astype(np.int8), [0]])))
    for start, end in zip(changes[::2], changes[1::2]):  # covered from start up to end
        if start == 0 or end == len(ys):
            continue  # the room shows on one end only
        before = (np.arange(len(ys)) < start) & (along >= along[start] - reach_along)
        after = (np.arange(len(ys)) >= end) & (along <= along[end - 1] + reach_along)
        yield start, end, before & ~covered, after & ~covered


def _sides_agree(hole: np.ndarray, rgb: np.ndarray, line: Line, ys: np.ndarray, xs: np.ndarray,
                 before: np.ndarray, after: np.ndarray) -> bool:
    """Whether the room just either side of the line looks the same before the hole as after it."""
    for sign in (-1, 1):  # the room just one side of the line, then the other
        sy, sx = _shifted(ys, xs, line.normal() * sign * SIDE_DEPTH, hole.shape)
        clear = ~hole[sy, sx]
        sides = [rgb[sy[part & clear], sx[part & clear], :3].astype(np.float32) for part in (before, after)]
        if min(len(colours) for colours in sides) == 0:
            return False
        if np.abs(np.median(sides[0], axis=0) - np.median(sides[1], axis=0)).max() > SIDES_AGREE:
            return False
    return True


def _shifted(ys, xs, step, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ys, xs) moved by `step` (dy, dx; each a number or one per pixel), rounded and kept inside `shape`."""
    return (np.clip(np.round(ys + step[0]).astype(np.int64), 0, shape[0] - 1),
            np.clip(np.round(xs + step[1]).astype(np.int64), 0, shape[1] - 1))


def along_lines_fill(rgb: np.ndarray, hole: np.ndarray, lines: RoomLines, fallback: np.ndarray) -> np.ndarray:
    """(H, W, 3) float32: `rgb` ((H, W, 3) uint8) with `hole` ((H, W) bool) filled around `lines` (found
    in it, or scaled to it): the upright lines drawn on through the hole with their own profiles, then the
    rest along rows turned to the level line, each between the room's (or a drawn line's) ends on its left
    and right, blurred along the rows and, away from the level line, across them. Turned rows that see
    no room keep `fallback` ((H, W, 3), the hole filled some other way)."""
    height, width = hole.shape
    side = max(width, height)
    start = np.where(hole[:, :, None], fallback, rgb[:, :, :3]).astype(np.float32)
    known = cv2.erode((~hole).astype(np.uint8), np.ones((2 * EDGE_SKIP + 1,) * 2, np.uint8)) > 0
    drawn = np.zeros((height, width), np.float32)
    for line in lines.upright:
        _draw_profile(rgb, hole, line, max(1, round(PROFILE * side)), start, known, drawn)
    angle = np.rad2deg(lines.level.theta) - 90.0 if lines.level else 0.0
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(turn[0, 0]), abs(turn[0, 1])
    size = (int(np.ceil(width * cos + height * sin)), int(np.ceil(width * sin + height * cos)))
    turn[0, 2] += (size[0] - width) / 2
    turn[1, 2] += (size[1] - height) / 2
    turned = cv2.warpAffine(start, turn, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    turned_known = cv2.warpAffine(known.astype(np.uint8) * 255, turn, size, flags=cv2.INTER_LINEAR) > 250
    filled = rows_filled(turned, turned_known, END_RUN)
    along = max(0.5, BLUR_ALONG * side)
    smooth = cv2.GaussianBlur(filled, (0, 0), along, sigmaY=max(0.5, BLUR_ACROSS * side))
    if lines.level is not None:
        sharp = cv2.GaussianBlur(filled, (0, 0), along, sigmaY=0.5)
        row = _turned_row(turn, lines.level, width)
        near = 1.0 - smoothstep(0.5 * LINE_BAND * side, LINE_BAND * side, np.abs(np.arange(size[1]) - row))
        smooth = sharp * near[:, None, None] + smooth * (1.0 - near[:, None, None])
    back = cv2.warpAffine(smooth, cv2.invertAffineTransform(turn), (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    # the drawn lines over the blur, which would spread them sideways
    drawn = cv2.GaussianBlur(drawn, (0, 0), 1.0)[:, :, None]
    back = back * (1.0 - drawn) + start * drawn
    return np.where(hole[:, :, None], back, rgb[:, :, :3].astype(np.float32))


def _draw_profile(rgb: np.ndarray, hole: np.ndarray, line: Line, reach: int, image: np.ndarray,
                  known: np.ndarray, drawn: np.ndarray) -> None:
    """Draw `line` on through each stretch of `hole` it passes behind, `reach` pixels either side of it,
    with the colours seen along it within NEAR of the stretch (the median where it shows, at each distance
    across it), marking what it drew as `known` (the rows start from it) and in `drawn`."""
    ys, xs = line.points(hole.shape)
    for start, end, before, after in _covered_parts(ys, xs, line, hole, reach):
        behind = np.zeros(len(ys), bool)
        behind[start:end] = True
        for offset in range(-reach, reach + 1):
            sy, sx = _shifted(ys, xs, line.normal() * offset, hole.shape)
            shows = ~hole[sy, sx] & (before | after)
            if not shows.any():
                continue
            colour = np.median(rgb[sy[shows], sx[shows], :3].astype(np.float32), axis=0)
            into = behind & hole[sy, sx]
            image[sy[into], sx[into]] = colour
            known[sy[into], sx[into]] = True
            drawn[sy[into], sx[into]] = 1.0


def _turned_row(turn: np.ndarray, line: Line, width: int) -> float:
    """The row of the turned image along which `line` runs."""
    x = width / 2
    y = (line.distance - x * np.cos(line.theta)) / np.sin(line.theta)
    return float(turn[1, 0] * x + turn[1, 1] * y + turn[1, 2])


def rows_filled(image: np.ndarray, known: np.ndarray, end_run: int = 1) -> np.ndarray:
    """(H, W, 3) `image` with each row's pixels that are not `known` ((H, W) bool) interpolated between
    the nearest known ones on either side, whose colours are first the median of `end_run` known pixels
    along their stretch of the row (not across a gap of unknown ones). Rows with no known pixel are left
    as they are."""
    filled = image.copy()
    columns = np.arange(image.shape[1])
    for row in range(image.shape[0]):
        seen = known[row]
        if not seen.any() or seen.all():
            continue
        at = columns[seen]
        ends = image[row, at]
        if end_run > 1:
            stretches = np.split(np.arange(at.size), np.flatnonzero(np.diff(at) > 1) + 1)
            ends = np.concatenate([median_filter(ends[part], size=(end_run, 1), mode="nearest") for part in stretches])
        for channel in range(3):
            filled[row, ~seen, channel] = np.interp(columns[~seen], at, ends[:, channel])
    return filled
