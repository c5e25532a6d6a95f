"""Param kinds: one coercion for presets, --set and the editor; and image-file conversions."""
from __future__ import annotations

import math
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

from app.runtime.errors import ParamError
from app.runtime.schema import Param, ParamKind
from nodes.capture.image import read_image_file

FLOAT = Param("gain", ParamKind.FLOAT, 1.0, "g", minimum=0.0, maximum=2.0)
VECTOR = Param("offset", ParamKind.VECTOR, [0.0, 0.0], "o", minimum=-10, maximum=10, size=2)
COLOR = Param("tint", ParamKind.COLOR, [1.0, 1.0, 1.0, 1.0], "c")
ENUM = Param("mode", ParamKind.ENUM, "a", "m", choices=("a", "b"))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value):
    with pytest.raises(ParamError, match="not a finite number"):
        FLOAT.coerce(value)


@pytest.mark.parametrize("param, text, expected", [
    (FLOAT, "1.5", 1.5), (Param("n", ParamKind.INT, 1, "n", minimum=0, maximum=9), "3", 3),
    (Param("b", ParamKind.BOOL, False, "b"), "yes", True), (ENUM, "b", "b"),
    (VECTOR, "1, -2.5", [1.0, -2.5]), (COLOR, "#ff000080", [1.0, 0.0, 0.0, 0.502]),
    (COLOR, "0.5 0.25 0", [0.5, 0.25, 0.0, 1.0]),
])
def test_command_line_text_is_parsed_by_kind(param, text, expected):
    assert param.parse_text(text) == pytest.approx(expected)


@pytest.mark.parametrize("param, value, message", [
    (FLOAT, True, "not a number"), (FLOAT, "nan", "not a number"), (ENUM, "c", "not one of a, b"),
    (VECTOR, [1.0], "has 1 components, needs 2"), (VECTOR, [1.0, 11.0], "above the maximum 10"),
    (COLOR, [1.0, 2.0, 0.0], "outside 0..1"), (COLOR, "#12", "not a colour"),
    (Param("n", ParamKind.INT, 1, "n"), 1.5, "not an integer"),
    (Param("s", ParamKind.STRING, "", "s", max_length=3), "long", "more than 3"),
])
def test_bad_values_say_what_is_wrong(param, value, message):
    with pytest.raises(ParamError, match=message):
        param.coerce(value)


def test_bool_text_must_be_a_boolean():
    with pytest.raises(ParamError, match="not a boolean"):
        Param("b", ParamKind.BOOL, False, "b").parse_text("maybe")


@pytest.mark.parametrize("pixels", [
    np.arange(12 * 10, dtype=np.uint8).reshape(12, 10),  # gray
    np.full((12, 10, 4), 200, np.uint8),  # RGBA
    np.arange(12 * 10, dtype=np.uint16).reshape(12, 10) * 500,  # 16-bit gray
])
def test_image_files_become_uint8_rgb(tmp_path, pixels):
    path = tmp_path / "in.png"
    iio.imwrite(path, pixels)
    out, notice = read_image_file(path, 2048)
    assert out.dtype == np.uint8 and out.shape[:2] == (12, 10) and out.shape[2] in (3, 4) and notice == ""


def test_huge_images_are_downscaled_with_a_notice(tmp_path):
    path = tmp_path / "big.png"
    iio.imwrite(path, np.zeros((300, 900, 3), np.uint8))
    out, notice = read_image_file(path, 256)
    assert out.shape == (85, 256, 3) and "downscaled to 256x85" in notice


