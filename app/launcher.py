"""The `reenact` console script. Ctrl-C is caught from the first moment: the command's modules (NumPy,
MediaPipe, PyTorch, ...) take a few tenths of a second to import, and a Ctrl-C then must end quietly,
not with a traceback. Nothing is written before a command starts, so there is nothing to finalize."""
from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130  # the shell's convention for Ctrl-C (app.cli.console says the same)
BLAS_ENV = "OPENBLAS_NUM_THREADS"


def main() -> int:
    # NumPy's BLAS pool, one thread (app.runtime.threads): the per-frame NumPy work is small matrices, where the
    # pool's threads, spinning after each call, took 3 ms a frame from the software rasterizer's. Read once,
    # when NumPy is first imported: set before it is.
    os.environ.setdefault(BLAS_ENV, "1")
    try:
        from app.cli import main as reenact

        return reenact()
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
