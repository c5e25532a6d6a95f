"""Capture nodes: where frames come from."""
from __future__ import annotations

import io
import struct
import warnings
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from PIL import Image as PILImage, ImageCms
from pillow_heif import register_heif_opener

from app.file_kind import IMAGE_FILES, VIDEO_FILES
from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.image.convert import fit_within, flattened, to_uint8_rgb


MAX_MEGAPIXELS = 150  # larger images are refused before their pixels are decoded
# ... so Pillow's warning about images over 89 megapixels would only repeat what this limit decides
warnings.filterwarnings("ignore", category=PILImage.DecompressionBombWarning)
# a palette PNG with a transparent colour: Pillow's advice to its caller, which imageio follows, not the user's
warnings.filterwarnings("ignore", message="Palette images with Transparency", category=UserWarning)
register_heif_opener()  # a phone's HEIC photos open as any other image (upright: HEIF holds its own turn)
SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
UNREADABLE = (OSError, ValueError, SyntaxError, struct.error)  # what imageio and Pillow raise on bad files


def refuse_huge_image(path) -> None:
    """ReenactError for an image over MAX_MEGAPIXELS, judged from its header alone. Files Pillow cannot
    identify pass: their decoder says what is wrong with them."""
    try:
        with PILImage.open(path) as image:
            megapixels = image.width * image.height / 1e6
    except PILImage.DecompressionBombError:  # Pillow's own limit (about 179 megapixels) is above ours
        megapixels = float("inf")
    except UNREADABLE:  # struct.error: a header cut short
        return
    if megapixels > MAX_MEGAPIXELS:
        raise ReenactError(f"the image is over {MAX_MEGAPIXELS} megapixels, too large to decode safely",
                           where=str(path), hint=f"scale it down below {MAX_MEGAPIXELS} megapixels first")


EXIF_ORIENTATION = 0x0112  # the tag a camera or phone sets instead of turning the pixels it stores
UPRIGHT = {  # each orientation's turn of the stored (H, W, C) pixels that shows them upright (EXIF 2.3)
    2: lambda pixels: pixels[:, ::-1],
    3: lambda pixels: pixels[::-1, ::-1],
    4: lambda pixels: pixels[::-1],
    5: lambda pixels: pixels.transpose(1, 0, 2),
    6: lambda pixels: np.rot90(pixels, -1),
    7: lambda pixels: pixels[::-1, ::-1].transpose(1, 0, 2),
    8: lambda pixels: np.rot90(pixels, 1),
}
# the Pillow modes whose colour profile is applied, and the mode each becomes
MANAGED_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}
VIDEO_SUFFIXES = set(VIDEO_FILES[1])  # read as a still, their first frame
VIDEO_AS_STILL = ("its first frame is used as the still portrait (a target video, whose frames supply its teeth and "
                  "turned views, is graphs/video_target.json)")
# what Pillow calls the formats of single pictures (an MPEG file, which Pillow also "identifies", is not one)
STILL_FORMATS = {"PNG", "JPEG", "HEIF", "WEBP", "BMP", "TIFF", "GIF", "PPM", "TGA", "JPEG2000", "ICO", "DDS", "QOI"}


def still_format(path) -> str | None:
    """The image format (PNG, JPEG...) of a file that holds one still picture, whatever its name; None for
    anything else (videos, animations, files Pillow does not know)."""
    try:
        with PILImage.open(path) as image:
            frames = getattr(image, "n_frames", 1)
            return image.format if image.format in STILL_FORMATS and frames == 1 else None
    except Exception:  # noqa: BLE001 - any file Pillow cannot identify is not a still: ffmpeg judges it
        return None


def read_image_file(path, max_side: int) -> tuple[np.ndarray, str]:
    """Decode an image file to uint8 RGB(A) in sRGB (an embedded colour profile applied: a camera's Adobe
    RGB, a print shop's CMYK), upright as its EXIF orientation says (a phone's portrait photo is stored
    sideways with that tag) and downscaled to max_side; returns (pixels, notices: one a line, "" for none). A
    video gives its first frame, whatever its name."""
    refuse_huge_image(path)
    notices = []
    try:
        pixels = to_uint8_rgb(np.asarray(_in_srgb(path)))
        orientation = _orientation(path)
        if orientation in UPRIGHT:
            pixels = np.ascontiguousarray(UPRIGHT[orientation](pixels))
        if Path(path).suffix.lower() in VIDEO_SUFFIXES and still_format(path) is None:  # not a photo named .mp4
            notices.append(f"{path}: a video: {VIDEO_AS_STILL}")
    except UNREADABLE as exc:
        # imageio's "no backend" advice (pip install imageio[pyav]) never helps with a broken image
        if "truncat" in str(exc).lower():  # Pillow's "image file is truncated", "Truncated File Read"
            raise ReenactError("cannot read the image: the file is cut short", where=str(path),
                               hint="it was probably not written or copied to the end: copy or download it "
                                    "again") from None
        pixels = _first_video_frame(path) if "backend" in str(exc) else None  # a clip saved under a photo's name
        if pixels is None:
            reason = ("not an image file" if "backend" in str(exc) else
                      "it is damaged or not an image" if isinstance(exc, struct.error) else first_line(exc))
            raise ReenactError(f"cannot read the image: {reason}", where=str(path),
                               hint="use a PNG, JPEG, HEIC, WebP, BMP or TIFF file") from None
        notices.append(f"{path}: a video, though named {Path(path).suffix}: {VIDEO_AS_STILL}")
    fitted = fit_within(pixels, max_side)
    if fitted.shape != pixels.shape:
        notices.append(f"{path}: {pixels.shape[1]}x{pixels.shape[0]} downscaled to "
                       f"{fitted.shape[1]}x{fitted.shape[0]} (max_side {max_side})")
    return fitted, "\n".join(notices)


