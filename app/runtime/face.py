"""Representations of the FaceTrack, Motion and BodyTrack ports.

Coordinates: pixels of the image the track came from, x to the right, y down, z toward the viewer
scaled like x. Head space is the canonical face model's frame (units of the neutral shape).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

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

    @staticmethod
    def invalid(image_size: tuple[int, int], timestamp: float = 0.0) -> FaceTrack:
        zeros = np.zeros((LANDMARKS, 3), np.float32)
        return FaceTrack(zeros, HeadPose.identity(), zeros, np.zeros((2, 2), np.float32), 0.0, False,
                         image_size, timestamp)


@dataclass(frozen=True)
class Motion:
    """How to pose the target: where each target landmark goes, in target pixels.

    landmarks: (478, 3) float32 target-image pixels after retargeting (the render's mesh vertices).
    head: (2, 3) float32 affine that moves the head region in the image (for the coarse mesh).
    torso: (2,) float32 pixel offset of the shoulders.
    mouth_open: how far the mouth opens beyond the target image's own mouth, in target pixels.
    """

    landmarks: np.ndarray
    head: np.ndarray = field(default_factory=lambda: np.array([[1, 0, 0], [0, 1, 0]], np.float32))
    torso: np.ndarray = field(default_factory=lambda: np.zeros(2, np.float32))
    mouth_open: float = 0.0
    valid: bool = True


@dataclass(frozen=True)
class BodyTrack:
    """Upper-body points in pixels: left/right shoulder and the neck base; `valid` as in FaceTrack."""

    shoulders: np.ndarray  # (2, 2) float32
    neck: np.ndarray  # (2,) float32
    valid: bool
    image_size: tuple[int, int]
