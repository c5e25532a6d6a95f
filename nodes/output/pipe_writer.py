"""Frames written to an encoder's stdin from a thread of their own.

ffmpeg reads a frame, then encodes it before reading the next: written on the graph's thread, each frame
waited for the encoder to take the one before it (2-3 ms a frame at 1280x720, a core left idle while it
did). Here the graph's thread hands a frame over and goes on; at most one frame waits between them, so
the encoder never falls further behind than that.
"""
from __future__ import annotations

import queue
import threading

_DONE = None  # put after the last frame


class PipeWriter:
    """put(frame bytes) hands a frame over (waiting while the one before it is still queued); finish()
    waits until every frame put has been written or writing has failed. `written` counts the frames
    wholly written; `failed` turns true at the first failed write, after which frames are dropped."""

    def __init__(self, pipe, name: str):
        self._pipe = pipe
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self.written = 0
        self.failed = False
        self._abandoned = False
        self._thread = threading.Thread(target=self._write_all, name=name, daemon=True)
        self._thread.start()

    def put(self, data: bytes) -> None:
        self._queue.put(data)

    def finish(self) -> None:
        self._queue.put(_DONE)
        self._thread.join()

    def abandon(self) -> None:
        """Stop without waiting (the encoder was killed): frames still queued are dropped."""
        self._abandoned = True

    def _write_all(self) -> None:
        while True:
            try:
                data = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._abandoned:
                    return
                continue
            if data is _DONE:
                return
            if self.failed or self._abandoned:
                continue  # keep taking frames, so put() never waits on a writer that has stopped
            view = memoryview(data)
            try:
                while view:  # a signal may cut a write short
                    view = view[self._pipe.write(view):]
            except (OSError, ValueError):  # the encoder is gone, or its pipe was closed under us
                self.failed = True
                continue
            self.written += 1
