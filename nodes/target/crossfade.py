"""A short cross-fade between two recorded frames, so a change of frame does not pop.

Blending two frames' pixels needs their faces to agree, or the blend shows two faces: the frame faded
from is first warped so that its face landmarks land on the new frame's (piecewise linear between the
landmarks, fading to no motion at the image border, where the room stays put). The blend then has the
new frame's geometry and goes on with the new frame's FaceTrack; only the texture (shading, teeth,
wrinkles) changes over those few frames.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import LinearNDInterpolator

from nodes.track.face_model import MESH_POINTS

GRID_STEP = 8  # pixels between the points where the warp is computed exactly (linear in between)
BORDER_POINTS = 8  # points that do not move, per side of a rectangle just around the image


def landmark_warp(old: np.ndarray, old_points: np.ndarray, new_points: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 `old` moved so that its (478, 2+) landmark pixels `old_points` land on `new_points`;
    the image border (nearly) does not move."""
    height, width = old.shape[:2]
    # the warp is computed exactly at the centres of GRID_STEP-pixel cells (one more cell on each side, so
    # every pixel lies between centres) and cv2.resize, whose pixel centres these are, fills in between
    centres = [(np.arange(-1, -(-size // GRID_STEP) + 1) + 0.5) * GRID_STEP - 0.5 for size in (width, height)]
    grid = np.stack(np.meshgrid(*centres), axis=-1)
    # fixed points on a rectangle just outside the grid, so every grid point is inside a triangle (finding
    # the triangle of a point outside them all is slow, and it has no value)
    low, high = grid[0, 0] - GRID_STEP, grid[-1, -1] + GRID_STEP
    x_side, y_side = (np.linspace(a, b, BORDER_POINTS) for a, b in zip(low, high, strict=True))
    border = np.concatenate([np.stack([x_side, np.full(BORDER_POINTS, y)], axis=1) for y in (low[1], high[1])]
                            + [np.stack([np.full(BORDER_POINTS, x), y_side], axis=1) for x in (low[0], high[0])])
    # output pixel -> where to read it in `old`: a landmark of the new face reads the same landmark of the old
    source_of = LinearNDInterpolator(np.concatenate([new_points[:MESH_POINTS, :2], border]),
                                     np.concatenate([old_points[:MESH_POINTS, :2], border]))
    coarse = source_of(grid).astype(np.float32)
    full = cv2.resize(coarse, (grid.shape[1] * GRID_STEP, grid.shape[0] * GRID_STEP), interpolation=cv2.INTER_LINEAR)
    full = full[GRID_STEP:GRID_STEP + height, GRID_STEP:GRID_STEP + width]
    return cv2.remap(np.ascontiguousarray(old), full[..., 0], full[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def cross_fade(old: np.ndarray, old_points: np.ndarray, new: np.ndarray, new_points: np.ndarray,
               new_share: float) -> np.ndarray:
    """(H, W, 3) uint8: `new` with `1 - new_share` of `old` (warped onto it) mixed in. old, new: (H, W, 3)
    uint8 RGB of one size; old_points, new_points: their (478, 2+) landmark pixels."""
    moved = landmark_warp(old, old_points, new_points)
    return cv2.addWeighted(np.ascontiguousarray(new), new_share, moved, 1.0 - new_share, 0.0)
