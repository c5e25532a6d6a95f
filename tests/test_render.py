"""Renderer oracles on a headless GL context: identity, an independent CPU warp, mouth and gaze."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.draw import polygon

from app.runtime.context import FrameContext, RunContext
from nodes.retarget.types import Motion
from app.runtime.gpu.image import Image
from nodes.render.cpu_warp import cpu_warp
from nodes.track.face_model import MESH_POINTS, topology
from nodes.render.renderer import PortraitRenderer
from nodes.render.mouth import LOWER_INNER, UPPER_INNER
from nodes.render.warp_mesh import MeshBuilder
from nodes.track.face import face_track

pytestmark = pytest.mark.gl


@pytest.fixture(scope="module")
def hopper(detector, portraits):
    image = portraits["hopper"]
    return image, face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)


def render(gpu, image, src, dst, gaze_px=None, samples=0):
    mesh = MeshBuilder(src, (image.shape[1], image.shape[0]), 32).build(dst, gaze_px)
    renderer = PortraitRenderer(gpu, samples)
    try:
        return renderer.render(Image(image), mesh, (image.shape[1], image.shape[0]),
                               (0.2, 0.05, 0.05), (0.9, 0.9, 0.85)).rgb()
    finally:
        renderer.release()


def psnr(a, b, mask=None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    mse = diff[mask].mean() if mask is not None else diff.mean()
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-12))


def region_mask(shape, points, grow: float = 1.0) -> np.ndarray:
    centre = points.mean(axis=0)
    grown = centre + (points - centre) * grow
    mask = np.zeros(shape[:2], bool)
    rr, cc = polygon(grown[:, 1], grown[:, 0], shape[:2])
    mask[rr, cc] = True
    return mask


LOWER_INNER_LIP = [95, 88, 178, 87, 14, 317, 402, 318, 324]


def opened_mouth(landmarks: np.ndarray, drop: float = 18.0) -> np.ndarray:
    """The lower lip and the jaw below it dropped by `drop` pixels: the mouth opens."""
    dst = landmarks.copy()
    centre = (dst[13, :2] + dst[14, :2]) / 2
    reach = 0.6 * np.ptp(dst[:MESH_POINTS, 0])
    jaw = {i for i in range(MESH_POINTS) if dst[i, 1] > centre[1] and abs(dst[i, 0] - centre[0]) < reach}
    dst[sorted((jaw | set(LOWER_INNER_LIP)) - set(UPPER_INNER)), 1] += drop
    return dst


def test_identity_motion_reproduces_the_portrait(gpu, hopper):
    image, track = hopper
    out = render(gpu, image, track.landmarks, track.landmarks, samples=4)
    away_from_mouth = ~region_mask(image.shape, track.landmarks[topology().mouth, :2], grow=1.6)
    assert psnr(out, image, away_from_mouth) >= 35.0


def test_mesh_warp_matches_scikit_image_piecewise_affine(gpu, hopper):
    """A smooth, non-rigid displacement of the face mesh, warped by GL and by scikit-image from the same
    control points, agrees inside the face."""
    image, track = hopper
    src = track.landmarks.copy()
    centre = src[:MESH_POINTS, :2].mean(axis=0)
    dst = src.copy()
    dst[:, 0] += 6.0 * np.sin((src[:, 1] - centre[1]) / 45.0)
    dst[:, 1] += 4.0 + 0.05 * (src[:, 0] - centre[0])
    gl = render(gpu, image, src, dst)
    cpu = cpu_warp(image, src, dst)
    inside = region_mask(image.shape, dst[topology().outline, :2], grow=0.85)
    inside &= ~region_mask(image.shape, dst[topology().mouth, :2], grow=1.5)
    for eye in (topology().right_eye, topology().left_eye):  # eyes are fans in GL, Delaunay in skimage
        inside &= ~region_mask(image.shape, dst[eye, :2], grow=1.5)
    assert inside.sum() > 20000
    assert psnr(gl, cpu, inside) >= 30.0
    assert psnr(gl, image, inside) < psnr(gl, cpu, inside) - 8.0  # it really moved


def test_open_mouth_draws_an_interior_not_stretched_lips(gpu, hopper):
    image, track = hopper
    dst = opened_mouth(track.landmarks)
    out = render(gpu, image, track.landmarks, dst)
    gap = region_mask(image.shape, dst[[13, 14], :2].mean(axis=0) + np.array([[-8, -3], [8, -3], [8, 3], [-8, 3]]))
    assert out[gap].mean() < 110  # dark cavity
    lips = out[region_mask(image.shape, dst[topology().mouth, :2], grow=1.0)]
    assert lips.std(axis=0).mean() > 5  # teeth band and cavity, not one smeared colour


def test_the_portraits_own_pixels_come_first_in_the_mesh_for_the_skin_program(hopper):
    """Skin is drawn by a variant of warp.frag that knows no mouth or eye (llvmpipe runs every branch of a
    shader): the mesh's first `textured` vertices must be skin and none after them."""
    from nodes.render.warp_mesh import LAYER_TEXTURED

    image, track = hopper
    mesh = MeshBuilder(track.landmarks, (image.shape[1], image.shape[0]), 32).build(opened_mouth(track.landmarks))
    codes = np.floor(mesh.vertices[:, 7])
    assert 0 < mesh.textured < len(codes)
    assert (codes[:mesh.textured] == LAYER_TEXTURED).all() and (codes[mesh.textured:] != LAYER_TEXTURED).all()


