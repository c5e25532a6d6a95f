"""Ctrl-C (SIGINT) and SIGTERM as a request to stop at the next safe point (after the frame or training
step in progress), so the work done so far is finalized; a second signal interrupts at once."""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator


class StopRequest:
    """The first SIGINT or SIGTERM received (0: none yet)."""

    signum = 0


class Interrupted(KeyboardInterrupt):
    """Work stopped by Ctrl-C or SIGTERM before it was done: `reenact` says `message` and exits
    128 + the signal (130, 143), never 0, so a script does not take a cut-short result for a finished one."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum, self.message = signum, message


@contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """While inside, the first SIGINT or SIGTERM only sets `signum` for the work to stop at its next safe
    point; a second raises KeyboardInterrupt where the program is. Off the main thread (where handlers
    cannot be installed) signals keep their usual effect."""
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def on_signal(signum, frame) -> None:
        if stop.signum:
            raise KeyboardInterrupt
        stop.signum = signum

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
