"""Temporal coherence for frame selection: a choice that does not flicker."""
from __future__ import annotations

import numpy as np


class StickyChoice:
    """Each frame, the cheapest of N options, except that the current one is kept

    - unless another is cheaper by more than `switch_cost` (hysteresis: near ties never swap), and
    - for at least `hold` frames after a switch (a bound: a query that alternates between two far-apart
      poses every frame, which no switching cost absorbs, switches at most once every hold + 1 frames).

    current: the option chosen last (None before the first update); switched: whether the last update
    changed it from another option.
    """

    def __init__(self) -> None:
        self.current: int | None = None
        self.switched = False
        self._since_switch = 0

    def update(self, costs: np.ndarray, switch_cost: float, hold: int) -> int:
        """costs: (N,) of the N options this frame. Returns the chosen option's position."""
        best = int(np.argmin(costs))
        first = self.current is None
        if first or (self._since_switch >= hold and costs[best] + switch_cost < costs[self.current]):
            self.switched = not first
            self.current, self._since_switch = best, 0
        else:
            self.switched = False
            self._since_switch += 1
        return self.current