def test_every_layer_reads_back_as_its_own_code_however_wide_the_eyes_open(hopper):
    """warp.frag reads a vertex's layer code as floor(layer + 1e-3), the fraction after it as the layer's
    weight. An eye opened as wide as it goes (eyeball weight 1) was stored as code + 0.999, which float32
    reads back as the next code: that eye drew no eyeball exactly while it opened widest (wolfgang driving
    smile_teeth.jpg: frames 159-164 of one wide-eyed stare turned back to a dark smear and then returned)."""
    from nodes.render.warp_mesh import LAYER_EYE, LAYER_MOUTH_DRAWN, LAYER_TEXTURED

    image, track = hopper
    dst = opened_mouth(track.landmarks, drop=40.0)
    for loop in (topology().right_eye, topology().left_eye):  # each eye opened to 2.5 times its height
        middle = dst[loop, 1].mean()
        dst[loop, 1] = middle + (dst[loop, 1] - middle) * 2.5
    layers = MeshBuilder(track.landmarks, (image.shape[1], image.shape[0]), 32).build(dst).vertices[:, 7]
    codes = np.floor(layers + np.float32(1e-3))
    assert set(np.unique(codes)) == {LAYER_TEXTURED, LAYER_MOUTH_DRAWN, LAYER_EYE, LAYER_EYE + 2}
    eyes = codes >= LAYER_EYE
    assert (layers[eyes] - codes[eyes] > 0.95).all()  # the whole eyeball


@pytest.mark.parametrize("portrait", ["hopper", "three_quarter"])
def test_lips_posed_a_pixel_apart_keep_the_portraits_own_seam_not_stitches(studio_registry, detector, portraits,
                                                                            portrait):
    """A closed mouth posed less than a pixel more open than the portrait's (wolfgang driving
    three_quarter.jpg with her lips together: 0.8 px where his photo has 0.6) drew the gap between the
    lips from the mouth's source; less than a pixel high, it landed on every other pixel and the lips'
    seam read as a row of stitches. Pixels along the lips more than 40 levels off the portrait at rest:
    7 (Hopper) and 10 (three-quarter) before, none now."""
    from nodes.capture.image import read_image_file
    from tests.conftest import REPO

    image = (portraits["hopper"] if portrait == "hopper" else
             read_image_file(REPO / "tests" / "data" / "real" / "three_quarter.jpg", 2048)[0][:, :, :3])
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    dst = track.landmarks.copy()
    dst[LOWER_INNER, 1] += 0.5
    rest, posed = (render_node_output(studio_registry, image, track, pose).astype(float)
                   for pose in (track.landmarks, dst))
    lips = region_mask(image.shape, track.landmarks[topology().mouth, :2], grow=1.1)
    assert (np.abs(posed - rest).max(axis=2)[lips] > 40).sum() == 0


def test_gaze_moves_the_iris(gpu, hopper):
    image, track = hopper
    eye = region_mask(image.shape, track.landmarks[topology().right_eye, :2])
    ys, xs = np.nonzero(eye)

    def iris_x(shift: float) -> float:
        out = render(gpu, image, track.landmarks, track.landmarks, gaze_px=np.array([[shift, 0.0], [shift, 0.0]]))
        brightness = out[ys, xs].mean(axis=1)
        darkest = brightness <= np.percentile(brightness, 25)
        return xs[darkest].mean()

    left, still, right = iris_x(-6.0), iris_x(0.0), iris_x(6.0)
    assert left < still - 1.0 and right > still + 1.0


def test_render_node_output_size_and_errors(studio_registry, hopper):
    image, track = hopper
    node = studio_registry.create("render.portrait", "r", {**studio_registry.require("render.portrait").schema.defaults(),
                                                           "size": 257})
    run = RunContext()
    node.open(run)
    try:
        out = node.process(FrameContext(0, 0.0, run), image=Image(image), track=track,
                           motion=Motion(track.landmarks))["image"]
        assert (out.width, out.height) == (219, 257)
        with pytest.raises(Exception, match="no face found in the target"):
            node.process(FrameContext(1, 0.0, run), image=Image(image), track=track.invalid((512, 600)),
                         motion=Motion(track.landmarks))
    finally:
        node.close()
        run.close()


def test_more_multisampling_than_the_gl_offers_renders_with_what_it_offers_and_says_so(studio_registry, hopper, gpu):
    image, track = hopper
    node = studio_registry.create("render.portrait", "r", {**studio_registry.require("render.portrait").schema.defaults(),
                                                           "antialias": "8x", "size": 128})
    run = RunContext()
    node.open(run)
    try:
        out = node.process(FrameContext(0, 0.0, run), image=Image(image), track=track, motion=Motion(track.landmarks))
        assert out["image"].rgb().mean() > 10  # a frame, not a failure
    finally:
        node.close()
        run.close()
    offered = gpu.ctx.max_samples
    assert any(f"8x multisampling is more than this GL offers: {offered}x" in n for n in run.notices) == (offered < 8)


def test_overlay_draws_the_landmarks(studio_registry, hopper):
    image, track = hopper
    schema = studio_registry.require("render.overlay").schema
    node = studio_registry.create("render.overlay", "o", {**schema.defaults(), "color": [0.0, 1.0, 0.0, 1.0],
                                                          "radius": 0, "mesh": True})
    out = node.process(FrameContext(0, 0.0, RunContext()), image=Image(image), track=track)["image"].numpy()
    x, y = np.round(track.landmarks[1, :2]).astype(int)
    assert tuple(out[y, x]) == (0, 255, 0)
    assert (out != image).any(axis=2).sum() > 2000  # points and mesh edges
    assert node.process(FrameContext(1, 0.0, RunContext()), image=Image(image),
                        track=track.invalid((512, 600)))["image"].numpy() is not None


