"""A one-line progress display on stderr: a count, a rate and (when the total is known) the ETA."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws in place on a terminal; on a pipe or log file prints a plain line every few seconds."""

    def __init__(self, total: int | None, stream: TextIO | None = None, enabled: bool = True,
                 unit: str = "frames", rate_unit: str = "fps"):
        self.total, self.enabled = total, enabled
        self.unit, self.rate_unit = unit, rate_unit
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._shown = -1  # last frame count drawn

    def update(self, frame: int, fps: float, force: bool = False, note: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if frame == self._shown or (not force and now - self._last < (0.1 if self.tty else 5.0)):
            return
        self._last, self._shown = now, frame
        line = self._line(frame, fps) + (f"  {note}" if note else "")
        self.stream.write(("\r" if self.tty else "") + line + ("\x1b[K" if self.tty else "\n"))
        self.stream.flush()

    def _line(self, frame: int, fps: float) -> str:
        if self.total:
            width = 24
            done = int(width * min(frame, self.total) / self.total)
            eta = f"  ETA {_clock((self.total - frame) / fps)}" if fps > 0 and frame < self.total else ""
            return (f"[{'#' * done}{'.' * (width - done)}] {frame}/{self.total} {self.unit}  "
                    f"{fps:6.1f} {self.rate_unit}{eta}")
        return f"{frame} {self.unit}  {fps:6.1f} {self.rate_unit}"

    def finish(self, frame: int, fps: float) -> None:
        if frame == 0 and self._shown < 0:  # nothing ran: a "0 frames" line would only sit between the errors
            return
        self.update(frame, fps, force=True)
        if self.enabled and self.tty:
            self.stream.write("\n")


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
