"""Numbers as the reports carry them: plain floats, and None where there is no value (JSON has no NaN)."""
from __future__ import annotations

import math
from collections.abc import Iterable


def finite_or_none(value: float) -> float | None:
    """A plain float, or None for NaN and infinities."""
    value = float(value)
    return value if math.isfinite(value) else None


def mean_or_none(values: Iterable[float]) -> float | None:
    """The mean of the values, or None when there are none."""
    values = list(values)
    return finite_or_none(sum(values) / len(values)) if values else None
