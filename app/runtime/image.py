"""The `Image` port's representation: an RGB or RGBA frame, top row first.

Today the pixels live in host memory as a uint8 numpy array; the GPU-resident form (GL texture and
torch tensor behind one bridge) replaces the storage without changing this interface.
"""
from __future__ import annotations

import numpy as np


class Image:
    """An immutable RGB(A) frame.

    pixels: uint8 array of shape (height, width, 3 or 4), row 0 at the top.
    """

    __slots__ = ("_pixels", "timestamp")

    def __init__(self, pixels: np.ndarray, timestamp: float | None = None):
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
            raise TypeError(
                f"Image needs uint8 pixels of shape (H, W, 3|4), got {pixels.dtype} {pixels.shape}"
            )
        pixels = np.ascontiguousarray(pixels)
        pixels.flags.writeable = False
        self._pixels = pixels
        self.timestamp = timestamp  # seconds on the capture clock, when the source knows it

    @property
    def width(self) -> int:
        return self._pixels.shape[1]

    @property
    def height(self) -> int:
        return self._pixels.shape[0]

    @property
    def channels(self) -> int:
        return self._pixels.shape[2]

    def numpy(self) -> np.ndarray:
        """A read-only (H, W, C) uint8 view of the pixels."""
        return self._pixels

    def rgb(self) -> np.ndarray:
        """A read-only (H, W, 3) uint8 view, alpha dropped."""
        return self._pixels[:, :, :3]

    def __repr__(self) -> str:
        return f"Image({self.width}x{self.height}x{self.channels})"
