"""A handheld target clip's camera shake, taken out as its frames are stored: each is moved (a shift and a
turn) so its room lies where the first frame's does. The selection switches and cross-fades between
recorded frames; shaken, the room jumped at each switch and showed its edges twice through a fade, and
the median plate of the room came out blurred. The room is matched by ECC (OpenCV) with the person
masked out of it; a frame whose room does not match well enough, or moved further than shake goes (a
pan), is stored as it is.
"""
from __future__ import annotations

import cv2
import numpy as np

from nodes.track.segmentation import person_mask

MATCH_WIDTH = 320  # pixels: rooms are matched at this width
PERSON = 0.2  # a pixel this surely the person's is not room
PERSON_MARGIN = 0.02  # of the match width: the person's mask is grown by this (soft hair edges)
MATCHED = 0.9  # the rooms' correlation under which a frame is stored as it is
SHAKE = 0.05  # of the frame's width: a room moved further is a pan, and the frame is stored as it is
ECC_STEPS = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)


class Steadier:
    """Matches frames of one clip to its first: `moved(frame)` -> (2, 3) float64, the affine transform
    from the frame's pixels to the first frame's (identity where they are stored as they are)."""

    def __init__(self, first: np.ndarray):
        self._scale = min(1.0, MATCH_WIDTH / first.shape[1])
        self._first, self._first_room = self._room(first)

    def moved(self, frame: np.ndarray) -> np.ndarray:
        grey, room = self._room(frame)
        warp = np.eye(2, 3, dtype=np.float32)
        try:  # finds where in this frame each pixel of the first one is
            correlation, warp = cv2.findTransformECC(self._first, grey, warp, cv2.MOTION_EUCLIDEAN, ECC_STEPS,
                                                     room & self._first_room, 5)
        except cv2.error:  # did not converge: nothing to match (a blank room), or no room left to match
            return np.eye(2, 3)
        to_frame = warp.astype(np.float64)
        to_frame[:, 2] /= self._scale
        if correlation < MATCHED or np.abs(to_frame[:, 2]).max() > SHAKE * frame.shape[1]:
            return np.eye(2, 3)
        return cv2.invertAffineTransform(to_frame)

    def _room(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame in grey at the match width, and where it shows the room (uint8, 1)."""
        small = cv2.resize(frame, None, fx=self._scale, fy=self._scale, interpolation=cv2.INTER_AREA)
        person = (cv2.resize(person_mask(frame), small.shape[1::-1], interpolation=cv2.INTER_LINEAR) > PERSON)
        grow = max(1, round(PERSON_MARGIN * small.shape[1]))
        person = cv2.dilate(person.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (1 - person).astype(np.uint8)


def steadied(frame: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """(H, W, 3) the frame moved by `moved` (Steadier.moved); the edges it uncovers repeat the frame's own."""
    if np.array_equal(moved, np.eye(2, 3)):
        return frame
    return cv2.warpAffine(frame, moved, frame.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def moved_points(points: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """(N, C) points with x, y in their first two columns (the rest kept), moved by `moved`."""
    out = points.copy()
    out[:, :2] = points[:, :2] @ moved[:, :2].T + moved[:, 2]
    return out
