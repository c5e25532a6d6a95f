"""A slow model pass run beside the graph: started on one frame, its result taken on the next.

A pose or hand model that runs every few frames costs 10-25 ms on those frames, on the thread that runs
the graph: the frame rate stutters and its 95th percentile doubles. MediaPipe releases the GIL while it
computes, so the pass can run on a worker thread while the rest of the frame (rendering, encoding) runs
on the other cores. The result is always taken on the frame after the one it was started on, waiting
for it if need be: what a frame sees never depends on timing, so an offline render comes out the same
on every run and every machine; the price is one frame of delay.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

NOTHING = object()  # take()'s answer when no pass was started


class PassCalendar:
    """The frames on which a run's nodes may start a pass beside the graph, by the schedules they declare.
    Two passes started on one frame compete for the cores with each other and with the frame: the face's
    hand look (every 4th frame) and the body's pose pass (every 3rd) met on every 12th frame, and moving
    the pose pass a frame off those made the default chain's frames 3% quicker on this 2-core CPU (p95 6%).
    A pass that can wait a frame asks `others_start` before it starts."""

    def __init__(self) -> None:
        self._schedules: dict[str, Callable[[int], bool]] = {}

    def declare(self, name: str, starts_on: Callable[[int], bool]) -> None:
        """starts_on(frame index): whether `name` may start a pass on that frame."""
        self._schedules[name] = starts_on

    def withdraw(self, name: str) -> None:
        self._schedules.pop(name, None)

    def others_start(self, name: str, index: int) -> bool:
        return any(starts_on(index) for other, starts_on in self._schedules.items() if other != name)


class LatePass:
    """One pass in flight at most, always on the same worker thread (a model object is used by one
    thread at a time, and always the same one)."""

    def __init__(self, name: str):
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: Future | None = None
        self.busy_seconds = 0.0  # the passes' time on the worker: a cost no frame's own timing shows

    def start(self, work: Callable[..., Any], *args: Any) -> None:
        """Run work(*args) on the worker. A pass still pending is waited for first: its result is dropped,
        its error raised."""
        self.take()
        self._pending = self._worker.submit(self._timed, work, *args)

    def _timed(self, work: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return work(*args)
        finally:
            self.busy_seconds += time.perf_counter() - started

    def take(self) -> Any:
        """The pending pass's result (waiting for it; its exception, if it raised one), or NOTHING."""
        pending, self._pending = self._pending, None
        return NOTHING if pending is None else pending.result()

    def now(self, work: Callable[..., Any], *args: Any) -> Any:
        """Run work(*args) on the worker and wait for it: a pass whose result this frame needs."""
        self.start(work, *args)
        return self.take()

    def discard(self) -> None:
        """Wait for the pending pass, if any, and drop its result or error: its settings or its frame are
        gone, and a model must not be closed or changed under it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.exception()

    def close(self) -> None:
        self.discard()
        self._worker.shutdown(wait=True)
