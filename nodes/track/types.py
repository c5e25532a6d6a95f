"""The FaceTrack port type and its representation.

Coordinates: pixels of the image the track came from, x to the right, y down, z toward the viewer
scaled like x. Head space is the canonical face model's frame (units of the neutral shape).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.runtime.ports import PortType

LANDMARKS = 478  # MediaPipe face mesh with refined iris points


@dataclass(frozen=True)
class HeadPose:
    """landmarks ≈ scale · R · (neutral + expression) + t, per point (Procrustes against the neutral)."""

    rotation: np.ndarray  # (3, 3) float64, a proper rotation
    translation: np.ndarray  # (3,) float64, pixels
    scale: float  # pixels per neutral-shape unit

    @staticmethod
    def identity() -> HeadPose:
        return HeadPose(np.eye(3), np.zeros(3), 1.0)


@dataclass(frozen=True)
class FaceTrack:
    """One tracked face in one frame. When `valid` is False the arrays hold the last shape or
    zeros, never NaN, and consumers must not use them as a measurement."""

    landmarks: np.ndarray  # (478, 3) float32, pixels
    pose: HeadPose
    expression: np.ndarray  # (478, 3) float32, head space: the residual after removing the pose
    gaze: np.ndarray  # (2, 2) float32: per eye (left, right) the iris offset (x, y) in eye widths
    confidence: float  # 0..1
    valid: bool
    image_size: tuple[int, int]  # (width, height) of the frame the landmarks refer to
    timestamp: float = 0.0  # seconds, from the capture clock
    # per region (mouth, right eye, left eye, brows): the share a hand covers; covered regions are held
    occlusion: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))

    @staticmethod
    def invalid(image_size: tuple[int, int], timestamp: float = 0.0) -> FaceTrack:
        zeros = np.zeros((LANDMARKS, 3), np.float32)
        return FaceTrack(zeros, HeadPose.identity(), zeros, np.zeros((2, 2), np.float32), 0.0, False,
                         image_size, timestamp)


def _summary(track: FaceTrack) -> str:
    if not track.valid:
        return "no face"
    from nodes.track.face_model import euler_angles

    yaw, pitch, roll = euler_angles(track.pose.rotation)
    return (f"face, confidence {track.confidence:.2f}\nyaw {yaw:+.1f}  pitch {pitch:+.1f}  roll {roll:+.1f} deg\n"
            f"{len(track.landmarks)} landmarks on {track.image_size[0]}x{track.image_size[1]}")


FACE_TRACK = PortType("FaceTrack", (FaceTrack,), (230, 159, 0), _summary)


def in_frames(count: int) -> str:
    """Where a tracker found nothing, for a notice or an error: a photo is tracked once."""
    return "in the one frame it saw" if count == 1 else f"in any of the {count} frames"
