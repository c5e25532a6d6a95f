"""A driver lit by a tungsten bulb, a green tube or a blue screen gives the portrait the mouth a daylight-lit
driver gives it (nodes/render/light_balance.py): its teeth were orange, yellow-green or lavender, and the
renderer took them for lips. Its teeth are found in any light (nodes/render/teeth.py), and footage already
balanced is left as it is."""
from __future__ import annotations

import numpy as np
import pytest

from nodes.render.light_balance import light_balance
from nodes.render.teeth import jaw_split
from nodes.track.face import face_track
from tests.conftest import REPO
from tests.test_render import opened_mouth, region_mask, render_node_output

LIGHTS = {"tungsten": (1.0, 0.72, 0.42), "green tube": (0.85, 1.0, 0.8), "blue screen": (0.7, 0.85, 1.0)}
# teeth and skin colours measured on real footage in daylight: wolfgang_expressions.mp4 frame 300,
# single_face.mp4 frame 24 (a webcam's yellowish teeth)
DAYLIGHT_FACES = [((221.0, 204.0, 196.0), (192.0, 162.0, 153.0)), ((176.0, 143.0, 131.0), (193.0, 133.0, 118.0))]


@pytest.mark.parametrize("teeth, skin", DAYLIGHT_FACES)
def test_a_face_in_daylight_is_left_as_it_is(teeth, skin):
    assert light_balance(np.array(skin), np.array(teeth)) == pytest.approx(np.ones(3), abs=0.015)
    assert light_balance(np.array(skin)) == pytest.approx(np.ones(3))


@pytest.mark.parametrize("light", LIGHTS.values(), ids=LIGHTS.keys())
@pytest.mark.parametrize("teeth, skin", DAYLIGHT_FACES)
def test_a_lights_colour_is_taken_out_by_the_teeth(teeth, skin, light):
    """Once its teeth are seen, the balanced teeth have their daylight hue within 7% per channel: a webcam's
    teeth and skin read as daylight only within 5% per ratio, which is kept in daylight and taken out with
    an odd light's."""
    teeth, light = np.array(teeth), np.array(light)
    balanced = teeth * light * light_balance(np.array(skin) * light, teeth * light)
    assert balanced / balanced.mean() == pytest.approx(teeth / teeth.mean(), abs=0.07)


def test_before_the_teeth_are_seen_the_skin_takes_out_what_no_daylight_face_shows():
    """A tungsten-lit face's skin lies past any face's in daylight: that much is taken out, no more (its blue
    lifted against its red); a red-lit dark room's lost channels are lifted at most RESTORE_LIMIT times."""
    from nodes.render.light_balance import RESTORE_LIMIT

    tungsten = np.array(LIGHTS["tungsten"])
    gains = light_balance(np.array(DAYLIGHT_FACES[0][1]) * tungsten)
    assert 1.15 < gains[2] / gains[0] < 0.8 * tungsten[0] / tungsten[2]
    crushed = light_balance(np.array([48.0, 4.0, 0.0]))
    assert crushed.max() / crushed.min() == pytest.approx(RESTORE_LIMIT)


@pytest.fixture(scope="module")
def laughing(detector):
    """Frame 300 of wolfgang_expressions.mp4: her upper and lower teeth show."""
    import imageio.v3 as iio

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4", index=300))
    return frame, face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)


def _lit(frame: np.ndarray, light) -> np.ndarray:
    return np.clip(frame * np.array(light), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("light", LIGHTS.values(), ids=LIGHTS.keys())
def test_teeth_are_found_in_any_light(laughing, light):
    """They were told from the lips by being far greyer, which teeth under a tungsten bulb are not."""
    frame, track = laughing
    assert jaw_split(_lit(frame, light), track.landmarks, driver_light=np.ones(3)).upper_teeth


def test_a_drivers_teeth_are_read_through_its_lights_balance_as_in_daylight(detector, laughing):
    """Under a green tube with a hand at her lips (frames 170-179) her teeth were read only now and then, and
    the gap blinked between her teeth and a dark slot; read through the balance her teeth gave, they are read
    in each frame, as in daylight."""
    import imageio.v3 as iio

    from nodes.render.lip_colour import skin_colour

    green = LIGHTS["green tube"]
    frame, track = _lit(laughing[0], green), laughing[1]
    balance = light_balance(skin_colour(frame, track.landmarks),
                            jaw_split(frame, track.landmarks, np.ones(3)).teeth_colour)
    for index in range(170, 180):
        daylit = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4",
                                                 index=index))
        landmarks = face_track(detector.detect(daylit)[0], (daylit.shape[1], daylit.shape[0]), 0.0).landmarks
        assert jaw_split(daylit, landmarks, np.ones(3)).upper_teeth
        assert jaw_split(_lit(daylit, green), landmarks, balance).upper_teeth, index


def test_a_webcams_yellowish_teeth_are_found_in_a_driver_not_in_a_portrait(detector):
    """single_face.mp4 grins with its upper teeth showing, soft and yellowish. Driving, they were read as lip,
    and its whole mouth was laid over the portrait's own teeth. As a target video's frame they stay unread:
    its own teeth, kept, were stretched into a murky striped slab where the driver's grin showed white."""
    import imageio.v3 as iio

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=24))
    track = face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)
    assert jaw_split(frame, track.landmarks, driver_light=np.ones(3)).upper_teeth
    assert not jaw_split(frame, track.landmarks).upper_teeth


