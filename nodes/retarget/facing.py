"""How squarely each landmark of a face faces the camera, from the face mesh's own 3D points.

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
