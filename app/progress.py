"""A one-line progress display on stderr: frames, fps and (when known) the total."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws in place on a terminal; on a pipe or log file prints a plain line every few seconds."""

    def __init__(self, total: int | None, stream: TextIO | None = None, enabled: bool = True):
        self.total, self.enabled = total, enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._shown = -1  # last frame count drawn

    def update(self, frame: int, fps: float, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if frame == self._shown or (not force and now - self._last < (0.1 if self.tty else 5.0)):
            return
        self._last, self._shown = now, frame
        self.stream.write(("\r" if self.tty else "") + self._line(frame, fps) + ("" if self.tty else "\n"))
        self.stream.flush()

    def _line(self, frame: int, fps: float) -> str:
        if self.total:
            width = 24
            done = int(width * min(frame, self.total) / self.total)
            return f"[{'#' * done}{'.' * (width - done)}] {frame}/{self.total} frames  {fps:6.1f} fps"
        return f"{frame} frames  {fps:6.1f} fps"

    def finish(self, frame: int, fps: float) -> None:
        self.update(frame, fps, force=True)
        if self.enabled and self.tty:
            self.stream.write("\n")
