"""The mouth's interior takes the portrait's exposure and colour (nodes/render/lip_colour.py): a driver's
teeth in a photo at a tenth of the light do not glow, in a black and white photo they are grey, and a
driver in a dark room whose colours are crushed to red gives its mouth's brightness, not a black hole or
a red glow."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.render.lip_colour import FACE_WHITE, GAIN_LIMITS, LUMA, exposure_beyond_gains
from nodes.track.face import face_track
from tests.test_render import opened_mouth, region_mask, render_node_output

pytestmark = pytest.mark.gl


def test_an_exposure_the_gains_take_up_is_left_to_them():
    assert exposure_beyond_gains(FACE_WHITE) == 1.0
    assert exposure_beyond_gains(FACE_WHITE * GAIN_LIMITS[0]) == pytest.approx(1.0)
    assert exposure_beyond_gains(FACE_WHITE * GAIN_LIMITS[1] * 2) == pytest.approx(2.0)
    assert exposure_beyond_gains(FACE_WHITE * 0.1) == pytest.approx(0.1 / GAIN_LIMITS[0])


@pytest.fixture(scope="module")
def smiling(detector):
    """Frame 24 of single_face.mp4 (upper teeth showing), and Hopper with her mouth opened."""
    import imageio.v3 as iio

    from tests.conftest import REPO

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=24))
    return frame, face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)


def _gap(studio_registry, detector, portrait, driver, **params):
    """The opened mouth's gap as rendered: (N, 3) float pixels, and the portrait's own face white."""
    track = face_track(detector.detect(portrait)[0], (portrait.shape[1], portrait.shape[0]), 0.0)
    dst = opened_mouth(track.landmarks)
    out = render_node_output(studio_registry, portrait, track, dst, *driver, **params).astype(float)
    centre = dst[[13, 14], :2].mean(axis=0)
    gap = out[region_mask(out.shape, centre + np.array([[-10, -4], [10, -4], [10, 4], [-10, 4]]))]
    face = portrait[region_mask(portrait.shape, track.landmarks[:, :2])].astype(float) @ LUMA
    return gap, float(np.percentile(face, 98))


def test_teeth_in_a_dark_photo_are_as_dark_as_it(studio_registry, detector, portraits, smiling):
    """Hopper at an eighth of the light (the face's brightest 2% at 27 of 255): the driver's teeth came out
    at 147, brighter than anything in the photo; they now sit under its own white."""
    dark = (portraits["hopper"].astype(float) / 8).astype(np.uint8)
    gap, white = _gap(studio_registry, detector, dark, smiling)
    assert (gap @ LUMA).max() < 1.3 * white, ((gap @ LUMA).max(), white)
    lit, lit_white = _gap(studio_registry, detector, portraits["hopper"], smiling)
    assert (gap @ LUMA).mean() == pytest.approx((lit @ LUMA).mean() / 8, rel=0.35)  # what the lit photo shows
    drawn, _ = _gap(studio_registry, detector, dark, smiling, mouth_source="drawn")
    assert (drawn @ LUMA).max() < 1.3 * white  # the drawn cavity and teeth too (they were at 230)


def test_teeth_in_a_black_and_white_photo_are_grey(studio_registry, detector, portraits, smiling):
    grey = np.repeat((portraits["hopper"].astype(float) @ LUMA).round().astype(np.uint8)[:, :, None], 3, axis=2)
    gap, _ = _gap(studio_registry, detector, grey, smiling)
    assert (gap.max(axis=1) - gap.min(axis=1)).mean() < 4  # was yellow-green teeth and pink gums


def test_a_driver_in_a_dark_red_room_gives_its_mouths_brightness(studio_registry, detector, portraits, smiling):
    """The driver at a quarter of the light with its colour crushed to red (its skin (66, 5, 0)): the
    interior was a black hole; lifted as it was, a red glow. It is now the driver's mouth brightened to a
    well-lit face's, in the photo's own cast."""
    frame, frame_track = smiling
    crushed = frame.astype(float) / 4
    crushed[:, :, 1] *= 0.15
    crushed[:, :, 2] *= 0.02
    gap, white = _gap(studio_registry, detector, portraits["hopper"], (crushed.astype(np.uint8), frame_track))
    lit, _ = _gap(studio_registry, detector, portraits["hopper"], smiling)
    assert (gap @ LUMA).mean() > 0.5 * (lit @ LUMA).mean()
    assert (gap[:, 0] - gap[:, 2]).mean() < (lit[:, 0] - lit[:, 2]).mean() + 25  # no redder than the lit one


def test_a_light_switched_on_is_followed_at_once_not_after_a_glow(detector, portraits, smiling):
    """The driver's exposure is looked at every few frames; in between its cheeks' brightness carries it.
    Held and eased instead, a light switched on left the lift of the dark room in place: the mouth glowed
    white for ten frames, then jumped back."""
    from app.runtime.gpu.image import Image
    from nodes.render.lip_colour import LipColourMatch

    frame, frame_track = smiling
    portrait = portraits["hopper"]
    track = face_track(detector.detect(portrait)[0], (portrait.shape[1], portrait.shape[0]), 0.0)
    dark, lit = Image((frame.astype(float) * 0.22).astype(np.uint8)), Image(frame)
    match, image = LipColourMatch(), Image(portrait)
    lifts = [np.mean(match.colour(image, track, driver, frame_track, None, None).driver_light)
             for driver in (dark, dark, dark, lit, lit)]
    assert lifts[0] > 2.0  # the dark room's mouth lifted to a well-lit face's
    assert lifts[3] == pytest.approx(1.0, abs=0.05) and lifts[4] == pytest.approx(1.0, abs=0.05)
