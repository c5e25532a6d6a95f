"""Moving frames between host memory and GL textures (and, later, CUDA tensors).

One convention everywhere: row 0 is the top row of the image, in numpy arrays and in textures alike
(renderers draw with y down so that GL's row 0 is the image's top), so no step ever flips rows.
Today the only route is read-back through host memory; `reenact doctor` says why a run uses it.
"""
from __future__ import annotations

import numpy as np

# numpy dtype <-> moderngl texture dtype, per supported texel format
_DTYPES = {np.dtype(np.uint8): "f1", np.dtype(np.float16): "f2", np.dtype(np.float32): "f4"}


class ReadbackBridge:
    """Host memory <-> GL texture through glTexImage/glGetTexImage."""

    name = "read-back"

    @staticmethod
    def upload(ctx, pixels: np.ndarray):
        """(H, W, C) uint8 / float16 / float32, C in 1..4 -> a new texture of the same size and format.
        The caller owns (and releases) the texture."""
        height, width, channels = _shape(pixels)
        texture = ctx.texture((width, height), channels, dtype=_texel(pixels.dtype), alignment=1)
        texture.write(np.ascontiguousarray(pixels).tobytes())
        return texture

    @staticmethod
    def write(texture, pixels: np.ndarray) -> None:
        """Replace a texture's pixels with same-sized (H, W, C) data."""
        texture.write(np.ascontiguousarray(pixels).tobytes(), alignment=1)

    @staticmethod
    def download(texture, channels: int | None = None) -> np.ndarray:
        """A texture's pixels as (H, W, C) in its own dtype; `channels` reads only the first ones."""
        width, height = texture.size
        channels = channels or texture.components
        dtype = next(np_dtype for np_dtype, gl in _DTYPES.items() if gl == texture.dtype)
        data = texture.read(alignment=1) if channels == texture.components else None
        if data is None:  # fewer channels than stored: read all, then slice (textures cannot read a subset)
            full = np.frombuffer(texture.read(alignment=1), dtype).reshape(height, width, texture.components)
            return np.ascontiguousarray(full[:, :, :channels])
        return np.frombuffer(data, dtype).reshape(height, width, channels)


def _shape(pixels: np.ndarray) -> tuple[int, int, int]:
    if pixels.ndim != 3 or not 1 <= pixels.shape[2] <= 4:
        raise ValueError(f"pixels must be (H, W, 1..4), got {pixels.shape}")
    return pixels.shape


def _texel(dtype: np.dtype) -> str:
    try:
        return _DTYPES[np.dtype(dtype)]
    except KeyError:
        raise ValueError(f"unsupported pixel type {dtype}; use uint8, float16 or float32") from None
