"""Mixing two recorded frames: a short cross-fade after a change of frame (so it does not pop), and the
blend of the best two frames.

Blending two frames' pixels needs their faces to agree, or the blend shows two faces: the other frame
is first warped so that its face landmarks land on the kept frame's (piecewise linear between the
landmarks, fading to no motion at the image border, where the room stays put). The blend then has the
kept frame's geometry and goes on with its FaceTrack; only the texture (shading, teeth, wrinkles) mixes.
"""
from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import Delaunay

from nodes.track.face_model import MESH_POINTS

GRID_STEP = 8  # pixels between the points where the warp is computed exactly (linear in between)
BORDER_POINTS = 8  # points that do not move, per side of a rectangle just around the image
SUBPIXEL_BITS = 4  # triangles are drawn onto the grid with 1/16 of a grid step's precision
SUBPIXEL = 1 << SUBPIXEL_BITS
MAX_WALK = 32  # steps from a drawn triangle towards a grid point's own (a few are needed; a sliver may cycle)


class LandmarkWarp:
    """Moves other frames' faces onto one face: `points`, its (478, 2+) landmark pixels in a frame of
    `size` (width, height).

    What depends on that face alone is found once here: the triangle among its landmarks and the fixed
    border points that holds each grid point, and where in it. Moving a frame onto it then costs a
    weighted sum of the other face's landmarks, a resize and a remap.
    """

    def __init__(self, points: np.ndarray, size: tuple[int, int]):
        width, height = size
        self.size = size
        # the warp is computed exactly at the centres of GRID_STEP-pixel cells (one more cell on each side,
        # so every pixel lies between centres) and cv2.resize, whose pixel centres these are, fills in between
        centres = [(np.arange(-1, -(-side // GRID_STEP) + 1) + 0.5) * GRID_STEP - 0.5 for side in (width, height)]
        grid = np.stack(np.meshgrid(*centres), axis=-1)
        self._grid_shape = grid.shape[:2]
        # fixed points on a rectangle just outside the grid, so every grid point is inside a triangle
        low, high = grid[0, 0] - GRID_STEP, grid[-1, -1] + GRID_STEP
        x_side, y_side = (np.linspace(a, b, BORDER_POINTS) for a, b in zip(low, high, strict=True))
        self._border = np.concatenate(
            [np.stack([x_side, np.full(BORDER_POINTS, y)], axis=1) for y in (low[1], high[1])]
            + [np.stack([np.full(BORDER_POINTS, x), y_side], axis=1) for x in (low[0], high[0])])
        vertices = np.concatenate([points[:MESH_POINTS, :2], self._border])
        triangulation = Delaunay(vertices)
        corners = triangulation.simplices  # (T, 3)
        flat = grid.reshape(-1, 2)
        # each grid point's triangle: first drawn onto the grid by number (exact to 1/16 of a step), then,
        # for points on or near an edge that got a neighbour of their own, walked across the edge they lie
        # beyond. scipy's own point location took 10 to 400 ms here, varying with the machine's load.
        on_grid = np.round((vertices - grid[0, 0]) / GRID_STEP * SUBPIXEL).astype(np.int32)
        number = np.zeros(self._grid_shape, np.int32)
        for i, triangle in enumerate(corners):
            cv2.fillConvexPoly(number, on_grid[triangle], i, lineType=cv2.LINE_8, shift=SUBPIXEL_BITS)
        found = number.ravel()
        for _ in range(MAX_WALK):
            weights = barycentric(flat, vertices[corners[found]])
            outside = np.flatnonzero(weights.min(axis=1) < -1e-9)
            if not len(outside):
                break
            across = triangulation.neighbors[found[outside], weights[outside].argmin(axis=1)]
            found[outside] = np.where(across >= 0, across, found[outside])  # the hull: the border, never crossed
        self._corners = corners[found]  # (G, 3) vertices of each grid point's triangle
        self._weights = barycentric(flat, vertices[self._corners])

    def apply(self, old: np.ndarray, old_points: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 `old` moved so that its (478, 2+) landmark pixels `old_points` land on this
        warp's face; the image border (nearly) does not move."""
        width, height = self.size
        # output pixel -> where to read it in `old`: a landmark of this face reads the same landmark of the old
        sources = np.concatenate([old_points[:MESH_POINTS, :2], self._border])
        coarse = np.einsum("gk,gkc->gc", self._weights, sources[self._corners]).astype(np.float32)
        coarse = coarse.reshape(*self._grid_shape, 2)
        rows, columns = self._grid_shape
        full = cv2.resize(coarse, (columns * GRID_STEP, rows * GRID_STEP), interpolation=cv2.INTER_LINEAR)
        full = full[GRID_STEP:GRID_STEP + height, GRID_STEP:GRID_STEP + width]
        return cv2.remap(np.ascontiguousarray(old), full[..., 0], full[..., 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)


def barycentric(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(N, 3) weights of each of N points' (N, 2) triangle's three (N, 3, 2) corners that give the point
    (slightly negative for a point just outside its triangle: it is extrapolated)."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    ab, ac, ap = b - a, c - a, points - a
    area = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]
    area = np.where(np.abs(area) < 1e-9, 1e-9, area)  # a flat triangle (landmarks on one line)
    w_b = (ap[:, 0] * ac[:, 1] - ap[:, 1] * ac[:, 0]) / area
    w_c = (ab[:, 0] * ap[:, 1] - ab[:, 1] * ap[:, 0]) / area
    return np.stack([1.0 - w_b - w_c, w_b, w_c], axis=1)


def cross_fade(old: np.ndarray, old_points: np.ndarray, new: np.ndarray, onto_new: LandmarkWarp,
               new_share: float) -> np.ndarray:
    """(H, W, 3) uint8: `new` with `1 - new_share` of `old` (warped onto it) mixed in. old, new: (H, W, 3)
    uint8 RGB of one size; old_points: old's (478, 2+) landmark pixels; onto_new: the warp onto new's face."""
    moved = onto_new.apply(old, old_points)
    return cv2.addWeighted(np.ascontiguousarray(new), new_share, moved, 1.0 - new_share, 0.0)
