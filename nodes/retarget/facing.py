"""How squarely each landmark of a face faces the camera, and whether a nearer part of the face hides it,
from the face mesh's own 3D points.

A turned portrait shows its far side foreshortened into a thin strip at its silhouette: a few pixels
hold what, moved by an expression, must cover many. Retargeting lets such points follow the source's
expression only as far as they face the camera, so a smile or a dropped jaw does not drag the strip
(skin edge and the room behind it) out past the silhouette as a translucent smear.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from nodes.track.face_model import MESH_POINTS, reference_shape, topology

HIDDEN, SEEN = -0.05, 0.2  # the camera-ward component of a point's normal: from hidden to fully seen


@lru_cache(maxsize=1)
def _front_facing_triangles() -> np.ndarray:
    """(T, 3) the mesh's triangles wound so that each faces the camera in the frontal reference face
    (MediaPipe's own winding is mixed). Smaller z is nearer the camera."""
    triangles = topology().triangles.copy()
    shape = reference_shape()
    backward = _triangle_normals(shape, triangles)[:, 2] > 0
    triangles[backward] = triangles[backward][:, [0, 2, 1]]
    return triangles


def _triangle_normals(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = (points[triangles[:, k]].astype(np.float64) for k in range(3))
    return np.cross(b - a, c - a)


def facing(landmarks: np.ndarray) -> np.ndarray:
    """(478,) 0..1 per landmark of a (478, 3) face (pixels, z like x, smaller nearer): 1 where the face
    faces the camera, 0 where it is seen edge-on or from behind (the irises: 1)."""
    triangles = _front_facing_triangles()
    sums = np.zeros((len(landmarks), 3))
    normals = _triangle_normals(landmarks, triangles)
    for corner in range(3):
        np.add.at(sums, triangles[:, corner], normals)
    toward = -sums[:, 2] / np.maximum(np.linalg.norm(sums, axis=1), 1e-12)
    weights = np.clip((toward - HIDDEN) / (SEEN - HIDDEN), 0.0, 1.0)
    weights[MESH_POINTS:] = 1.0
    return weights


TURNED = (5.0, 15.0)  # degrees of a portrait's own yaw over which it comes to count as turned


def turned_share(yaw: float) -> float:
    """0..1: how far a portrait whose head is turned `yaw` degrees (either way) counts as turned, its far
    side foreshortened at its silhouette: 0 for a frontal one, rising evenly across TURNED."""
    return float(np.clip((abs(yaw) - TURNED[0]) / (TURNED[1] - TURNED[0]), 0.0, 1.0))


HIDING_DEPTH = 0.03  # face widths nearer than a point a surface must be to hide it (not the point's own skin)


def hidden(landmarks: np.ndarray) -> np.ndarray:
    """(478,) bool per landmark of a (478, 3) face (pixels, z like x, smaller nearer): a nearer part of the
    face covers it, as a three-quarter nose covers the cheek behind it (that cheek faces the camera, so
    `facing` alone does not say it cannot be seen); the irises: never."""
    points = landmarks[:MESH_POINTS].astype(np.float64)
    triangles = topology().triangles
    corners = points[triangles]  # (T, 3, 3)
    low, high = corners[:, :, :2].min(axis=1), corners[:, :, :2].max(axis=1)
    margin = HIDING_DEPTH * max(float(np.ptp(points[:, 0])), 1.0)
    # only (triangle, point) pairs where the point is in the triangle's box, nearer than it, and not its corner
    near_enough = corners[:, :, 2].min(axis=1)[:, None] < points[None, :, 2] - margin
    in_box = ((points[None, :, 0] >= low[:, None, 0]) & (points[None, :, 0] <= high[:, None, 0])
              & (points[None, :, 1] >= low[:, None, 1]) & (points[None, :, 1] <= high[:, None, 1]))
    tri, point = np.nonzero(in_box & near_enough)
    keep = (triangles[tri] != point[:, None]).all(axis=1)
    tri, point = tri[keep], point[keep]
    a, b, c = corners[tri, 0], corners[tri, 1], corners[tri, 2]
    ab, ac, ap = b[:, :2] - a[:, :2], c[:, :2] - a[:, :2], points[point, :2] - a[:, :2]
    area = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]
    area = np.where(np.abs(area) > 1e-6, area, np.nan)  # a triangle seen edge-on covers nothing
    v = (ap[:, 0] * ac[:, 1] - ap[:, 1] * ac[:, 0]) / area
    w = (ab[:, 0] * ap[:, 1] - ab[:, 1] * ap[:, 0]) / area
    depth = a[:, 2] + v * (b[:, 2] - a[:, 2]) + w * (c[:, 2] - a[:, 2])
    covering = (v >= 0) & (w >= 0) & (v + w <= 1) & (depth < points[point, 2] - margin)
    result = np.zeros(len(landmarks), bool)
    result[point[covering]] = True
    return result
