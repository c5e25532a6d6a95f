"""What the preview shows, as arrays and text (no dearpygui): A/B composition, texture data."""
from __future__ import annotations

import cv2
import numpy as np

from app.runtime.gpu.image import Image

SPLIT_LINE = np.array([255, 210, 60], np.uint8)


def compose_split(a: Image, b: Image | None, split: float) -> np.ndarray:
    """(H, W, 3) uint8: A left of column split*W, B right of it, a line between. A B of another size is
    scaled smoothly to fit A's frame with its own aspect kept (bars fill the rest), never stretched."""
    left = a.rgb()
    if b is None:
        return left
    h, w = left.shape[:2]
    right = fit_into(b.rgb(), w, h)
    column = int(round(min(max(split, 0.0), 1.0) * w))
    out = np.concatenate([left[:, :column], right[:, column:]], axis=1)
    if 0 < column < w:
        out[:, column - 1:column + 1] = SPLIT_LINE
    return out


def fit_into(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """rgb scaled (area-averaged down, bilinear up) to fit width x height, centred on black."""
    if rgb.shape[:2] == (height, width):
        return rgb
    scale = min(width / rgb.shape[1], height / rgb.shape[0])
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    scaled = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    out = np.zeros((height, width, 3), np.uint8)
    y, x = (height - size[1]) // 2, (width - size[0]) // 2
    out[y:y + size[1], x:x + size[0]] = scaled
    return out


class TextureBuffer:
    """Turns frames into dearpygui's raw-texture layout (flat float32 RGBA in [0, 1]), reusing one
    buffer per size so a frame costs one conversion and no allocation."""

    def __init__(self) -> None:
        self._buffer = np.zeros(0, np.float32)
        self.shape: tuple[int, int] = (0, 0)

    def fill(self, rgb: np.ndarray) -> np.ndarray:
        """rgb: (H, W, 3) uint8. Returns the flat (H*W*4,) float32 buffer (shared between calls)."""
        h, w = rgb.shape[:2]
        if self.shape != (h, w):
            self._buffer = np.ones(h * w * 4, np.float32)
            self.shape = (h, w)
        view = self._buffer.reshape(h, w, 4)
        np.multiply(rgb, np.float32(1.0 / 255.0), out=view[:, :, :3], casting="unsafe")
        return self._buffer
