"""Holding a live run to its source's own frame rate: a clip shown in a window or sent to a virtual camera
plays at the speed it was recorded at, not as fast as the machine renders (a 24 fps clip went out at 40-50)."""
from __future__ import annotations

import time
from typing import Callable


SLICE_S = 0.05  # a wait is slept in slices this long, so Ctrl-C ends it at once (a clip may say 0.5 fps)


class Pacer:
    """`wait()` before each frame after the first sleeps until that frame is due at `rate()` frames per
    second (None or 0 while no source has said: no wait), or until `stopping()` says so. A frame that
    comes due while the one before is still being made is not waited for, and the frames after it are
    timed from it: a live feed that fell behind goes on at its rate, it does not rush to catch up."""

    def __init__(self, rate: Callable[[], float | None], clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep):
        self._rate, self._clock, self._sleep = rate, clock, sleep
        self._due: float | None = None
        self.paced_at: float | None = None  # the last rate frames were held to
        # frames that came due while the one before was still being made, past the first two (which the
        # graph's start-up makes late)
        self.late = 0
        self._paced = 0  # frames paced so far

    def wait(self, stopping: Callable[[], bool] = lambda: False) -> None:
        rate = self._rate()
        now = self._clock()
        if not rate or rate <= 0:
            self._due = None
            return
        self.paced_at = rate
        self._paced += 1
        if self._due is None or now > self._due:
            self.late += self._due is not None and self._paced > 2
            self._due = now  # the first frame, or a late one: time the next ones from here
        else:
            while now < self._due and not stopping():
                self._sleep(min(SLICE_S, self._due - now))
                now = self._clock()
        self._due += 1.0 / rate
