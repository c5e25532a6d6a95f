"""Loose hair past the person's silhouette: the thin dark wisps that stand out of a head of hair against
the room. The segmentation leaves them out, so a plate kept them as part of the room, and when the head
moved they stayed behind as dark scratches on the wall (`three_quarter.jpg` driven down and to the side).
Found, the plate is filled under them from beside each (`plate._made`), so they move with the head."""
from __future__ import annotations

import cv2
import numpy as np

DARK_LINE_WIDTH = 0.012  # of the longest side: the widest wisp looked for (a black-hat's kernel)
REACH = 0.08  # of the longest side: how far past the hole a wisp may reach
# A wisp is darker than the room around it by more than the room's own texture: `FAINT` of the local
# median darkness (plus an offset) along its length, `CLEAR` somewhere; JPEG speckle on a plain backdrop
# (Hopper's) stays under it, a single hair on a plain wall (`three_quarter.jpg`) does not
FAINT, CLEAR = (1.5, 2.0, 4.0), (2.0, 3.0, 6.0)  # (times the local median, plus, at least), in grey levels
NOISE_WINDOW = 0.06  # of the longest side: the window of that local median (OpenCV's median takes 361 px
# at most: over 255 at 4250 px and up)
THIN = 2.5  # a wisp's area is at most this many pixels per pixel of its box's diagonal: speckle clumps are not
STRAIGHT = 0.06  # of the longest side: dark lines straight for this long are the room's (a board's edge)
HEAD_SHARE = 0.4  # of the hole's height from its top: loose hair stands out of the head; lower down, a dark
# edge beside the shoulders is the room's (the astronaut's shuttle stand, the flag's stripes)


def loose_hair(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W) bool: thin dark strokes outside `hole` ((H, W) uint8, 1 inside: the person and their fringe)
    that touch it beside the head, within REACH of it, neither straight for long nor clumped."""
    side = max(hole.shape)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[:, :, :3]), cv2.COLOR_RGB2GRAY)
    width = max(3, round(DARK_LINE_WIDTH * side) | 1)
    dark = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
    noise = cv2.medianBlur(dark, min(255, max(3, round(NOISE_WINDOW * side) | 1))).astype(np.float32)
    # a distance, not a dilation: an elliptical kernel of that reach took 3.5 s at 2048 px
    near = cv2.distanceTransform((hole == 0).astype(np.uint8), cv2.DIST_L2, 3) <= max(1, round(REACH * side))
    faint = near & (hole == 0) & (dark > np.maximum(FAINT[2], FAINT[0] * noise + FAINT[1]))
    strokes = _without_straight_lines(faint.astype(np.uint8), side)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes, connectivity=8)
    touching = np.unique(labels[(cv2.dilate(hole, np.ones((3, 3), np.uint8)) > 0) & (strokes > 0)])
    clear = np.unique(labels[(dark > np.maximum(CLEAR[2], CLEAR[0] * noise + CLEAR[1])) & (strokes > 0)])
    thin = stats[:, cv2.CC_STAT_AREA] <= THIN * np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    rows = np.flatnonzero(hole.any(axis=1))
    head = stats[:, cv2.CC_STAT_TOP] < (rows[0] + HEAD_SHARE * (rows[-1] - rows[0]) if len(rows) else 0)
    kept = np.zeros(count, bool)
    kept[np.intersect1d(touching, clear)] = True
    kept &= thin & head
    kept[0] = False  # the background label
    return kept[labels]


def _without_straight_lines(strokes: np.ndarray, side: int) -> np.ndarray:
    """`strokes` less the long straight dark lines through it: a picture rail's shadow, a board's edge."""
    length = max(2, round(STRAIGHT * side))
    lines = cv2.HoughLinesP(strokes, 1, np.pi / 180, threshold=max(2, round(2 * length / 3)), minLineLength=length,
                            maxLineGap=2)
    if lines is None:
        return strokes
    straight = np.zeros_like(strokes)
    for x0, y0, x1, y1 in lines.reshape(-1, 4):  # OpenCV 4 gives (N, 1, 4), OpenCV 5 (N, 4)
        cv2.line(straight, (int(x0), int(y0)), (int(x1), int(y1)), 1, 3)
    return strokes & (1 - straight)
