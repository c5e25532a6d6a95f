"""Holding a live run to its source's own frame rate: a clip shown in a window or sent to a virtual camera
plays at the speed it was recorded at, not as fast as the machine renders (a 24 fps clip went out at 40-50)."""
from __future__ import annotations

import time
from collections import deque
from typing import Callable


SLICE_S = 0.05  # a wait is slept in slices this long, so Ctrl-C ends it at once (a clip may say 0.5 fps)
LONGEST_FRAME_S = 10.0  # a frame duration past this is a broken timestamp, not a held frame: the rate times it
STARTING_FRAMES = 2  # a graph's first frames are slow (models, a portrait's plate): their time is not the clip's
# EvenSpacing: a frame is shown no sooner than this share of the recent interval after the one before. Beside
# a busy process a pipelined run's frames came long and short by turns (p95 1.59-1.71x the mean); held so,
# 1.33-1.34x, for up to 1.5% fewer frames and 1-2 ms more latency
EVEN_SHARE = 0.9
# the recent interval is the mean of this many less their EVEN_TRIM longest and shortest: a stall (the
# machine swapping, a paused process) is one long interval, which a moving average carried into hundreds of
# frames held as long (a 3 s stall: 150 frames took 24 s, not 8)
EVEN_WINDOW, EVEN_TRIM = 9, 2


def held_for(shown_for: float | None) -> float | None:
    """A source's frame duration (`SourceClock.frame_duration`) where it is one: positive, and no longer
    than LONGEST_FRAME_S (past that, a broken timestamp)."""
    return shown_for if shown_for is not None and 0.0 < shown_for <= LONGEST_FRAME_S else None


class Pacer:
    """`wait()` before each frame after the first sleeps until that frame is due at `rate()` frames per
    second (None or 0 while no source has said: no wait), or until `stopping()` says so. A frame that
    comes due while the one before is still being made is not waited for.

    A recording keeps its own time (`pass_over()` gives how to pass over its next frames: a clip's): a graph
    slower than the clip passes over the frames it has no time for, a whole frame's time late at a time, and
    the frames after a late one come due on the clip's own schedule, sooner, until it has caught up. A
    camera's frames are its newest anyway (None), and a clip may show every frame (its pass_over passes
    none): the frames after a late one are timed from it, and do not rush to catch up.

    `duration()`, where a clip says how long its last frame is shown (a phone's variable-rate clip holds
    some frames twice as long), times each next frame from it, not from the clip's average rate: a frame
    held in the recording is held as long live."""

    def __init__(self, rate: Callable[[], float | None], clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep,
                 pass_over: Callable[[], Callable[[int], int] | None] = lambda: None,
                 duration: Callable[[], float | None] = lambda: None):
        self._rate, self._clock, self._sleep, self._pass_over = rate, clock, sleep, pass_over
        self._duration = duration
        self._due: float | None = None  # when the frame before was due: this one is due its duration later
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
        if self._due is not None:  # the frame before lasts as long as the clip shows it (read by now)
            self._due += held_for(self._duration()) or 1.0 / rate
        if self._due is None or now > self._due:
            running = self._due is not None and self._paced > STARTING_FRAMES
            self.late += running
            pass_over = self._pass_over() if running else None
            behind = int((now - self._due) * rate) if pass_over is not None else 0  # whole frames' time
            if pass_over is None or (behind and not pass_over(behind)):
                self._due = now  # the first frame, a late one of a camera: time the next ones from here
            else:
                self._due += behind / rate
        else:
            while now < self._due and not stopping():
                self._sleep(min(SLICE_S, self._due - now))
                now = self._clock()


class ClipClock:
    """A recording played live at its own speed a frame at a time, by a loop that times its frames itself
    (the editor's, under its frame cap): before each frame, the frames its clock has gone past are passed
    over (`SourceClock.pass_over`). The clock starts at the frame about to be shown on the first frame
    after `stop()` (a pause, a step, a seek), while the graph starts, and at each frame of a recording that
    shows every one (or a camera: no pass_over). A recording that says when its frames are shown (`due`)
    keeps that time, not its average rate's: played by its rate, a variable-rate clip's stretch of long
    frames read as falling behind, and frames were passed over; where that time goes back (a looping clip
    starts again), the clock starts again."""

    def __init__(self) -> None:
        self._zero: float | None = None  # when the recording's time 0 would have been shown
        self._due = 0.0  # the last `due`

    def stop(self) -> None:
        self._zero = None

    def keep(self, now: float, rate: float | None, position: int, frames_run: int,
             pass_over: Callable[[int], int] | None, due: float | None = None) -> None:
        """position: the recording's frame read next (frames run and passed over); frames_run: the graph's;
        due: seconds into the recording its frame read next is shown at, where it says (else position / rate)."""
        if not rate or pass_over is None:
            self._zero = None
            return
        due = position / rate if due is None else due
        going_on, self._due = due >= self._due, due
        if self._zero is not None and frames_run > STARTING_FRAMES and going_on:
            behind = int((now - self._zero - due) * rate)  # whole frames' time
            if behind <= 0 or pass_over(behind):
                return
        self._zero = now - due


class EvenSpacing:
    """Frames shown as they are done, but evenly: `show(done)`, for a frame done at `done` (on `clock`),
    sleeps until EVEN_SHARE of the recent interval between frames (`_recent`) has passed since the one
    before was shown, and returns when this one is. A frame done late is shown at
    once; only quick ones wait, and none until EVEN_WINDOW intervals are known (a graph's first frames are
    slow)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._shown: float | None = None
        self._intervals: deque[float] = deque(maxlen=EVEN_WINDOW)  # between the last frames shown

    def show(self, done: float) -> float:
        shown = done
        if self._shown is not None:
            if len(self._intervals) == EVEN_WINDOW:
                due = self._shown + EVEN_SHARE * self._recent()
                if done < due:
                    self._sleep(due - done)
                    shown = self._clock()
            self._intervals.append(shown - self._shown)
        self._shown = shown
        return shown

    def _recent(self) -> float:
        kept = sorted(self._intervals)[EVEN_TRIM:-EVEN_TRIM]
        return sum(kept) / len(kept)


def playback_rate(max_fps: float, source_rate: float | None) -> float:
    """The editor's frame cap `max_fps`, or a clip's own frame rate where that is lower (a 24 fps clip
    played 25% fast under the 30 fps cap); 0 (max_fps unlimited): as fast as the graph runs."""
    return min(max_fps, source_rate) if max_fps > 0 and source_rate else max_fps


def frame_interval(max_fps: float, source_rate: float | None, shown_for: float | None) -> float:
    """Seconds from one frame to the next under `playback_rate` (0: none); where the clip's own rate is
    what holds playback, as long as the clip shows the frame just shown (`shown_for`: a variable-rate
    clip holds some frames longer than others), though never shorter than max_fps allows."""
    cap = playback_rate(max_fps, source_rate)
    if cap <= 0:
        return 0.0
    held = held_for(shown_for)
    if source_rate and source_rate <= max_fps and held:
        return max(held, 1.0 / max_fps)
    return 1.0 / cap
