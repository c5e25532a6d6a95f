"""The render mesh: triangles that move the target portrait from its tracked landmarks (`src`) to
the retargeted ones (`dst`). Pure NumPy, so an independent CPU warp can be checked against it.

Draw order (painter's, no depth test):
1. a grid over the whole image whose vertices follow the face outline's motion, fading with distance
   and pinned at the image border, so hair, neck and background move without tearing;
2. the mouth interior, filling the mouth opening: synthetic where the mouth opens wider than in
   the portrait, the portrait's own interior otherwise;
3. the face mesh (852 triangles), plus the eye openings as fans around the irises, whose centre
   moves with the gaze.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from nodes.track.face_model import LEFT_IRIS, MESH_POINTS, MOUTH_CORNERS, RIGHT_IRIS, topology

VERTEX_FLOATS = 5  # x, y (pixels), u, v (0..1 portrait coordinates, or mouth coordinates), shade


@dataclass(frozen=True)
class WarpMesh:
    """(N, 5) float32 triangle-list vertices in draw order."""

    vertices: np.ndarray


def grid_displacement(points: np.ndarray, src: np.ndarray, dst: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Displacement (N, 2) of background points: inverse-distance interpolation of the face outline's
    displacement, faded out beyond the head and towards the shoulders, zero on the image border."""
    outline = topology().outline
    anchors, moves = src[outline, :2], (dst - src)[outline, :2]
    centre = src[:MESH_POINTS, :2].mean(axis=0)
    radius = np.linalg.norm(anchors - centre, axis=1).max()
    d2 = ((points[:, None, :] - anchors[None, :, :]) ** 2).sum(axis=2) + (1e-3 * radius) ** 2
    weights = 1.0 / d2
    moved = (weights @ moves) / weights.sum(axis=1, keepdims=True)
    distance = np.linalg.norm(points - centre, axis=1)
    fade = 1.0 - _smoothstep(1.05 * radius, 2.4 * radius, distance)
    chin = src[:MESH_POINTS, 1].max()
    fade *= 1.0 - 0.75 * _smoothstep(chin, chin + 0.9 * radius, points[:, 1])  # the torso stays put
    width, height = size
    border = (points[:, 0] <= 0) | (points[:, 1] <= 0) | (points[:, 0] >= width) | (points[:, 1] >= height)
    fade[border] = 0.0
    return moved * fade[:, None]


def _smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@lru_cache(maxsize=8)
def _grid_layout(cells: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Grid points (N, 2) and triangle-list indices; the same every frame for one size."""
    xs, ys = np.linspace(0, width, cells + 1), np.linspace(0, height, cells + 1)
    points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    i, j = np.meshgrid(np.arange(cells), np.arange(cells))
    corner = (j * (cells + 1) + i).ravel()
    quads = np.stack([corner, corner + 1, corner + cells + 2, corner + cells + 1], axis=1)
    tris = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]).ravel()
    points.flags.writeable = tris.flags.writeable = False  # shared through the cache
    return points, tris


def _grid(src, dst, size, cells: int) -> np.ndarray:
    width, height = size
    points, tris = _grid_layout(cells, int(width), int(height))
    moved = points + grid_displacement(points, src, dst, size)
    return _pack(moved[tris], points[tris] / (width, height), 0.0)


def mouth_excess(src: np.ndarray, dst: np.ndarray) -> float:
    """How much wider (0..1) the posed mouth opens than the portrait's: 1 draws a synthetic interior."""
    loop = topology().mouth
    area = lambda p: 0.5 * abs(np.dot(p[:, 0], np.roll(p[:, 1], 1)) - np.dot(p[:, 1], np.roll(p[:, 0], 1)))  # noqa: E731
    before, after = area(src[loop, :2]), area(dst[loop, :2])
    width = np.linalg.norm(dst[MOUTH_CORNERS[0], :2] - dst[MOUTH_CORNERS[1], :2]) or 1.0
    return float(np.clip((after - 1.3 * before) / (0.04 * width * width), 0.0, 1.0))


DRIVER_SHADE = 2.0  # the mouth layer samples the driver's frame (its own teeth and tongue), not the portrait


def _mouth(src, dst, size, driver_mouth: np.ndarray | None) -> np.ndarray:
    loop = topology().mouth
    ring, original = dst[loop, :2], src[loop, :2]
    excess = mouth_excess(src, dst)
    if excess > 0.0 and driver_mouth is not None:  # the driver's inner-lip ring, in its frame's 0..1 coordinates
        return _fan(ring, ring.mean(axis=0), driver_mouth, driver_mouth.mean(axis=0), DRIVER_SHADE)
    if excess > 0.0:  # mouth coordinates: u across the mouth, v from the upper to the lower lip
        lo, hi = ring.min(axis=0), ring.max(axis=0)
        coords = (ring - lo) / np.maximum(hi - lo, 1e-3)
        centre_coord = np.array([0.5, 0.5])
    else:
        coords, centre_coord = original / size, original.mean(axis=0) / size
    return _fan(ring, ring.mean(axis=0), coords, centre_coord, excess)


def _fan(ring, centre, ring_uv, centre_uv, shade: float) -> np.ndarray:
    count = len(ring)
    nxt = np.roll(np.arange(count), -1)
    positions = np.stack([np.broadcast_to(centre, ring.shape), ring, ring[nxt]], axis=1).reshape(-1, 2)
    uvs = np.stack([np.broadcast_to(centre_uv, ring_uv.shape), ring_uv, ring_uv[nxt]], axis=1).reshape(-1, 2)
    return _pack(positions, uvs, shade)


def _pack(positions: np.ndarray, uvs: np.ndarray, shade: float) -> np.ndarray:
    out = np.empty((len(positions), VERTEX_FLOATS), np.float32)
    out[:, :2], out[:, 2:4], out[:, 4] = positions, uvs, shade
    return out


def driver_mouth_uv(driver_landmarks: np.ndarray, driver_size: tuple[int, int]) -> np.ndarray:
    """(K, 2) the driver's inner-lip ring in its frame's 0..1 coordinates (the mouth layer's source)."""
    return driver_landmarks[topology().mouth, :2] / np.array(driver_size, np.float64)


def build_warp_mesh(src: np.ndarray, dst: np.ndarray, size: tuple[int, int], grid_cells: int = 32,
                    gaze_px: np.ndarray | None = None, driver_mouth: np.ndarray | None = None) -> WarpMesh:
    """src, dst: (478, 2|3) landmark pixels in the portrait before/after; size: (width, height);
    gaze_px: (2, 2) iris shift in pixels for the right and left eye; driver_mouth: the driver's mouth
    ring (`driver_mouth_uv`) to fill an opened mouth from, else a drawn interior."""
    topo = topology()
    scale = np.array(size, np.float64)
    layers = [_grid(src, dst, size, grid_cells), _mouth(src, dst, scale, driver_mouth)]
    tris = topo.triangles.ravel()
    layers.append(_pack(dst[tris, :2], src[tris, :2] / scale, 0.0))
    shifts = np.zeros((2, 2)) if gaze_px is None else gaze_px
    for loop, iris, shift in ((topo.right_eye, RIGHT_IRIS, shifts[0]), (topo.left_eye, LEFT_IRIS, shifts[1])):
        layers.append(_fan(dst[loop, :2], dst[iris, :2] + shift, src[loop, :2] / scale,
                           src[iris, :2] / scale, 0.0))
    return WarpMesh(np.concatenate(layers))
