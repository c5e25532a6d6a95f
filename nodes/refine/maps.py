"""Conditioning maps for the refiner, rasterized from the posed landmarks (the same for training and
for the node): where the face is, where the mouth opening is, and where refinement may change pixels."""
from __future__ import annotations

import cv2
import numpy as np
from skimage.draw import polygon

from nodes.track.face_model import topology

FEATHER = 0.08  # of the face's size: how far outside the face the blend fades out
_SUBPIXEL_BITS = 4  # cv2.fillPoly takes fixed-point vertices: 1/16 px


def conditioning_maps(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """landmarks: (478, 2+) pixels of an image of `size` (width, height).
    Returns (H, W, 2) float32: face mask, mouth-opening mask, each 0 or 1."""
    width, height = size
    maps = np.zeros((height, width, 2), np.float32)
    # the face with OpenCV, 15x faster than skimage over the large face; its edge pixels differ (OpenCV fills
    # the outline too), which the blend's feather hides. The mouth with skimage: a shut mouth's thin polygon
    # covers no pixel centre there, but OpenCV would fill its outline as if the mouth were open.
    face = np.zeros((height, width), np.uint8)
    cv2.fillPoly(face, [np.round(landmarks[topology().outline, :2] * (1 << _SUBPIXEL_BITS)).astype(np.int32)], 1,
                 lineType=cv2.LINE_8, shift=_SUBPIXEL_BITS)
    maps[..., 0] = face
    mouth = topology().mouth
    rows, cols = polygon(landmarks[mouth, 1], landmarks[mouth, 0], (height, width))
    maps[rows, cols, 1] = 1.0
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
    left, top, width, height = cv2.boundingRect((face != 0).astype(np.uint8))
    if width == 0:
        return np.zeros((0, 0), np.float32), (0, 0, 0, 0)
    feather = max(2.0, FEATHER * (max(width, height) - 1))
    reach = int(np.ceil(feather)) + 1  # beyond this the mask is 0
    top, left, bottom, right = (max(0, top - reach), max(0, left - reach), min(face.shape[0], top + height + reach),
                                min(face.shape[1], left + width + reach))
    # exact Euclidean distance to the face (scipy's distance_transform_edt gives the same, 10x slower)
    outside = cv2.distanceTransform((face[top:bottom, left:right] < 0.5).astype(np.uint8), cv2.DIST_L2,
                                    cv2.DIST_MASK_PRECISE)
    return np.clip(1.0 - outside / feather, 0.0, 1.0).astype(np.float32), (top, bottom, left, right)


def scaled_landmarks(landmarks: np.ndarray, source_size: tuple[int, int] | None,
                     size: tuple[int, int]) -> np.ndarray:
    """Landmarks of an image of `source_size` moved to an image of `size` (same framing)."""
    if source_size is None or tuple(source_size) == tuple(size):
        return landmarks[:, :2]
    return landmarks[:, :2] * (np.array(size, np.float32) / np.array(source_size, np.float32))
