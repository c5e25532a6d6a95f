"""Conditioning maps for the refiner, rasterized from the posed landmarks (the same for training and
for the node): where the face is, where the mouth opening is, and where refinement may change pixels."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt
from skimage.draw import polygon

from nodes.track.face_model import topology

FEATHER = 0.08  # of the face's size: how far outside the face the blend fades out


def conditioning_maps(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """landmarks: (478, 2+) pixels of an image of `size` (width, height).
    Returns (H, W, 2) float32: face mask, mouth-opening mask, each 0 or 1."""
    width, height = size
    maps = np.zeros((height, width, 2), np.float32)
    shape = (height, width)
    for channel, loop in enumerate((topology().outline, topology().mouth)):
        rows, cols = polygon(landmarks[loop, 1], landmarks[loop, 0], shape)
        maps[rows, cols, channel] = 1.0
    return maps


def blend_mask(face: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: 1 on the face, fading to exactly 0 a little outside it, so pixels
    away from the face stay bit-identical to the render."""
    mask = np.zeros(face.shape, np.float32)
    weights, (top, bottom, left, right) = blend_box(face)
    mask[top:bottom, left:right] = weights
    return mask


def blend_box(face: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """`blend_mask` where it is not 0: (its values in the box, the box (top, bottom, left, right)); an
    empty box without a face. Only the box is computed, and a blend needs to touch only the box."""
    if not face.any():
        return np.zeros((0, 0), np.float32), (0, 0, 0, 0)
    rows, cols = np.nonzero(face)
    feather = max(2.0, FEATHER * max(np.ptp(rows), np.ptp(cols)))
    reach = int(np.ceil(feather)) + 1  # beyond this the mask is 0
    top, left = max(0, rows.min() - reach), max(0, cols.min() - reach)
    bottom, right = min(face.shape[0], rows.max() + reach + 1), min(face.shape[1], cols.max() + reach + 1)
    outside = distance_transform_edt(face[top:bottom, left:right] < 0.5)
    return np.clip(1.0 - outside / feather, 0.0, 1.0).astype(np.float32), (top, bottom, left, right)


def scaled_landmarks(landmarks: np.ndarray, source_size: tuple[int, int] | None,
                     size: tuple[int, int]) -> np.ndarray:
    """Landmarks of an image of `source_size` moved to an image of `size` (same framing)."""
    if source_size is None or tuple(source_size) == tuple(size):
        return landmarks[:, :2]
    return landmarks[:, :2] * (np.array(size, np.float32) / np.array(source_size, np.float32))
