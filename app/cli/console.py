"""Exit codes and messages shared by the `reenact` commands."""
from __future__ import annotations

import sys

from app.runtime.signals import Interrupted  # noqa: F401 - the commands raise it from here

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays machine-readable)."""
    print(message, file=sys.stderr, flush=True)