def test_not_an_image_is_a_clear_error(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("hello")
    with pytest.raises(Exception, match="cannot read the image"):
        read_image_file(path, 256)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_an_image_is_read_upright_as_its_exif_orientation_says(tmp_path, orientation):
    """A phone stores a portrait photo sideways with an EXIF orientation that viewers honour; read as
    stored, the target came out lying on its side. Each of the eight orientations turns as Pillow's own
    exif_transpose does (RGBA too)."""
    from PIL import Image, ImageOps

    pixels = np.random.default_rng(orientation).integers(0, 255, (12, 20, 4), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path, exif=exif.tobytes())
    out, _ = read_image_file(path, 2048)
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    assert out.shape == upright.shape and (out == upright).all()


def test_a_phone_photo_stored_sideways_is_tracked_upright(tmp_path):
    """The same portrait as a JPEG stored turned a quarter with orientation 6: its face is found upright,
    where it was in the upright file (within a pixel or two: the JPEG is encoded again)."""
    from PIL import Image

    from nodes.track.mediapipe_face import FaceMeshDetector
    from tests.conftest import REPO

    original = REPO / "tests" / "data" / "real" / "smile_teeth.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter clockwise
    sideways = tmp_path / "phone.jpg"
    Image.open(original).transpose(Image.Transpose.ROTATE_90).save(sideways, exif=exif.tobytes(), quality=95)
    detector = FaceMeshDetector(static=True, max_faces=1)
    found = [detector.detect(read_image_file(path, 2048)[0]) for path in (original, sideways)]
    assert all(len(faces) == 1 for faces in found)
    assert np.abs(found[0][0][:, :2] - found[1][0][:, :2]).max() < 4.0


def test_a_phones_heic_photo_is_read_upright(tmp_path):
    """HEIC is a phone's default photo format; stored turned a quarter with its orientation, it reads as
    the upright portrait (HEIC is lossy: within a few levels)."""
    from PIL import Image

    from app.quality.sources import read_target
    from tests.conftest import REPO

    upright = np.asarray(Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg").crop((0, 0, 512, 300)))
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.heic"
    Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90).save(path, exif=exif.tobytes(), quality=95)
    for pixels in (read_image_file(path, 2048)[0], read_target(path)):
        assert pixels.shape == upright.shape and np.abs(pixels.astype(int) - upright).mean() < 3.0


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_a_cmyk_image_is_read_in_its_colours(tmp_path, suffix):
    """A print shop's CMYK file: its four ink channels were read as RGBA, the portrait in false colours
    (92 levels off); now Pillow turns the ink into RGB."""
    from PIL import Image

    from tests.conftest import REPO

    rgb = Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg")
    path = tmp_path / f"cmyk{suffix}"
    rgb.convert("CMYK").save(path)
    out, _ = read_image_file(path, 2048)
    assert out.shape == (512, 512, 3) and np.abs(out.astype(int) - np.asarray(rgb)).mean() < 6.0


PROPHOTO_D50 = ((0.7977, 0.2880, 0.0), (0.1352, 0.7119, 0.0), (0.0313, 0.0001, 0.8249))  # ROMM RGB's colorants


def _wide_gamut_profile() -> bytes:
    """A ProPhoto-like ICC profile: lcms's own sRGB with its colorants moved to ProPhoto's primaries (D50)
    and its name changed from sRGB, so no profile file is needed."""
    import struct

    from PIL import ImageCms

    profile = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", profile[128:132])[0]
    for index in range(count):
        signature, offset, _ = struct.unpack(">4sII", profile[132 + 12 * index:144 + 12 * index])
        if signature in (b"rXYZ", b"gXYZ", b"bXYZ"):
            primary = PROPHOTO_D50[(b"rXYZ", b"gXYZ", b"bXYZ").index(signature)]
            profile[offset + 8:offset + 20] = struct.pack(">3i", *(round(v * 65536) for v in primary))
    return bytes(profile).replace("sRGB".encode("utf-16-be"), "wide".encode("utf-16-be"))


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_a_wide_gamut_photo_is_read_in_srgb(tmp_path, suffix):
    """A camera's ProPhoto or Adobe RGB photo holds its colours in that profile's numbers; read as if they
    were sRGB, the portrait came out grey and purple (or dull). Its embedded profile is applied."""
    import io

    from PIL import Image, ImageCms

    from tests.conftest import REPO

    srgb = Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg")
    wide = _wide_gamut_profile()
    stored = ImageCms.profileToProfile(srgb, ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(wide)))
    path = tmp_path / f"prophoto{suffix}"
    stored.save(path, icc_profile=wide, quality=95)
    out, _ = read_image_file(path, 2048)
    as_stored = np.abs(np.asarray(stored).astype(int) - np.asarray(srgb)).mean()
    assert as_stored > 5.0  # the profile makes a visible difference to the numbers (6.3)
    assert np.abs(out.astype(int) - np.asarray(srgb)).mean() < 3.0


CMYK_PROFILE = Path("/usr/share/color/icc/ghostscript/default_cmyk.icc")  # ghostscript's, where it is installed


