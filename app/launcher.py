"""The `reenact` console script. Ctrl-C is caught from the first moment: the command's modules (NumPy,
MediaPipe, PyTorch, ...) take a few tenths of a second to import, and a Ctrl-C then must end quietly,
not with a traceback. Nothing is written before a command starts, so there is nothing to finalize."""
from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C (app.cli.console says the same)


def main() -> int:
    try:
        from app.cli import main as reenact

        return reenact()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
