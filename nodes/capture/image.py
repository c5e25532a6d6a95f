"""Capture nodes: where frames come from."""
from __future__ import annotations

import struct
import warnings

import imageio.v3 as iio
import numpy as np
from PIL import Image as PILImage
from pillow_heif import register_heif_opener

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.image.convert import fit_within, to_uint8_rgb


MAX_MEGAPIXELS = 150  # larger images are refused before their pixels are decoded
# ... so Pillow's warning about images over 89 megapixels would only repeat what this limit decides
warnings.filterwarnings("ignore", category=PILImage.DecompressionBombWarning)
register_heif_opener()  # a phone's HEIC photos open as any other image (upright: HEIF holds its own turn)


def refuse_huge_image(path) -> None:
    """ReenactError for an image over MAX_MEGAPIXELS, judged from its header alone. Files Pillow cannot
    identify pass: their decoder says what is wrong with them."""
    try:
        with PILImage.open(path) as image:
            megapixels = image.width * image.height / 1e6
    except PILImage.DecompressionBombError:  # Pillow's own limit (about 179 megapixels) is above ours
        megapixels = float("inf")
    except (OSError, ValueError, SyntaxError, struct.error):  # struct.error: a header cut short
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


def _how_stored(path) -> tuple[int, str]:
    """(EXIF orientation, 1 where stored upright; Pillow's mode, '' where Pillow cannot read the file)."""
    try:
        with PILImage.open(path) as image:
            orientation, mode = image.getexif().get(EXIF_ORIENTATION, 1), image.mode
    except Exception:  # noqa: BLE001 - a file Pillow cannot read: its decoder says what is wrong with it
        return 1, ""
    return (orientation if isinstance(orientation, int) and orientation in UPRIGHT else 1), mode


def read_image_file(path, max_side: int) -> tuple[np.ndarray, str]:
    """Decode an image file to uint8 RGB(A) (CMYK turned into RGB), upright as its EXIF orientation says
    (a phone's portrait photo is stored sideways with that tag) and downscaled to max_side; returns
    (pixels, notice)."""
    refuse_huge_image(path)
    orientation, mode = _how_stored(path)
    try:
        # ink (a print shop's CMYK JPEG or TIFF) is turned into light by Pillow; read as stored, its four
        # channels were taken for RGBA and the portrait came out in false colours
        decoded = (iio.imread(path, index=0, plugin="pillow", mode="RGB") if mode == "CMYK"
                   else iio.imread(path, index=0))
    except (OSError, ValueError, SyntaxError, struct.error) as exc:  # what imageio/Pillow raise on bad files
        # imageio's "no backend" advice (pip install imageio[pyav]) never helps with a broken image
        reason = ("not an image file" if "backend" in str(exc) else
                  "it is damaged or not an image" if isinstance(exc, struct.error) else first_line(exc))
        raise ReenactError(f"cannot read the image: {reason}", where=str(path),
                           hint="use a PNG, JPEG, HEIC, WebP, BMP or TIFF file") from None
    try:
        pixels = to_uint8_rgb(np.asarray(decoded))
    except ValueError as exc:
        raise ReenactError(str(exc), where=str(path)) from None
    if orientation in UPRIGHT:
        pixels = np.ascontiguousarray(UPRIGHT[orientation](pixels))
    fitted = fit_within(pixels, max_side)
    notice = ""
    if fitted.shape != pixels.shape:
        notice = (f"{path}: {pixels.shape[1]}x{pixels.shape[0]} downscaled to "
                  f"{fitted.shape[1]}x{fitted.shape[0]} (max_side {max_side})")
    return fitted, notice


class ImageFile(Node):
    """A still image, read once and cached (the scheduler runs it again only when `path` changes)."""

    schema = NodeSchema(
        type_id="capture.image", title="Image File", category="capture",
        help="Reads a still image (PNG, JPEG, HEIC, WebP, BMP, TIFF, first frame of a GIF), turned upright as its "
             "EXIF orientation says (phones store portrait photos sideways). Grayscale, 16-bit and float images "
             "are converted to 8-bit RGB; alpha is kept.",
        outputs=(Port("image", ports.IMAGE, "the image, RGB or RGBA"),),
        params=(
            Param("path", ParamKind.PATH, "portraits/astronaut.png",
                  "image file, relative to the preset's folder or assets/"),
            Param("max_side", ParamKind.INT, 2048, "larger images are downscaled to this many pixels "
                  "on their longest side", minimum=16, maximum=8192),
            Param("alpha", ParamKind.BOOL, False, "keep the alpha channel (else drop it)"),
        ),
    )

    def open(self, run: RunContext) -> None:
        self._run = run

    def process(self, ctx: FrameContext) -> dict:
        path = self._run.asset(self.params.path)
        pixels, notice = read_image_file(path, self.params.max_side)
        if notice:
            self._run.notice(notice)
        if not self.params.alpha:
            pixels = pixels[:, :, :3]
        return {"image": Image(pixels)}


NODES = [ImageFile]
