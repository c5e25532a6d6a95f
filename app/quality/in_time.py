"""Frames of two videos matched by time, not by count: an output written at another rate than its driver,
or from a variable-rate driver, repeats or leaves out driver frames (nodes/output/frame_clock.py), so
its n-th frame is not the driver's n-th.

The frame a video shows at a moment is its last frame that starts before the moment plus half a frame of
the video that asks (`half_frame`): the rule by which a video output places a frame on its slots.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterator

import numpy as np

from app.quality.sources import Video


def half_frame(video: Video) -> float:
    return 0.5 / video.fps if video.fps > 0 else 0.0


class Playhead:
    """Steps through a video's frames as the moments asked for move forward: at(moment) -> the frame shown
    then, None past the video's end. `read`: its frames read so far; drain() reads the rest and returns
    how many it has in all."""

    def __init__(self, video: Video):
        self._video = video
        self._frames: Iterator[tuple[float, np.ndarray]] = video.timed_frames()
        self._shown: np.ndarray | None = None
        self._next = next(self._frames, None)
        self.read = int(self._next is not None)

    def at(self, moment: float) -> np.ndarray | None:
        while self._next is not None and self._next[0] < moment:
            self._shown = self._next[1]
            self._next = next(self._frames, None)
            self.read += self._next is not None
        if self._next is None and self._video.end is not None and moment >= self._video.end:
            return None
        return self._shown

    def drain(self) -> int:
        self.read += sum(1 for _ in self._frames)
        return self.read


def shown_at(times: list[float], end: float, moment: float) -> int | None:
    """The index of the frame shown at `moment` among frames starting at `times` (sorted), the last ending
    at `end`; None before the first or from the end on."""
    index = bisect.bisect_left(times, moment) - 1
    return index if index >= 0 and moment < end else None
