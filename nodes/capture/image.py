"""Capture nodes: where frames come from."""
from __future__ import annotations

import imageio.v3 as iio
import numpy as np
from PIL import Image as PILImage

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.image.convert import fit_within, to_uint8_rgb


def read_image_file(path, max_side: int) -> tuple[np.ndarray, str]:
    """Decode an image file to uint8 RGB(A), downscaled to max_side; returns (pixels, notice)."""
    try:
        decoded = iio.imread(path, index=0)
    except PILImage.DecompressionBombError:
        raise ReenactError("the image is too large to decode safely", where=str(path),
                           hint="scale it down below 150 megapixels first") from None
    except (OSError, ValueError, SyntaxError) as exc:  # what imageio/Pillow raise on bad files
        raise ReenactError(f"cannot read the image: {exc}", where=str(path),
                           hint="use a PNG, JPEG, WebP, BMP or TIFF file") from None
    try:
        pixels = to_uint8_rgb(np.asarray(decoded))
    except ValueError as exc:
        raise ReenactError(str(exc), where=str(path)) from None
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
        help="Reads a still image (PNG, JPEG, WebP, BMP, TIFF, first frame of a GIF). Grayscale, "
             "16-bit and float images are converted to 8-bit RGB; alpha is kept.",
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