@pytest.fixture(scope="module")
def smiling_driver(detector):
    """Frame 24 of the real clip: a smile with the upper teeth showing (see tests/data/real/ORIGIN.md)."""
    import imageio.v3 as iio

    from tests.conftest import REPO

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "single_face.mp4", index=24))
    return frame, face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)


def render_node_output(studio_registry, image, track, dst, driver=None, driver_track=None, **params) -> np.ndarray:
    schema = studio_registry.require("render.portrait").schema
    node = studio_registry.create("render.portrait", "r", {**schema.defaults(), **params})
    run = RunContext()
    node.open(run)
    try:
        return node.process(FrameContext(0, 0.0, run), image=Image(image), track=track, motion=Motion(dst),
                            driver=None if driver is None else Image(driver), driver_track=driver_track)["image"].rgb()
    finally:
        node.close()
        run.close()


@pytest.fixture(scope="module")
def green_mouthed_driver(smiling_driver):
    """The real smiling frame with its inner mouth painted green, so the output shows where it is used."""
    frame, frame_track = smiling_driver
    frame = frame.copy()
    inner = np.concatenate([frame_track.landmarks[UPPER_INNER, :2], frame_track.landmarks[LOWER_INNER[::-1], :2]])
    frame[region_mask(frame.shape, inner)] = (0, 255, 0)
    return frame, frame_track


def test_the_gap_of_an_opened_mouth_comes_from_the_drivers_own_mouth(studio_registry, hopper, green_mouthed_driver):
    """With `mouth_source=driver` the driver's (green) mouth shows between the portrait's jaws; with
    `drawn` it does not."""
    image, track = hopper
    frame, frame_track = green_mouthed_driver
    dst = opened_mouth(track.landmarks)
    gap = region_mask(image.shape, dst[[13, 14], :2].mean(axis=0) + np.array([[-8, -3], [8, -3], [8, 3], [-8, 3]]))
    green = lambda out: ((out[gap, 1] > 120) & (out[gap, 0] < 90) & (out[gap, 2] < 90)).mean()  # noqa: E731
    assert green(render_node_output(studio_registry, image, track, dst, frame, frame_track)) > 0.6
    assert green(render_node_output(studio_registry, image, track, dst, frame, frame_track, mouth_source="drawn")) == 0


def test_a_portrait_smiling_with_teeth_keeps_them_when_its_mouth_opens(studio_registry, portraits, detector,
                                                                      green_mouthed_driver):
    """The astronaut smiles with her upper teeth showing: opened wider, the band under her upper lip is
    still her own white teeth, the driver's (green) mouth fills the gap below them."""
    image = portraits["astronaut"]
    track = face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)
    dst = opened_mouth(track.landmarks, drop=0.5 * np.ptp(track.landmarks[[61, 291], 0]))
    out = render_node_output(studio_registry, image, track, dst, *green_mouthed_driver)
    teeth_height = np.linalg.norm(track.landmarks[14, :2] - track.landmarks[13, :2]) / 2

    def patch(pixels, centre) -> np.ndarray:
        return pixels[region_mask(pixels.shape, centre + np.array([[-8, -1.5], [8, -1.5], [8, 1.5], [-8, 1.5]]))]

    down = (dst[14, :2] - dst[13, :2]) / np.linalg.norm(dst[14, :2] - dst[13, :2])
    own = patch(image, track.landmarks[13, :2] + 0.3 * teeth_height * down).astype(float)
    kept = patch(out, dst[13, :2] + 0.3 * teeth_height * down).astype(float)
    gap = patch(out, (dst[13, :2] + dst[14, :2]) / 2).astype(float)
    assert own.mean() > 150 and kept.mean() > 0.85 * own.mean()  # her own bright teeth, where they were
    assert (kept[:, 1] - kept[:, 0]).mean() < 30  # not green
    assert (gap[:, 1] - gap[:, 0]).mean() > 80  # the driver's mouth below them


