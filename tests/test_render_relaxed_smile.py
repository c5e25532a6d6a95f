"""A grinning portrait relaxed by a driver who does not smile: its lips close over its own teeth
(retarget.face `portrait_smile=follow`), and an opening from there shows the driver's mouth under its
lips, not its teeth squeezed into the opening."""
from __future__ import annotations

import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from app.runtime.gpu.image import Image
from nodes.retarget.ranges import mouth_width, set_mouth_opening
from nodes.retarget.smile import relaxed
from nodes.retarget.types import Motion
from nodes.track.face_model import from_head_space, mouth_opening, reference_shape
from tests.test_render import (green_mouthed_driver, region_mask, smiling_driver,  # noqa: F401 (fixtures)
                               smiling_target)

pytestmark = pytest.mark.gl


def _render(studio_registry, image, track, motion: Motion, driver) -> np.ndarray:
    schema = studio_registry.require("render.portrait").schema
    node = studio_registry.create("render.portrait", "r", schema.defaults())
    run = RunContext()
    node.open(run)
    try:
        return node.process(FrameContext(0, 0.0, run), image=Image(image), track=track, motion=motion,
                            driver=Image(driver[0]), driver_track=driver[1])["image"].rgb().astype(float)
    finally:
        node.close()
        run.close()


def test_a_relaxed_grin_opened_to_speak_shows_the_drivers_mouth_under_its_lips_not_its_teeth_squeezed(
        studio_registry, smiling_target, green_mouthed_driver):  # noqa: F811 (the fixtures imported above)
    """smile_teeth.jpg relaxed, its lips closed, then opened 0.12 of its mouth's width (speech; her own
    teeth showed 0.23 of it). With its lips covering its teeth, the opening's middle is the driver's
    (green) mouth; squeezed in, as before, her teeth filled the whole opening, shortened, with no cavity."""
    image, track = smiling_target
    grin = reference_shape() + track.expression
    shape = relaxed(grin)[1]
    assert mouth_opening(shape) < 0.01
    set_mouth_opening(shape, shape.copy(), grin, 0.12)  # opened in the grin's profile
    dst = from_head_space(shape, track.pose)
    assert 0.1 < np.linalg.norm(dst[14, :2] - dst[13, :2]) / mouth_width(dst) < 0.14

    def opening_middle(out: np.ndarray) -> np.ndarray:
        middle = (dst[13, :2] + dst[14, :2]) / 2
        return out[region_mask(out.shape, middle + np.array([[-6, -1.5], [6, -1.5], [6, 1.5], [-6, 1.5]]))]

    covered = opening_middle(_render(studio_registry, image, track, Motion(dst, lips_cover=1.0),
                                     green_mouthed_driver))
    squeezed = opening_middle(_render(studio_registry, image, track, Motion(dst), green_mouthed_driver))
    assert (covered[:, 1] - covered[:, 0]).mean() > 80  # the driver's (green) mouth
    assert squeezed.mean() > 140 and np.ptp(squeezed.mean(axis=0)) < 40  # bright and nearly grey: her teeth