def _first_video_frame(path) -> np.ndarray | None:
    """The first frame of a video whatever its name (ffmpeg judges by content), upright; None where ffmpeg
    cannot read it as one either."""
    from nodes.capture.video import VideoReader  # imported here: video.py asks this module what a still is

    try:
        reader = VideoReader(Path(path))
    except ReenactError:
        return None
    try:
        return reader.read()
    except ReenactError:
        return None
    finally:
        reader.close()


def _in_srgb(path):
    """The image's pixels as decoded, its colour profile applied where it has one other than sRGB (CMYK
    always turned into RGB). Pillow reads what has a profile, or what imageio's own readers cannot (an
    LZW TIFF wants a codec package tifffile lacks); imageio the rest (a 16-bit or float TIFF)."""
    pillows = True
    try:
        with PILImage.open(path) as image:
            profile = image.info.get("icc_profile") if image.mode in MANAGED_MODES else None
            if image.mode == "CMYK" or (profile and not _is_srgb(profile)):
                return _converted(image, profile)
    except UNREADABLE:
        pillows = False  # not one of Pillow's: imageio's readers may know it, or say what is wrong with it
    try:
        return iio.imread(path, index=0)
    except UNREADABLE:
        if not pillows:
            raise
        with PILImage.open(path) as image:
            return np.asarray(image.convert("RGBA" if "A" in image.getbands() else "RGB"))


def _is_srgb(profile: bytes) -> bool:
    try:
        return "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile))).lower()
    except (ImageCms.PyCMSError, OSError):
        return True  # a profile that cannot be read is taken for the usual one


def _converted(image: PILImage.Image, profile: bytes | None) -> np.ndarray:
    """The pixels of an open RGB, RGBA or CMYK Pillow image in sRGB: through its profile, else (CMYK
    without one) Pillow's own conversion."""
    mode = MANAGED_MODES[image.mode]
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            return np.asarray(ImageCms.profileToProfile(image, source, SRGB, outputMode=mode))
        except (ImageCms.PyCMSError, OSError):
            pass  # a damaged profile: the pixels as they are
    return np.asarray(image.convert(mode))


def _orientation(path) -> int:
    """The image's EXIF orientation: 1 where it is stored upright, has none, or Pillow cannot read it."""
    try:
        with PILImage.open(path) as image:
            orientation = image.getexif().get(EXIF_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a file Pillow cannot read: its decoder says what is wrong with it
        return 1
    return orientation if isinstance(orientation, int) and orientation in UPRIGHT else 1


class ImageFile(Node):
    """A still image, read once and cached (the scheduler runs it again only when `path` changes)."""

    schema = NodeSchema(
        type_id="capture.image", title="Image File", category="capture",
        help="Reads a still image (PNG, JPEG, HEIC, WebP, BMP, TIFF, first frame of a GIF), turned upright as its "
             "EXIF orientation says (phones store portrait photos sideways) and into sRGB through its colour "
             "profile (Adobe RGB, ProPhoto, CMYK). Grayscale, 16-bit and float images are converted to 8-bit RGB.",
        outputs=(Port("image", ports.IMAGE, "the image, RGB or RGBA"),),
        params=(
            Param("path", ParamKind.PATH, "portraits/astronaut.png",
                  "image file, relative to the preset's folder or assets/", files=(IMAGE_FILES, VIDEO_FILES)),
            Param("max_side", ParamKind.INT, 2048, "larger images are downscaled to this many pixels "
                  "on their longest side", minimum=16, maximum=8192),
            Param("alpha", ParamKind.BOOL, False, "keep the alpha channel (else a transparent background is "
                  "shown white, as a viewer shows it)"),
        ),
    )

    def open(self, run: RunContext) -> None:
        self._run = run

    def process(self, ctx: FrameContext) -> dict:
        path = self._run.asset(self.params.path)
        pixels, notices = read_image_file(path, self.params.max_side)
        for notice in notices.splitlines():
            self._run.notice(notice)
        if not self.params.alpha:
            pixels = flattened(pixels)
        return {"image": Image(pixels)}


NODES = [ImageFile]