def _painted_mouth(rows: list[tuple[float, tuple[int, int, int]]]) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic face: skin, lips and a straight mouth interior 40 px high (y 200..240), painted in
    horizontal bands [(share of the interior where the band ends, colour), ...]; and its landmarks."""
    from nodes.retarget.ranges import LOWER_LIP_RINGS, UPPER_LIP_RINGS

    image = np.full((400, 400, 3), (205, 160, 140), np.uint8)
    image[180:200, 100:300] = image[240:262, 100:300] = (170, 80, 90)  # the lips
    top = 0.0
    for end, colour in rows:
        image[200 + round(40 * top):200 + round(40 * end), 100:300] = colour
        top = end
    landmarks = np.zeros((478, 3), np.float32)
    xs = np.linspace(110, 290, 11)
    for rings, ys in ((UPPER_LIP_RINGS, (200, 193, 187, 180)), (LOWER_LIP_RINGS, (240, 247, 254, 262))):
        for ring, y in zip(rings, ys):
            landmarks[ring, 0], landmarks[ring, 1] = xs, y
    return image, landmarks


TEETH, CAVITY, LIP = (235, 232, 222), (40, 12, 16), (170, 80, 90)


@pytest.mark.parametrize("rows, upper, lower, teeth", [
    ([(0.1, LIP), (0.5, TEETH), (0.8, CAVITY), (0.9, TEETH), (1.0, LIP)], 0.5, 0.8, (True, True)),
    ([(0.1, LIP), (0.85, TEETH), (1.0, LIP)], 0.85, 0.85, (True, False)),  # a smile showing its upper teeth
    ([(0.15, LIP), (0.75, CAVITY), (1.0, LIP)], 0.15, 0.75, (False, False)),  # parted lips, no teeth
], ids=["both-rows", "upper-teeth", "no-teeth"])
def test_the_jaw_split_is_read_where_the_teeth_end(rows, upper, lower, teeth):
    """An oracle on a painted mouth: the upper jaw keeps the interior down to the end of its teeth, the
    lower jaw from the start of its own (or of the lower lip), whatever lies between them is the cavity."""
    from nodes.render.teeth import jaw_split

    image, landmarks = _painted_mouth(rows)
    split = jaw_split(image, landmarks)
    assert split.upper == pytest.approx(np.full(11, upper), abs=0.06)
    assert split.lower == pytest.approx(np.full(11, lower), abs=0.06)
    assert (split.upper_teeth, split.lower_teeth) == teeth
    if any(teeth):  # their lit colour, for colour-matching a driver's teeth to them
        assert split.teeth_colour == pytest.approx(TEETH, abs=2.0)
    else:
        assert split.teeth_colour is None


def test_the_drivers_teeth_take_the_portraits_teeth_colour_and_keep_it_while_hidden():
    """A driver's yellowish teeth (200, 190, 150) in a portrait whose teeth are white (230, 220, 200): gained
    per channel to the portrait's, not by the lips' gain, whose tint is the lips' colour. While the
    driver's mouth is shut its last teeth colour is held, and a new reading moves it only part of the way,
    so the teeth do not flicker as the mouth moves; a portrait showing no teeth of its own gives its lips'
    gain without their tint, in the photo's colour cast where that is known."""
    from nodes.render.lip_colour import TEETH_EASE, LipColourMatch, teeth_gain

    portrait, driver, lips = np.array([230.0, 220.0, 200.0]), np.array([200.0, 190.0, 150.0]), (1.2, 0.8, 0.9)
    match = LipColourMatch()
    assert match.held_teeth(None) is None  # none seen yet
    assert teeth_gain(portrait, None, lips) == pytest.approx((0.9667,) * 3, abs=1e-3)
    assert teeth_gain(portrait, match.held_teeth(driver), lips) == pytest.approx(portrait / driver)
    assert match.held_teeth(None) == pytest.approx(driver)  # hidden: held
    brighter = driver * 1.1
    assert match.held_teeth(brighter) == pytest.approx(driver + TEETH_EASE * (brighter - driver))
    assert teeth_gain(None, driver, lips) == pytest.approx((0.9667,) * 3, abs=1e-3)
    cast = np.array([1.1, 0.97, 0.9])  # a warm photo's: its teeth, unseen, take it
    assert teeth_gain(None, driver, lips, cast) == pytest.approx(0.9667 * cast, abs=1e-3)


@pytest.mark.parametrize("name", ["astronaut.png", "smile_teeth.jpg"])
def test_a_photos_colour_cast_on_its_skin_gives_its_teeths_hue(detector, name):
    """For a portrait that shows no teeth, the driver's teeth take the photo's colour cast as its cheeks
    show it against the driver's (half of it, as the lips' hue). On the two portraits here that show their
    teeth, that predicts their own teeth's hue against the driver's (wolfgang, frame 330, grinning) within
    0.04 per channel (astronaut 0.007, smile_teeth 0.04); no cast at all is off by up to 0.07."""
    import imageio.v3 as iio

    from nodes.capture.image import read_image_file
    from nodes.render.lip_colour import _half_cast, skin_colour
    from nodes.render.mouth import DriverMouth
    from nodes.render.teeth import jaw_split
    from tests.conftest import REPO

    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4", index=330))
    driver = detector.detect(frame)[0]
    path = REPO / ("assets/portraits" if name == "astronaut.png" else "tests/data/real") / name
    image = read_image_file(path, 2048)[0][:, :, :3]
    portrait = detector.detect(image)[0]
    own_teeth = jaw_split(image, portrait).teeth_colour
    driver_teeth = DriverMouth.of(driver, (frame.shape[1], frame.shape[0]), frame).teeth_colour
    hue = (own_teeth / own_teeth.mean()) / (driver_teeth / driver_teeth.mean())
    cast = _half_cast(skin_colour(image, portrait) / skin_colour(frame, driver))
    assert np.abs(hue - cast).max() < 0.045, (hue, cast)


@pytest.fixture(scope="module")
def smiling_target(detector):
    from nodes.capture.image import read_image_file
    from tests.conftest import REPO

    image = read_image_file(REPO / "tests" / "data" / "real" / "smile_teeth.jpg", 2048)[0][:, :, :3]
    return image, face_track(detector.detect(image)[0], (image.shape[1], image.shape[0]), 0.0)


def test_a_real_smile_shows_upper_teeth_only_and_a_shut_mouth_is_not_read(smiling_target, hopper):
    from nodes.render.teeth import HALVES, jaw_split

    image, track = smiling_target
    split = jaw_split(image, track.landmarks)
    assert (split.upper_teeth, split.lower_teeth) == (True, False)
    assert split.upper[4:7].min() > 0.7  # her upper teeth reach nearly to her lower lip
    assert jaw_split(hopper[0], hopper[1].landmarks) is HALVES  # lips shut: nothing to read


