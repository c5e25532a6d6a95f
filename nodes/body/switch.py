"""Easing between what drives the torso, so it does not jump when the source's body enters or leaves
the frame, or when everything is lost and the torso goes back to rest."""
from __future__ import annotations

import math

from nodes.body.types import BodyDriver, TorsoPose


class DriverSwitch:
    """update(driver, goal, now, ease_seconds) -> the pose to show: the goal, or on its way there from
    where the torso was when the driver last changed (smoothstep over ease_seconds of timestamps)."""

    def __init__(self) -> None:
        self.driver: BodyDriver | None = None  # None until the first frame
        self._current = self._start = TorsoPose()
        self._since = 0.0

    def update(self, driver: BodyDriver, goal: TorsoPose, now: float, ease_seconds: float) -> TorsoPose:
        if self.driver is None:  # the first driver needs no easing in
            self.driver, self._since = driver, -math.inf
        elif driver is not self.driver or now < self._since:  # a looping video starts its clock again
            self.driver, self._start, self._since = driver, self._current, now
        t = min(1.0, (now - self._since) / ease_seconds) if ease_seconds > 0 else 1.0
        self._current = self._start.blend(goal, t * t * (3.0 - 2.0 * t))
        return self._current