@pytest.mark.skipif(not CMYK_PROFILE.is_file(), reason="no CMYK profile on this machine (ghostscript's)")
def test_a_cmyk_photo_with_its_profile_is_read_through_it(tmp_path):
    """Photoshop writes a CMYK JPEG with its CMYK profile: turned into RGB without it, skin went magenta.
    Read through it, the file comes out as lcms turns it into sRGB."""
    from PIL import Image, ImageCms

    from tests.conftest import REPO

    profile = ImageCms.getOpenProfile(str(CMYK_PROFILE))
    cmyk = ImageCms.profileToProfile(Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg"),
                                     ImageCms.createProfile("sRGB"), profile, outputMode="CMYK")
    path = tmp_path / "print.jpg"
    cmyk.save(path, icc_profile=profile.tobytes(), quality=95)
    out, _ = read_image_file(path, 2048)
    managed = ImageCms.profileToProfile(Image.open(path), profile, ImageCms.createProfile("sRGB"), outputMode="RGB")
    naive = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert (out == np.asarray(managed)).all() and np.abs(naive - out).mean() > 5.0


def test_a_profile_that_does_not_fit_the_pixels_is_passed_over(tmp_path):
    """An RGB profile embedded in a CMYK file cannot be applied to it: Pillow's own conversion instead."""
    from PIL import Image, ImageCms

    from tests.conftest import REPO

    cmyk = Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg").convert("CMYK")
    path = tmp_path / "odd.jpg"
    cmyk.save(path, icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    out, _ = read_image_file(path, 2048)
    assert (out == np.asarray(Image.open(path).convert("RGB"))).all()


def test_an_lzw_tiff_is_read(tmp_path):
    """Photoshop's and Preview's TIFFs are LZW-compressed: imageio's TIFF reader wants a codec package
    for them that is not installed; Pillow reads them."""
    from PIL import Image

    from tests.conftest import REPO

    rgb = Image.open(REPO / "tests" / "data" / "real" / "smile_teeth.jpg")
    path = tmp_path / "lzw.tif"
    rgb.save(path, compression="tiff_lzw")
    out, _ = read_image_file(path, 2048)
    assert (out == np.asarray(rgb)).all()


def test_a_transparent_background_shows_white_not_what_is_stored_under_it(tmp_path, studio_registry):
    """A portrait cut out onto a transparent background: the colours stored under it are arbitrary (here
    noise); dropped with the alpha they showed. The node shows them as a viewer does, over white (and
    `reenact score` reads the target so too)."""
    from app.quality.sources import read_target
    from app.runtime.context import FrameContext, RunContext

    pixels = np.random.default_rng(0).integers(0, 255, (40, 30, 4), dtype=np.uint8)
    pixels[:, :, 3] = 0
    pixels[10:30, 10:20, 3] = 255
    path = tmp_path / "cutout.png"
    iio.imwrite(path, pixels)
    params = {**studio_registry.require("capture.image").schema.defaults(), "path": str(path)}
    node = studio_registry.create("capture.image", "target", params)
    run = RunContext()
    node.open(run)
    shown = node.process(FrameContext(0, 0.0, run))["image"].rgb()
    for out in (shown, read_target(path)):
        assert out.shape == (40, 30, 3)
        assert (out[10:30, 10:20] == pixels[10:30, 10:20, :3]).all() and (out[:5] == 255).all()


def test_a_video_given_as_a_still_portrait_is_used_by_its_first_frame_and_says_so(studio_registry):
    """A clip picked for the still target: its first frame was used without a word; the run now says
    so, and where a target video is made."""
    from app.runtime.context import FrameContext, RunContext
    from tests.conftest import REPO

    clip = REPO / "tests" / "data" / "real" / "single_face.mp4"
    params = {**studio_registry.require("capture.image").schema.defaults(), "path": str(clip)}
    node = studio_registry.create("capture.image", "target", params)
    run = RunContext()
    node.open(run)
    image = node.process(FrameContext(0, 0.0, run))["image"]
    assert (image.width, image.height) == (640, 360)
    assert any("its first frame is used" in notice and "video_target.json" in notice for notice in run.notices)


def test_a_photo_named_like_a_video_is_not_said_to_be_a_video(studio_registry, tmp_path):
    from app.runtime.context import FrameContext, RunContext
    from tests.conftest import REPO

    photo = tmp_path / "me.mp4"
    photo.write_bytes((REPO / "assets" / "portraits" / "grace_hopper.jpg").read_bytes())
    params = {**studio_registry.require("capture.image").schema.defaults(), "path": str(photo)}
    node = studio_registry.create("capture.image", "target", params)
    run = RunContext()
    node.open(run)
    assert node.process(FrameContext(0, 0.0, run))["image"].width == 512
    assert not any("a video" in notice for notice in run.notices)