def test_a_smiling_targets_upper_teeth_ride_whole_with_the_upper_lip(studio_registry, smiling_target,
                                                                     green_mouthed_driver):
    """tests/data/real/smile_teeth.jpg shows her upper teeth down to her lower lip. Opened wide: three
    quarters of her own interior's height below the upper lip is still her teeth (a half and half split
    carried their lower half down with the jaw, where it read as a swollen lower lip); below them the
    driver's (green) mouth, and just above the lower lip her upper teeth mirrored as her lower teeth, in
    their shadow (there the driver's mouth was, a dark hole under her teeth where a driver shows none)."""
    image, track = smiling_target
    dst = opened_mouth(track.landmarks, drop=0.45 * np.ptp(track.landmarks[[61, 291], 0]))
    out = render_node_output(studio_registry, image, track, dst, *green_mouthed_driver)
    own = np.linalg.norm(track.landmarks[14, :2] - track.landmarks[13, :2])
    opened = np.linalg.norm(dst[14, :2] - dst[13, :2])
    down = (dst[14, :2] - dst[13, :2]) / opened

    def patch(centre) -> np.ndarray:
        return out[region_mask(out.shape, centre + np.array([[-8, -1.5], [8, -1.5], [8, 1.5], [-8, 1.5]]))].astype(float)

    teeth = patch(dst[13, :2] + 0.75 * own * down)
    gap = patch(dst[13, :2] + (own + 0.35 * (opened - own)) * down)
    lower_teeth = patch(dst[14, :2] - (0.15 * own + 0.1 * (opened - own)) * down)  # her lower lip's edge: 0.15
    assert teeth.mean() > 140 and np.ptp(teeth.mean(axis=0)) < 40  # bright and nearly grey: her teeth
    assert (gap[:, 1] - gap[:, 0]).mean() > 80  # the driver's (green) mouth
    assert lower_teeth.mean() > 120 and np.ptp(lower_teeth.mean(axis=0)) < 40  # teeth: not dark, not green


def _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, frame: int,
                                           lower_teeth: bool = False,
                                           clip: str = "tests/data/real/wolfgang_expressions.mp4"):
    """Frame `frame` of `clip` (frame 0 the driver's neutral) driving the smiling target: the rendered (H, W,
    3) float output, the posed landmarks and the driver's triangles of the mouth's gap as (K, 3, 2) pixel
    positions (with `lower_teeth`, and those of her mirrored lower teeth under it)."""
    import imageio.v3 as iio

    from nodes.render.mouth import DriverMouth
    from nodes.render.warp_mesh import LAYER_LOWER_TEETH, LAYER_MOUTH_DRIVER
    from tests.conftest import REPO

    image, target = smiling_target
    frames = [np.ascontiguousarray(iio.imread(REPO / clip, index=k)) for k in (0, frame)]
    tracks = [face_track(detector.detect(f)[0], (f.shape[1], f.shape[0]), k / 30) for k, f in enumerate(frames)]
    run = RunContext()
    schema = studio_registry.require("retarget.face").schema
    # keep: a laughing driver leaves a grinning portrait's smile as it is (portrait_smile=follow relaxes it
    # from the first frame, her neutral one, and a second frame cannot ease it back)
    retarget = studio_registry.create("retarget.face", "r", {**schema.defaults(), "neutral_mode": "first_frames",
                                                             "calibration_frames": 1, "portrait_smile": "keep"})
    retarget.open(run)
    retarget.process(FrameContext(0, 0.0, run), source=tracks[0], target=target)
    dst = retarget.process(FrameContext(1, 1 / 30, run), source=tracks[1], target=target)["motion"].landmarks
    out = render_node_output(studio_registry, image, target, dst, frames[1], tracks[1]).astype(float)
    mesh = MeshBuilder(target.landmarks, (image.shape[1], image.shape[0]), 32, image).build(
        dst, None, DriverMouth.of(tracks[1].landmarks, tracks[1].image_size, frames[1]))
    codes = np.floor(mesh.vertices[:, 7])
    gap = (codes == LAYER_MOUTH_DRIVER) | (lower_teeth & (codes == LAYER_LOWER_TEETH))
    return out, dst, mesh.vertices[gap, :2].reshape(-1, 3, 2)


def _inside(shape, triangles) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for triangle in triangles:
        mask |= region_mask(shape, triangle, grow=0.9)  # short of its edges
    return mask


def _teeth_share(pixels: np.ndarray) -> float:
    """The share of (N, 3) pixels that are bright and nearly grey: teeth."""
    return float(((pixels @ [0.299, 0.587, 0.114] > 150) & (np.ptp(pixels, axis=1) < 60)).mean())


def test_a_laughing_drivers_own_upper_teeth_do_not_show_as_a_second_row(studio_registry, smiling_target, detector):
    """Frame 330 of wolfgang_expressions.mp4: she laughs with her upper teeth taking about 70% of her opened
    mouth. Driving the smiling target (upper teeth of her own), the gap under the target's teeth is to show
    what lies under the driver's teeth (shadow, tongue, lower teeth), not the driver's upper teeth again: a
    flat white band under the target's own read as a second row. Share of the gap's pixels that are
    bright and grey (teeth): 0.64 when the gap began as far down the driver's mouth as the target's own
    band reached down its opening, 0.34 before the mouth's corners were shaded, 0.05 now."""
    out, _, gap = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, 330)
    mask = _inside(out.shape, gap)
    # the mouth does open under her teeth: 1004 pixels (narrower since the grin she already shows is no
    # longer added to the driver's)
    assert mask.sum() > 800
    assert _teeth_share(out[mask]) < 0.45


@pytest.mark.parametrize("frame", [270, 300])
def test_a_laughing_drivers_teeth_do_not_show_as_white_fangs_in_the_mouths_corners(studio_registry, smiling_target,
                                                                                  detector, frame):
    """Frames 270 and 300 of wolfgang_expressions.mp4: she laughs with her upper teeth reaching the corners
    of her mouth. Under the target's own teeth, which thin out toward its corners, they showed as flat white
    triangles: fangs. An open mouth's corners are in the cheeks' shadow. Share of the pixels of the gap's
    outer fifths (toward either corner) that are bright and grey (teeth): 0.57 and 0.49 before, 0.00 now."""
    out, dst, gap = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, frame)
    left, right = dst[78, :2], dst[308, :2]  # the inner mouth's corners
    along = (gap.mean(axis=1) - left) @ (right - left) / ((right - left) @ (right - left))
    corners = _inside(out.shape, gap[np.abs(2 * along - 1) > 0.6])
    assert corners.sum() > 100
    assert _teeth_share(out[corners]) < 0.1


