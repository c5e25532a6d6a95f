"""Rolling timing windows: per-node milliseconds and frame rate, cheap to record every frame."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class TimingStats:
    mean_ms: float
    p50_ms: float
    p95_ms: float
    samples: int


class TimingWindow:
    """The last `size` durations in seconds."""

    __slots__ = ("_samples",)

    def __init__(self, size: int):
        self._samples: deque[float] = deque(maxlen=size)

    def add(self, seconds: float) -> None:
        self._samples.append(seconds)

    def clear(self) -> None:
        self._samples.clear()

    def stats(self, last: int | None = None) -> TimingStats:
        """Over every sample in the window, or only its newest `last`."""
        skip = 0 if last is None else max(0, len(self._samples) - last)
        values = sorted(list(self._samples)[skip:])
        if not values:
            return TimingStats(0.0, 0.0, 0.0, 0)
        pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000.0  # noqa: E731
        return TimingStats(sum(values) / len(values) * 1000.0, pick(0.5), pick(0.95), len(values))
