"""Frames that carry their own capture times, placed on the slots of a file written at a constant rate.

A phone records at a varying rate (60 fps in good light, 15 in the dark), and a camera delivers what it
can. Written one frame per slot at the average rate, such a clip's motion sped up and slowed down, and its
sound drifted from the faces saying it. Here each frame fills the slots from its own time up to the next
frame's, as a player shows it: a frame held longer is written more than once, and of two frames nearer
each other than a slot, the later one is kept. A file at another rate than its source (a 30 fps clip
written at 24 or 60) so plays at the source's speed too.
"""
from __future__ import annotations

import math

# a camera's frame this much later than the one before: the graph was paused (a file's frame held that long
# is what it recorded: a screen recording's still stretch)
LIVE_GAP_S = 2.0


class FrameClock:
    """covered(time) -> how many slots the frame before this one fills, once this one's time is known;
    last() -> how many the final frame fills, for the shortest interval seen between frames (a frame held
    long before the end says nothing of the last one's own); a lone frame fills one.

    A frame without a time follows the one before by a slot. Time going backwards (a source started again
    under a running output), or jumping ahead by more than `max_gap` (None: no limit), starts the count
    afresh after the frames written: `jumped` says so, as the frames then no longer keep the source's time
    (nor its sound). `origin`: the first frame's time, where the file starts in the source."""

    def __init__(self, fps: float, max_gap: float | None = None):
        self.fps, self._max_gap = fps, max_gap
        self.origin: float | None = None
        self.jumped = False
        self._next = 0  # the first slot no frame has filled yet
        self._last: float | None = None  # the time of the frame held back, until the next one says where it ends
        self._interval: float | None = None  # the shortest seen

    def covered(self, time: float | None) -> int:
        if self._last is None:
            self.origin = self._last = time if time is not None else 0.0
            return 0
        if time is None:
            time = self._last + 1.0 / self.fps
        elif time < self._last or (self._max_gap is not None and time - self._last > self._max_gap):
            self.jumped = True
            self.origin = time - (self._next + 1) / self.fps  # the frame before keeps one slot
        elif time > self._last:
            self._interval = min(time - self._last, self._interval or math.inf)
        self._last = time
        return self._fill(self._slot(time))

    def last(self) -> int:
        if self._last is None:
            return 0
        return self._fill(self._slot(self._last + (self._interval or 1.0 / self.fps))) or int(self._next == 0)

    def _slot(self, time: float) -> int:
        return math.floor((time - self.origin) * self.fps + 0.5)  # the nearest; halves up, not to even

    def _fill(self, end: int) -> int:
        count = max(0, end - self._next)
        self._next += count
        return count
