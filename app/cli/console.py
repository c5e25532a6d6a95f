"""Exit codes and messages shared by the `reenact` commands."""
from __future__ import annotations

import sys

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)


class Interrupted(KeyboardInterrupt):
    """A command stopped by Ctrl-C or SIGTERM before it was done: `reenact` says `message` and exits
    128 + the signal (130, 143), never 0, so a script does not take a cut-short result for a finished one."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.signum, self.message = signum, message
