"""The BodyMotion port type: where the target's torso goes, in the portrait's pixels."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from app.runtime.ports import PortType


class BodyDriver(Enum):
    """What moves the target's torso this frame."""

    BODY = "body"  # the source's own shoulders
    HEAD = "head"  # a damped share of the source head's motion, plus breathing: the source body is not seen
    REST = "rest"  # nothing: the portrait's own torso, breathing


@dataclass(frozen=True)
class TorsoPose:
    """A similarity about the neck base, in units of the body it moves:
    p' = neck + shift · width + scale · R(roll) · (p − neck), width the shoulder width in pixels."""

    roll: float = 0.0  # degrees in the image plane; positive turns clockwise on screen (y down), as a head's roll
    shift: np.ndarray = field(default_factory=lambda: np.zeros(2))  # (2,) neck base movement, shoulder widths
    scale: float = 1.0  # shoulder width ratio

    def moved(self, torso: np.ndarray) -> np.ndarray:
        """(3, 2) float32 torso points (neck base, left shoulder, right shoulder) in pixels, moved."""
        neck = torso[0]
        width = np.linalg.norm(torso[1] - torso[2])
        angle = np.radians(self.roll)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return (neck + self.shift * width + self.scale * (torso - neck) @ rotation.T).astype(np.float32)

    def combined(self, other: TorsoPose) -> TorsoPose:
        """Both motions at once (small ones: rolls and shifts add, scales multiply)."""
        return TorsoPose(self.roll + other.roll, self.shift + other.shift, self.scale * other.scale)

    def blend(self, other: TorsoPose, t: float) -> TorsoPose:
        """t = 0 gives self, 1 gives other."""
        return TorsoPose((1 - t) * self.roll + t * other.roll, (1 - t) * self.shift + t * other.shift,
                         float(self.scale ** (1 - t) * other.scale ** t))

    def limited(self, roll_limit: float, shift_limit: float, scale_limit: float) -> TorsoPose:
        """Roll within ±roll_limit degrees, shift no longer than shift_limit widths, scale within
        [1 / (1 + scale_limit), 1 + scale_limit]."""
        length = float(np.linalg.norm(self.shift))
        shift = self.shift * (shift_limit / length) if length > shift_limit else self.shift
        return TorsoPose(float(np.clip(self.roll, -roll_limit, roll_limit)), shift,
                         float(np.clip(self.scale, 1.0 / (1.0 + scale_limit), 1.0 + scale_limit)))


@dataclass(frozen=True)
class BodyMotion:
    """How to pose the target's torso.

    src: (3, 2) float32 the portrait's own neck base, left and right shoulder (TORSO order), its pixels.
    dst: (3, 2) float32 where they go: pose.moved(src).
    pose: the motion itself, for a renderer that moves more than these three points.
    driver: what moved it this frame.
    valid: False when the portrait shows no shoulders to move: the renderer leaves its torso as it is.
    """

    src: np.ndarray
    dst: np.ndarray
    pose: TorsoPose
    driver: BodyDriver
    valid: bool
    timestamp: float = 0.0
    image_size: tuple[int, int] | None = None  # (width, height) of the portrait


def _summary(motion: BodyMotion) -> str:
    if not motion.valid:
        return "no torso to move (the target shows no shoulders, or they are cut off)"
    pose = motion.pose
    return (f"torso driven by {motion.driver.value}\nroll {pose.roll:+.1f} deg  shift ({pose.shift[0]:+.2f}, "
            f"{pose.shift[1]:+.2f}) widths  scale {pose.scale:.2f}")


# a darker Motion purple: body and face motion read as one family on the canvas
BODY_MOTION = PortType("BodyMotion", (BodyMotion,), (150, 80, 125), _summary)
