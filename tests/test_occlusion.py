"""A hand over the mouth must not drive the target: on real footage (a woman covering her face while
crying, tests/data/real/ORIGIN.md), the tracker marks the mouth as covered and holds its expression."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from app.runtime.gpu.image import Image
from nodes.track.face_model import mouth_opening, reference_shape
from nodes.track.occlusion import COVERED
from tests.conftest import REPO

CLIP = REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4"
FRAMES = range(56, 100)  # the hand comes up over the closed mouth at about frame 64


@pytest.fixture(scope="module")
def frames():
    return {i: np.ascontiguousarray(iio.imread(CLIP, index=i)) for i in FRAMES}


def tracked(studio_registry, frames, hands: bool):
    schema = studio_registry.require("track.face").schema
    node = studio_registry.create("track.face", "t", {**schema.defaults(), "hands": hands, "hands_every": 1})
    run = RunContext()
    node.open(run)
    try:
        return [node.process(FrameContext(k, i / 23.98, run), image=Image(frames[i], i / 23.98))["track"]
                for k, i in enumerate(FRAMES)]
    finally:
        node.close()


def test_a_hand_over_the_mouth_holds_the_mouth_instead_of_opening_it(studio_registry, frames):
    with_hands, without = tracked(studio_registry, frames, True), tracked(studio_registry, frames, False)
    covered = [k for k, t in enumerate(with_hands) if t.occlusion[0] >= COVERED]
    assert len(covered) >= 10 and all(t.valid for t in with_hands)
    opening = lambda t: mouth_opening(reference_shape() + t.expression)  # noqa: E731
    before = opening(with_hands[0])
    assert max(abs(opening(with_hands[k]) - before) for k in covered) < 0.02  # held
    assert max(opening(without[k]) for k in covered) > 0.1  # what the mesh guesses under the hand
    assert np.all(without[0].occlusion == 0)


def test_the_budget_lowering_max_faces_keeps_the_hands_detector_and_the_hold(studio_registry, frames):
    schema = studio_registry.require("track.face").schema
    node = studio_registry.create("track.face", "t", {**schema.defaults(), "hands_every": 1})
    run = RunContext()
    node.open(run)

    def step(k: int):
        return node.process(FrameContext(k, k / 23.98, run), image=Image(frames[FRAMES[k]], k / 23.98))["track"]

    try:
        for k in range(20):  # the hand is up over the mouth from about the 8th
            covered = step(k).occlusion[0]
        hands, detector = node._hands, node._detector
        node.params.max_faces = 1
        node.params_changed({"max_faces"})
        after = step(20)
        assert covered >= COVERED and after.occlusion[0] >= COVERED and after.valid
        assert node._hands is hands and node._detector is not detector  # only the face mesh is made anew
    finally:
        node.close()
