"""Frames prepared and written to an encoder's stdin on a thread of their own.

ffmpeg reads a frame, then encodes it before reading the next: written on the graph's thread, each frame
waited for the encoder to take the one before it (2-3 ms a frame at 1280x720, a core left idle while it
did), after marking it (3 ms more). Here the graph's thread hands a frame over and goes on; at most one
frame waits between them, so the encoder never falls further behind than that.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable

_DONE = object()  # put after the last frame


class PipeWriter:
    """put(frame, copies) hands a frame over (waiting while the one before it is still queued), to be made
    into bytes once by `prepare(frame)` and written `copies` times on the writer's thread; finish() waits until every frame put has
    been written or writing has failed. `written` counts the frames wholly written; `failed` turns true at
    the first failed write (`error`: what it raised), after which frames are dropped: a writer that stopped
    would leave put() waiting for good."""

    def __init__(self, pipe, name: str, prepare: Callable[[Any], bytes]):
        self._pipe = pipe
        self._prepare = prepare
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self.written = 0
        self.error: Exception | None = None  # what the first failed write raised
        self.busy_seconds = 0.0  # making and writing frames, the encoder's taking them included: their cost
        self._abandoned = False
        self._thread = threading.Thread(target=self._write_all, name=name, daemon=True)
        self._thread.start()

    @property
    def failed(self) -> bool:
        return self.error is not None

    def put(self, frame: Any, copies: int = 1) -> None:
        self._queue.put((frame, copies))

    def finish(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()

    def abandon(self) -> None:
        """Stop without waiting (the encoder was killed): frames still queued are dropped."""
        self._abandoned = True

    def _write_all(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._abandoned:
                    return
                continue
            if item is _DONE:
                return
            frame, copies = item
            if self.failed or self._abandoned:
                continue  # keep taking frames, so put() never waits on a writer that has stopped
            started = time.perf_counter()
            try:
                whole = memoryview(self._prepare(frame))
                for _ in range(copies):
                    view = whole
                    while view:  # a signal may cut a write short
                        view = view[self._pipe.write(view):]
                    self.written += 1
            except Exception as exc:  # the encoder is gone, its pipe was closed under us, or a bad frame
                self.error = exc
            finally:
                self.busy_seconds += time.perf_counter() - started
