"""The source body's shoulder line, and its motion relative to the source's neutral."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.body.types import TorsoPose
from nodes.track.body_types import LEFT_SHOULDER, NECK, RIGHT_SHOULDER, BodyTrack


@dataclass(frozen=True)
class ShoulderLine:
    """neck: (2,) base of the neck in pixels. width: shoulder to shoulder, pixels (never 0).
    angle: degrees of the line from the right shoulder to the left, y down (0 for a level, facing body)."""

    neck: np.ndarray
    width: float
    angle: float

    @staticmethod
    def of(track: BodyTrack) -> ShoulderLine:
        across = track.points[LEFT_SHOULDER].astype(np.float64) - track.points[RIGHT_SHOULDER]
        return ShoulderLine(track.points[NECK].astype(np.float64), max(float(np.linalg.norm(across)), 1e-6),
                            float(np.degrees(np.arctan2(across[1], across[0]))))

    @staticmethod
    def average(lines: list[ShoulderLine]) -> ShoulderLine:
        angles = np.radians([line.angle for line in lines])
        mean_angle = np.degrees(np.arctan2(np.sin(angles).mean(), np.cos(angles).mean()))  # no wrap-around
        return ShoulderLine(np.mean([line.neck for line in lines], axis=0),
                            float(np.mean([line.width for line in lines])), float(mean_angle))

    def relative_to(self, neutral: ShoulderLine) -> TorsoPose:
        """This line's roll, shift (in the neutral's shoulder widths) and scale against the neutral's."""
        roll = (self.angle - neutral.angle + 180.0) % 360.0 - 180.0
        return TorsoPose(roll, (self.neck - neutral.neck) / neutral.width, self.width / neutral.width)
