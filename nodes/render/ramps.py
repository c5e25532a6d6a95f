"""The one easing ramp the render layers use to fade one motion or look into another."""
from __future__ import annotations

import numpy as np


def smoothstep(edge0: float, edge1: float, x):
    """0 below edge0, 1 above edge1, a smooth S between (for scalars and arrays alike)."""
    t = np.clip((np.asarray(x, np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