@pytest.mark.parametrize("frame", [330, 340])
def test_a_laughing_drivers_teeth_filling_her_mouths_sides_leave_them_dark_not_a_grey_ribbon(
        studio_registry, smiling_target, detector, frame):
    """Frames 330 and 340 of wolfgang_expressions.mp4: she laughs with her upper teeth taking 65% of her
    opening in the middle and nearly all of it toward the corners, where nothing of her mouth lies under
    them. There the gap under the target's teeth showed her teeth, half shaded: a smooth grey-brown ribbon
    along each side. An open mouth's sides under its teeth are dark. Over the gap's outer 60% (toward
    either corner), mean luma 69 and 62 before, 30 and 24 now; share of pixels over 80, 0.33 and 0.28
    before, 0.06 and 0.03 now."""
    out, dst, gap = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, frame)
    left, right = dst[78, :2], dst[308, :2]  # the inner mouth's corners
    along = (gap.mean(axis=1) - left) @ (right - left) / ((right - left) @ (right - left))
    sides = _inside(out.shape, gap[np.abs(2 * along - 1) > 0.4])
    assert sides.sum() > 300
    luma = out[sides] @ [0.299, 0.587, 0.114]
    assert luma.mean() < 45
    assert (luma > 80).mean() < 0.15


def _triangles_area(positions: np.ndarray) -> float:
    """The area of (3K, 2) triangle corners, pixels²."""
    corners = positions.reshape(-1, 3, 2)
    edges = corners[:, 1:] - corners[:, :1]
    return float(np.abs(edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]).sum() / 2)


def test_teeth_come_together_across_the_mouth_show_a_grin_at_once_not_a_black_band_while_it_eases_in(
        studio_registry, smiling_target, detector):
    """wolfgang_expressions.mp4's frames 371-373: her teeth come together for a grin, her upper teeth read
    as taking 0.68-0.73 of her opening in the middle, crowding it (0.65 just before). A laugh's crowded
    sides are shaded into the cavity, and for the three frames a grin took to ease in, so was the whole gap
    under the target's teeth: a black band, then her mirrored lower teeth. Crowded in the middle too, the
    teeth are together: the grin's lower teeth show at once, and stay while the teeth crowd the middle at
    all (a webcam grin held reads 0.45-0.5 crowded there, where the eased grin left a thin line). A laugh
    (her teeth crowding the corners, not the middle; frame 330's reading) keeps its gap, its sides shaded."""
    import imageio.v3 as iio
    from dataclasses import replace

    from nodes.render.mouth import GAP, LOWER_TEETH, MIDDLE_COLUMN, DriverMouth, mouth_strip
    from nodes.render.teeth import jaw_split
    from nodes.render.warp_mesh import landmark_depth
    from tests.conftest import REPO

    image, target = smiling_target
    _, dst, _ = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, 372)
    frame = np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4", index=372))
    track = face_track(detector.detect(frame)[0], (frame.shape[1], frame.shape[0]), 0.0)
    driver = DriverMouth.of(track.landmarks, track.image_size, frame)
    toward_corners = np.abs(np.arange(len(UPPER_INNER)) - MIDDLE_COLUMN) / MIDDLE_COLUMN

    def mouth(upper_teeth: np.ndarray, grin_before: float = 0.0) -> tuple[float, float, float, float]:
        """The lower teeth's share of the opening under her teeth, the gap's greatest shade in its middle
        and toward its corners, and the grin, with the driver's upper teeth taking `upper_teeth` of each
        column, the grin eased from `grin_before` (the frame before's)."""
        bands, grin = mouth_strip(target.landmarks, dst, np.array([image.shape[1], image.shape[0]], float),
                               landmark_depth(dst), replace(driver, upper_teeth=upper_teeth),
                               jaw_split(image, target.landmarks), grin_before)
        area = {kind: sum(_triangles_area(band.positions) for band in bands if band.kind == kind)
                for kind in (GAP, LOWER_TEETH)}
        gap = next(band for band in bands if band.kind == GAP)
        along = (gap.positions[:, 0] - dst[78, 0]) / (dst[308, 0] - dst[78, 0])  # 0..1 corner to corner
        middle = np.abs(2 * along - 1) < 0.3
        return (area[LOWER_TEETH] / (area[LOWER_TEETH] + area[GAP]), float(gap.shades[middle].max()),
                float(gap.shades[~middle].max()), grin)

    teeth, _, _, _ = mouth(np.full(len(UPPER_INNER), 0.8))
    assert teeth > 0.7
    teeth, middle, sides, _ = mouth(0.62 + 0.36 * toward_corners)
    assert teeth < 0.5 and sides > 0.7 and middle < sides
    # teeth together stay so while they crowd her mouth's middle at all (a webcam grin held), frame after frame
    reading, grin = np.full(len(UPPER_INNER), 0.68), 1.0
    assert mouth(reading)[0] < 0.5
    for _ in range(6):
        teeth, _, _, grin = mouth(reading, grin)
    assert teeth > 0.9


