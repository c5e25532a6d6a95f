"""Torso motion when the source's body is not seen (a close webcam crop): a damped share of the head's
motion, as Talking Head Anime does, plus breathing, so the torso is neither nailed down nor invented."""
from __future__ import annotations

import numpy as np

from nodes.body.types import TorsoPose
from nodes.track.face_model import euler_angles
from nodes.track.types import FaceTrack, HeadPose

# Shoulder width in units of the face model's neutral shape (HeadPose.scale pixels each), measured with
# the trackers: astronaut.png 5.6, grace_hopper.jpg 5.3, single_face.mp4 5.0. Converts a head's movement
# into the shoulder widths a torso moves in.
SHOULDER_WIDTH_IN_FACE_UNITS = 5.3


def head_follow(face: FaceTrack, neutral: HeadPose, share: float) -> TorsoPose:
    """The torso takes `share` of the head's roll and of its movement in the image plane, both relative
    to the head's neutral pose; roll turns about the neck base."""
    roll = euler_angles(face.pose.rotation @ neutral.rotation.T)[2]
    moved = (face.pose.translation[:2] - neutral.translation[:2]) / neutral.scale / SHOULDER_WIDTH_IN_FACE_UNITS
    return TorsoPose(share * roll, share * moved, 1.0)


def breathing(elapsed: float, amplitude: float, period: float) -> TorsoPose:
    """Shoulders rising by up to `amplitude` shoulder widths and settling once per `period` seconds,
    starting at rest (elapsed 0) so switching it on does not jump."""
    rise = amplitude * 0.5 * (1.0 - np.cos(2.0 * np.pi * elapsed / period))
    return TorsoPose(shift=np.array([0.0, -rise]))  # y points down
