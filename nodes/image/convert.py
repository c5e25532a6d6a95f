"""Pixel conversions shared by the nodes that read or write image files."""
from __future__ import annotations

import numpy as np
from PIL import Image as PILImage


def to_uint8_rgb(array: np.ndarray, keep_alpha: bool = True) -> np.ndarray:
    """Any decoded image → uint8 (H, W, 3|4): gray expanded, 16-bit and float scaled, alpha kept or
    dropped."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ValueError(f"unsupported pixel layout {array.shape}")
    if array.dtype == np.uint16:
        array = ((array.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        array = (np.clip(np.nan_to_num(array), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    channels = array.shape[2]
    if channels in (1, 2):  # gray or gray + alpha
        gray = np.repeat(array[:, :, :1], 3, axis=2)
        array = np.concatenate([gray, array[:, :, 1:]], axis=2) if channels == 2 else gray
    if not keep_alpha:
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


def flattened(pixels: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3): RGBA over white, as a viewer shows a transparent background (the colours stored
    under it are arbitrary: black, or noise); RGB as it is."""
    if pixels.shape[2] != 4:
        return pixels
    alpha = pixels[:, :, 3:].astype(np.float32) / 255.0
    over = pixels[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.ascontiguousarray(np.round(over).astype(np.uint8))


def fit_within(array: np.ndarray, max_side: int) -> np.ndarray:
    """Downscale (area-preserving) so that neither side exceeds max_side; unchanged if it fits."""
    height, width = array.shape[:2]
    if max(height, width) <= max_side:
        return array
    scale = max_side / max(height, width)
    return resize(array, max(1, round(width * scale)), max(1, round(height * scale)))


def resize(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """High-quality resize of a uint8 (H, W, C) array."""
    resized = PILImage.fromarray(array).resize((width, height), PILImage.Resampling.LANCZOS)
    return np.asarray(resized)