@pytest.mark.parametrize("frame", [30, 45])
def test_a_webcam_grin_with_the_teeth_almost_together_draws_no_line_between_them(
        studio_registry, smiling_target, detector, frame):
    """Frames 30 and 45 of single_face.mp4: he grins, his teeth almost together, so they crowd all of his
    mouth's interior but a sliver. The gap under the target's teeth is as thin (0.03-0.045 mouth widths);
    shaded into the cavity as a laugh's crowded sides are, it drew a black line along her teeth (mean luma
    33 and 32), and unshaded it showed his lips and teeth as a pink line (0.65 and 0.54 of the pixels
    under her teeth far redder than green). Crowded in the middle, his teeth are together: her mirrored
    lower teeth take most of the gap (pink 0.37 and 0.30; all of it from a crowding a laugh reaches for a
    frame or three, 0.08 and 0.06, but then a wall of her teeth flashed in the laugh's open mouth)."""
    out, _, gap = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, frame, True,
                                                         clip="assets/targets/single_face.mp4")
    mask = _inside(out.shape, gap)
    assert mask.sum() > 200
    pixels = out[mask]
    assert (pixels @ [0.299, 0.587, 0.114]).mean() > 90
    assert (pixels[:, 0] - pixels[:, 1] > 35).mean() < 0.45


@pytest.mark.parametrize("frame", [377, 420])
def test_a_grinning_drivers_teeth_together_show_the_targets_own_lower_teeth(studio_registry, smiling_target,
                                                                           detector, frame):
    """Frames 377 and 420 of wolfgang_expressions.mp4: she grins with her teeth together, her upper teeth
    reaching down to her lower lip, so nothing of her interior lies under them. The gap opened under the
    smiling target's own teeth showed the lower part of the driver's upper teeth: a flat white slab, a second
    row; then, dimmed toward the cavity, a flat grey band that read as a mouthguard. Now it shows the
    target's own upper teeth mirrored, in their shadow: teeth, a little darker than hers. Against her own
    teeth's lit luma (`JawSplit.teeth_colour`): the opening's mean luma, 0.53 and 0.58 for the grey band,
    0.68 and 0.73 now; its share of pixels over 0.7 of it (teeth in shadow), 0.09 and 0.18 for the grey
    band, 0.52 and 0.63 now; over 0.95 of it (as lit as her upper teeth: a slab), 0.11 and 0.10 (the
    brightest of her mirrored teeth)."""
    from nodes.render.teeth import LUMA, jaw_split

    image, target = smiling_target
    out, _, gap = _laughing_driver_on_the_smiling_target(studio_registry, smiling_target, detector, frame, True)
    mask = _inside(out.shape, gap)
    assert mask.sum() > 500  # the mouth does open under her teeth
    lit = jaw_split(image, target.landmarks).teeth_colour @ LUMA
    luma = out[mask] @ LUMA / lit
    assert 0.62 < luma.mean() < 0.9
    assert (luma > 0.7).mean() > 0.35
    assert (luma > 0.95).mean() < 0.2