def test_a_drivers_teeth_read_in_one_frame_and_not_the_next_do_not_blink():
    """Under a green light with a hand at her lips her teeth were read in every other frame, and the gap
    blinked between her teeth and a dark slot: the share they take is eased, sooner as they show."""
    from nodes.render.mouth import DRIVER_TEETH_EASE, DriverMouth, SteadyDriverTeeth

    columns = np.zeros((11, 2, 2))
    steady, shown, hidden = SteadyDriverTeeth(), np.full(11, 0.6), np.zeros(11)
    held = [steady.steadied(DriverMouth(columns, (640, 360), share)).upper_teeth[5]
            for share in (hidden, shown, hidden, shown, hidden, shown, hidden, shown)]
    assert held[1] == pytest.approx(0.6 * DRIVER_TEETH_EASE[1])  # taken up soon
    assert max(abs(b - a) for a, b in zip(held[3:], held[4:])) < 0.6 * 0.5  # blinking at 0.6 before


@pytest.mark.gl
def test_an_oddly_lit_driver_gives_the_mouth_a_daylit_one_gives(studio_registry, detector, portraits, laughing):
    """Hopper's opened mouth filled from the laughing driver: under each light its colour is within 8 of
    255 per channel of what the daylit driver gives (the tungsten-lit one gave (159, 89, 60) against
    (129, 94, 81): orange teeth)."""
    portrait = portraits["hopper"]
    track = face_track(detector.detect(portrait)[0], (portrait.shape[1], portrait.shape[0]), 0.0)
    dst = opened_mouth(track.landmarks)
    centre = dst[[13, 14], :2].mean(axis=0)
    gap = region_mask(portrait.shape, centre + np.array([[-10, -4], [10, -4], [10, 4], [-10, 4]]))
    frame, frame_track = laughing

    def mouth(light) -> np.ndarray:
        out = render_node_output(studio_registry, portrait, track, dst, _lit(frame, light), frame_track)
        return out[gap].astype(float).mean(axis=0)

    daylit = mouth((1.0, 1.0, 1.0))
    for light in LIGHTS.values():
        assert np.abs(mouth(light) - daylit).max() < 8, light


def test_a_light_switched_while_the_mouth_is_shut_is_followed(detector, portraits, laughing):
    """Her teeth seen under a tungsten bulb, then the room back in daylight with her mouth shut: the balance
    comes back to daylight's as her skin does. Held as they were lit, the orange teeth over a skin in
    daylight had read as a light far bluer than daylight, and her mouth turned orange."""
    from app.runtime.gpu.image import Image
    from nodes.render.lip_colour import LipColourMatch

    frame, frame_track = laughing
    portrait = portraits["hopper"]
    track = face_track(detector.detect(portrait)[0], (portrait.shape[1], portrait.shape[0]), 0.0)
    match, image, tungsten = LipColourMatch(), Image(portrait), _lit(frame, LIGHTS["tungsten"])
    teeth = jaw_split(tungsten, frame_track.landmarks, driver_light=np.ones(3)).teeth_colour
    for _ in range(3):
        match.colour(image, track, Image(tungsten), frame_track, None, teeth)
    for _ in range(20):
        light = np.array(match.colour(image, track, Image(frame), frame_track, None, None).driver_light)
    assert light / light.mean() == pytest.approx(np.ones(3), abs=0.05)


def test_a_tint_far_from_any_teeths_is_held_to_teeths():
    from nodes.render.lip_colour import TEETH_TINT, teeth_tint

    assert teeth_tint(np.array([181.0, 148.0, 133.0])) == pytest.approx((1.17, 0.96, 0.86), abs=0.01)  # a webcam's
    lips = np.array(teeth_tint(np.array([127.0, 77.0, 70.0])))  # a mouth's lips read as teeth
    assert (lips.max() - lips.min()) / lips.max() == pytest.approx(TEETH_TINT)


@pytest.mark.gl
def test_a_webcams_yellowish_teeth_take_the_teeths_colour_not_the_lips(studio_registry, detector, portraits):
    """single_face.mp4's soft grin (frame 38) in Hopper's opened mouth: its teeth, told by greyness alone, took
    her lips' red gain, salmon where they were brightest ((217, 156, 141)); they are told by being as grey as
    its own teeth, and take the teeth's."""
    import imageio.v3 as iio

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=38))
    frame_track = face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)
    portrait = portraits["hopper"]
    track = face_track(detector.detect(portrait)[0], (portrait.shape[1], portrait.shape[0]), 0.0)
    dst = opened_mouth(track.landmarks)
    out = render_node_output(studio_registry, portrait, track, dst, frame, frame_track)
    centre = dst[[13, 14], :2].mean(axis=0)
    gap = out[region_mask(out.shape, centre + np.array([[-14, -6], [14, -6], [14, 6], [-14, 6]]))]
    luma = gap.astype(float) @ np.array([0.299, 0.587, 0.114])
    bright = gap[luma >= np.percentile(luma, 75)].astype(float).mean(axis=0)
    assert bright[0] - bright[1] < 50, bright  # 61 before


def test_teeth_of_a_colour_no_light_has_are_not_read_as_a_light():
    """Teeth painted blue (a helper's test: (104, 129, 234) over daylit skin) read as a light of 3.4 times the
    blue: the mouth turned murky olive, and the opposite cast lingered after the paint ended."""
    from nodes.render.light_balance import lit_teeth

    teeth, skin = (np.array(colour) for colour in DAYLIGHT_FACES[0])
    assert lit_teeth(skin, teeth)
    for light in LIGHTS.values():
        assert lit_teeth(skin * light, teeth * light)
    assert not lit_teeth(skin, np.array([104.0, 129.0, 234.0]))
