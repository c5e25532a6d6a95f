"""An independent CPU warp of the face mesh (scikit-image's piecewise-affine warp): the oracle the
GL renderer is tested against, and the baseline `reenact bench` compares it with."""
from __future__ import annotations

import numpy as np
from skimage.transform import PiecewiseAffineTransform, warp

from nodes.track.face_model import MESH_POINTS


def cpu_warp(image: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Move (H, W, 3) uint8 `image` so that face-mesh points `src` (478, 2+) land on `dst`.
    Outside the mesh's hull the result is black."""
    transform = PiecewiseAffineTransform()
    if not transform.estimate(dst[:MESH_POINTS, :2], src[:MESH_POINTS, :2]):  # output -> input mapping
        raise ValueError("the mesh points are degenerate")
    return warp(image, transform, order=1, preserve_range=True).astype(np.uint8)