def test_a_grin_leaves_no_line_of_the_drivers_mouth_between_the_rows_of_teeth(smiling_target, detector):
    """Frame 377 of wolfgang_expressions.mp4 (she grins, teeth together) after her neutral frame 0, frame
    after frame, under the smiling target's mouth opened a little: the mirrored lower teeth take the gap.
    Eased in over a few frames, they left a line of her lips and teeth 2.5 px high between the target's
    rows of teeth that read as a brace's wire; her teeth crowding the middle of her mouth, the grin is
    there from the first frame. And where the lower teeth take most of a gap (a grin easing in, teeth
    coming together), the sliver they leave is closed (`_no_sliver`)."""
    import imageio.v3 as iio

    from nodes.render import mouth
    from nodes.render.warp_mesh import LAYER_MOUTH_DRIVER
    from tests.conftest import REPO

    image, target = smiling_target
    frames = [np.ascontiguousarray(iio.imread(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4", index=k))
              for k in (0, 377)]
    drivers = [mouth.DriverMouth.of(detector.detect(f)[0], (f.shape[1], f.shape[0]), f) for f in frames]
    width = float(np.ptp(target.landmarks[[61, 291], 0]))
    dst = opened_mouth(target.landmarks, drop=0.12 * width)
    builder = MeshBuilder(target.landmarks, (image.shape[1], image.shape[0]), 32, image)
    builder.build(target.landmarks, None, drivers[0])
    for _ in range(4):  # the driver's band's area over the mouth's width: its mean height, pixels
        vertices = builder.build(dst, None, drivers[1]).vertices
        assert _triangles_area(vertices[np.floor(vertices[:, 7]) == LAYER_MOUTH_DRIVER, :2]) / width < 0.25
    gap = np.full(3, 0.2 * width)  # pixels high: what 90% of it leaves is 0.02 mouth widths, 0.1 of a gap 5x as high
    closed = mouth._no_sliver(np.full(3, 0.9), gap * [1.0, 1.0, 5.0], width)
    np.testing.assert_allclose(closed, [1.0, 1.0, 0.9], atol=0.02)


def test_a_driver_mouth_only_a_few_pixels_high_gives_a_plain_cavity_not_a_smear(studio_registry, hopper,
                                                                                 green_mouthed_driver):
    """A driver whose tracked interior is 3 px high (a small face in a low-resolution clip, lips barely
    apart) holds mostly its lips' edges: stretched into the portrait's opened mouth they read as a smear of
    lipstick. The gap is then a plain cavity (shaded by the driver's, not its colours)."""
    import dataclasses

    image, track = hopper
    frame, frame_track = green_mouthed_driver
    landmarks = frame_track.landmarks.copy()
    landmarks[LOWER_INNER, :2] = landmarks[UPPER_INNER, :2] + [0.0, 3.0]
    thin = dataclasses.replace(frame_track, landmarks=landmarks)
    frame = frame.copy()
    frame[region_mask(frame.shape, np.concatenate([landmarks[UPPER_INNER, :2], landmarks[LOWER_INNER[::-1], :2]]),
                      grow=1.5)] = (0, 255, 0)
    dst = opened_mouth(track.landmarks)
    gap = region_mask(image.shape, dst[[13, 14], :2].mean(axis=0) + np.array([[-8, -3], [8, -3], [8, 3], [-8, 3]]))
    out = render_node_output(studio_registry, image, track, dst, frame, thin)[gap].astype(float)
    assert (out[:, 1] - out[:, 0]).mean() < 0  # not green: the cavity's own dark red
    assert out.mean() < 110


def test_only_a_gap_under_the_portraits_own_teeth_is_shaded_toward_the_corners(hopper, smiling_target):
    """The corners' shade is for a gap under the portrait's own upper teeth; a portrait showing none (Hopper,
    lips shut) takes the driver's whole mouth, whose corners are as its own: shading them made a three-quarter
    portrait's grin read narrower (re-tracked smile width gain 0.38 -> 0.29)."""
    from nodes.render.warp_mesh import LAYER_MOUTH_DRAWN

    for (image, track), shaded in ((hopper, False), (smiling_target, True)):
        mesh = MeshBuilder(track.landmarks, (image.shape[1], image.shape[0]), 32, image).build(
            opened_mouth(track.landmarks, drop=0.4 * np.ptp(track.landmarks[[61, 291], 0])))
        layers = mesh.vertices[:, 7]
        gap = np.floor(layers + np.float32(1e-3)) == LAYER_MOUTH_DRAWN
        assert gap.sum() > 0
        assert (layers[gap] - LAYER_MOUTH_DRAWN).max() > 0.8 if shaded else (layers[gap] == LAYER_MOUTH_DRAWN).all()


def test_only_a_mouth_opened_under_the_portraits_own_upper_teeth_shows_them_mirrored(hopper, smiling_target):
    """The mirrored lower teeth are the portrait's own upper teeth: a portrait showing none (Hopper, lips
    shut) shows the drawn cavity alone, and a smiling portrait at rest its own mouth as it is."""
    from nodes.render.warp_mesh import LAYER_LOWER_TEETH

    def lower_teeth_vertices(target, drop: float) -> int:
        image, track = target
        width = np.ptp(track.landmarks[[61, 291], 0])
        dst = opened_mouth(track.landmarks, drop=drop * width) if drop else track.landmarks
        mesh = MeshBuilder(track.landmarks, (image.shape[1], image.shape[0]), 32, image).build(dst)
        return int((np.floor(mesh.vertices[:, 7] + np.float32(1e-3)) == LAYER_LOWER_TEETH).sum())

    assert lower_teeth_vertices(smiling_target, 0.4) > 0
    assert lower_teeth_vertices(smiling_target, 0.0) == 0
    assert lower_teeth_vertices(hopper, 0.4) == 0


def test_lips_barely_parted_over_a_targets_own_teeth_show_teeth_not_a_dark_line(studio_registry, smiling_target):
    """tests/data/real/smile_teeth.jpg shows her upper teeth down to her lower lip. Her lips parted by 3 px
    more (a grin with lips barely apart): down the middle of the mouth, from her upper to her lower inner
    lip, every pixel is still her teeth or lips, none the drawn cavity squeezed into a thin
    dark line across her teeth (its darkest pixel there was 14 grey levels; 127 now)."""
    image, track = smiling_target
    dst = opened_mouth(track.landmarks, drop=3.0)
    out = render_node_output(studio_registry, image, track, dst).astype(float)  # the gap: a drawn cavity
    top, bottom = dst[13, :2], dst[14, :2]
    column = (top + np.linspace(0.1, 0.9, 12)[:, None] * (bottom - top)).round().astype(int)
    luma = out[column[:, 1], column[:, 0]] @ [0.299, 0.587, 0.114]
    assert luma.min() > 100


def test_only_a_turned_portrait_turned_back_toward_the_camera_counts_as_turned_back_or_draws_counterparts():
    from nodes.render.edges import EdgeReveal
    from nodes.track.face_model import from_head_space, reference_shape, rotation_from_euler
    from nodes.track.types import HeadPose

    def posed(yaw: float) -> np.ndarray:
        return from_head_space(reference_shape(), HeadPose(rotation_from_euler(yaw, 0.0, 0.0),
                                                           np.array([256.0, 256.0, 0.0]), 100.0))

    def turned_back(src_yaw: float, dst_yaw: float) -> float:
        return EdgeReveal(posed(src_yaw)).turned_back(posed(dst_yaw))

    assert turned_back(40.0, 26.0) > 0.99
    assert 0.1 < turned_back(40.0, 37.0) < 0.9
    # a driver's head turns back a few degrees all the time: with half the skin at 7 degrees, the room
    # showed through the far cheek beside the nose as a translucent blue triangle (wolfgang driving
    # three_quarter.jpg, frames 100-104: 5.4 degrees back, 0.27 then)
    assert turned_back(40.0, 34.5) > 0.6
    assert turned_back(-40.0, -26.0) > 0.99  # the other way round
    assert turned_back(40.0, 50.0) == 0.0  # further away: nothing hidden is shown
    assert turned_back(1.0, -30.0) == 0.0  # a frontal portrait had nothing hidden
    # nor does it draw any point from its counterpart, however far the pose turns or magnifies it
    assert not EdgeReveal(posed(1.0)).mirror_fill(posed(-30.0) * 1.5).any()
    assert EdgeReveal(posed(40.0)).mirror_fill(posed(26.0)).max() == 1.0
