"""The BodyTrack port type: the upper body's joints in one frame.

Coordinates: pixels of the image the track came from, x to the right, y down. "Left" and "right" are
the subject's own (MediaPipe's), so a person facing the camera has the left shoulder on the image's right.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.runtime.ports import PortType

BODY_POINTS = ("neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_hip", "right_hip")
NECK, LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_HIP, RIGHT_HIP = range(len(BODY_POINTS))
TORSO = (NECK, LEFT_SHOULDER, RIGHT_SHOULDER)  # the points torso transfer moves


@dataclass(frozen=True)
class BodyTrack:
    """One tracked upper body in one frame.

    points: (7, 2) float32 pixels in BODY_POINTS order; the neck is the base of the neck, the midpoint
        of the shoulders. A point the frame cuts off keeps the model's guess, with confidence 0.
    confidence: (7,) float32 0..1: the model's visibility, 0 outside the frame.
    valid: a person was found; when False the points are zeros (never NaN) and mean nothing.
    partial: a person was found but a shoulder is outside the frame or hidden (a close crop): its
        shoulders are guesses, so nothing should be measured from them.
    """

    points: np.ndarray
    confidence: np.ndarray
    valid: bool
    partial: bool
    image_size: tuple[int, int]  # (width, height) of the frame the points refer to
    timestamp: float = 0.0  # seconds, from the capture clock

    @property
    def shoulders_seen(self) -> bool:
        """Both shoulders are measured, so the shoulder line can drive something."""
        return self.valid and not self.partial

    @staticmethod
    def invalid(image_size: tuple[int, int], timestamp: float = 0.0) -> BodyTrack:
        return BodyTrack(np.zeros((len(BODY_POINTS), 2), np.float32), np.zeros(len(BODY_POINTS), np.float32),
                         False, False, image_size, timestamp)


def _summary(track: BodyTrack) -> str:
    if not track.valid:
        return "no body"
    left, right = track.points[LEFT_SHOULDER], track.points[RIGHT_SHOULDER]
    width = float(np.linalg.norm(left - right))
    state = "partial: a shoulder is cut off or hidden" if track.partial else "shoulders seen"
    return (f"body, {state}\nshoulders {width:.0f} px apart, neck at ({track.points[NECK][0]:.0f}, "
            f"{track.points[NECK][1]:.0f}) on {track.image_size[0]}x{track.image_size[1]}")


# a darker FaceTrack orange: the two tracks read as one family on the canvas
BODY_TRACK = PortType("BodyTrack", (BodyTrack,), (166, 106, 0), _summary)
