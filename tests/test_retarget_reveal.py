"""A portrait whose head is turned cannot show the side of the face it hides: turning it back toward
the camera is limited (reveal_limit), turning it further away is not."""
from __future__ import annotations

import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from nodes.track.face import face_track
from nodes.track.face_model import euler_angles, from_head_space, procrustes, reference_shape, rotation_from_euler
from nodes.track.types import HeadPose


def turned(yaw: float, timestamp: float = 0.0):
    pose = HeadPose(rotation_from_euler(yaw, 0.0, 0.0), np.array([200.0, 200.0, 0.0]), 80.0)
    return face_track(from_head_space(reference_shape(), pose), (400, 400), timestamp)


@pytest.mark.parametrize("driver_yaw, expected", [(-25.0, 35.0 - 12.0), (20.0, 35.0 + 20.0)])
def test_turning_a_turned_portrait_back_is_limited_and_further_is_not(studio_registry, driver_yaw, expected):
    schema = studio_registry.require("retarget.face").schema
    node = studio_registry.create("retarget.face", "r", {**schema.defaults(), "calibration_frames": 1})
    run = RunContext()
    node.open(run)
    target = turned(35.0)
    node.process(FrameContext(0, 0.0, run), source=turned(0.0, 0.0), target=target)
    motion = node.process(FrameContext(1, 0.1, run), source=turned(driver_yaw, 0.1), target=target)["motion"]
    yaw = euler_angles(procrustes(motion.landmarks, reference_shape()).rotation)[0]
    assert euler_angles(target.pose.rotation)[0] == pytest.approx(35.0, abs=0.5)
    assert yaw == pytest.approx(expected, abs=1.5)
