"""Competing load for `reenact bench --load N`: N busy processes, each spinning on one core, for as long
as the measurement runs, the way a video call or a second render competes with a live preview."""
from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator

# Each stops by itself: when its deadline passes, or when the bench that started it is gone (even if
# that was killed outright), so no spinning process outlives a measurement.
_SPIN = """
import os, sys, time
parent, end = int(sys.argv[1]), time.monotonic() + float(sys.argv[2])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(200000):
        pass
"""


@contextmanager
def competing_load(processes: int, longest_seconds: float = 900.0) -> Iterator[list[subprocess.Popen]]:
    spinners = [subprocess.Popen([sys.executable, "-c", _SPIN, str(os.getpid()), str(longest_seconds)],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for _ in range(processes)]
    try:
        yield spinners
    finally:
        for spinner in spinners:
            spinner.terminate()
        for spinner in spinners:
            try:
                spinner.wait(timeout=5)
            except subprocess.TimeoutExpired:
                spinner.kill()
                spinner.wait()
