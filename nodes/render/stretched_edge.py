"""A face's edge stretched by a turn draws its texture from further in.

A cheek turned toward the camera spreads the strip along the face's outline that the photo saw nearly
edge-on: its triangles grow two to four times as wide, and what the photo shows there (an ear's rim, hair
at the temple, wrinkles, a glasses arm) was stretched into streaks across the cheek (Hopper, wolfgang
frames 250 and 394). The photo has no squarer view of that skin, but it has the cheek just inside it.
Where the outline's triangles are spread, the points a few rings in from the outline move their texture
coordinates by how a harmonic map over the mesh changes from rest to the pose (the outline and the features
keep their own), so the stretch spreads over the band instead of piling up in its outer ring: the cheek's
own skin reaches further out, and the edge's content stays at the edge. The posed shape is not changed,
only where its skin is read from, and only where the pose spreads the outline past SPREAD: nothing at rest,
at small turns, or when the face moves, turns in the picture or scales as a whole.
"""
from __future__ import annotations

from collections import deque

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.track.face_model import MESH_POINTS, topology

SPREAD = (1.5, 3.0)  # an outline point's triangles this many times their area (for the face's size): from, fully
RINGS = 3  # how many rings of points in from the outline share the stretch
CARRIED = 0.7  # each ring in takes this much of the next ring out's weight
HELD = 1e-3  # how firmly a band point is held at its own place in the harmonic map (its neighbours: about 1)
FEATURES = ("FACEMESH_LIPS", "FACEMESH_LEFT_EYE", "FACEMESH_RIGHT_EYE", "FACEMESH_LEFT_EYEBROW",
            "FACEMESH_RIGHT_EYEBROW", "FACEMESH_NOSE")  # their points keep their own texture


class StretchedEdge:
    """One portrait's band of points along its face outline, made once; `uvs` per frame."""

    def __init__(self, src: np.ndarray):
        from mediapipe.python.solutions import face_mesh_connections

        topo = topology()
        rest = src[:MESH_POINTS, :2].astype(np.float64)
        rings = _rings_from(topo.outline, topo.triangles)
        kept = set(topo.outline.tolist())
        for name in FEATURES:
            kept |= {i for edge in getattr(face_mesh_connections, name) for i in edge}
        self._band = np.array([i for i in range(MESH_POINTS) if rings[i] <= RINGS and i not in kept], np.int64)
        self._place = np.full(MESH_POINTS, -1)  # a point's index in the band, -1 outside it
        self._place[self._band] = np.arange(len(self._band))
        # each outline point's fan: the triangles around it, whose area the pose spreads as it turns
        self._fans = (topo.triangles[None, :, :] == topo.outline[:, None, None]).any(axis=2).astype(np.float64)
        self._outline = topo.outline
        self._areas = _areas(rest, topo.triangles)
        # the harmonic map at rest is not the portrait's own (the mesh is irregular): only its change is used
        self._at_rest = np.linalg.solve(*self._system(rest, topo.triangles))

    def uvs(self, dst: np.ndarray, uvs: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
        """(478, 2) texture pixels `uvs` (the portrait's own, one per landmark), the band's moved by how the
        harmonic map changes from rest to the posed (478, 2|3) `dst`, as far as the pose spreads the
        outline's fans. own: (478,) 0..1, how far each point draws something else anyway (a turned portrait's
        counterpart skin): none of the relaxing there."""
        triangles = topology().triangles
        posed = dst[:MESH_POINTS, :2].astype(np.float64)
        areas = _areas(posed, triangles)
        spread = (self._fans @ areas) / np.maximum(self._fans @ self._areas, 1e-9)
        spread /= max(areas.sum() / max(self._areas.sum(), 1e-9), 1e-9)  # a face come nearer is not spread
        weight = np.zeros(MESH_POINTS)
        weight[self._outline] = smoothstep(*SPREAD, spread)
        if not weight.any():
            return uvs
        for _ in range(RINGS):  # carried inward, fading
            nearest = np.zeros(MESH_POINTS)
            np.maximum.at(nearest, triangles.ravel(), np.repeat(weight[triangles].max(axis=1), 3))
            weight = np.maximum(weight, CARRIED * nearest)
        if own is not None:
            weight *= 1.0 - np.clip(own[:MESH_POINTS], 0.0, 1.0)
        system, coupling = self._system(posed, triangles)
        change = np.linalg.solve(system, coupling @ uvs[:MESH_POINTS]) - self._at_rest @ uvs[:MESH_POINTS]
        relaxed = uvs.copy()
        relaxed[self._band] += weight[self._band, None] * change
        return relaxed

    def _system(self, points: np.ndarray, triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(B x B system, B x 468 coupling): the band's texture pixels H as a harmonic map over the mesh at
        `points` solve system @ H = coupling @ uvs: each band point where the cotangent-weighted mean of its
        neighbours puts it (the weights clipped to be positive, so the map stays within its boundary's values:
        a folded far side cannot throw it out; a point left with no weight is held at its own place, softly)."""
        count = len(self._band)
        system = HELD * np.eye(count)
        coupling = np.zeros((count, MESH_POINTS))
        coupling[np.arange(count), self._band] = HELD
        for k in range(3):
            a, b, opposite = triangles[:, k], triangles[:, (k + 1) % 3], triangles[:, (k + 2) % 3]
            u, v = points[a] - points[opposite], points[b] - points[opposite]
            area = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
            weight = 0.5 * np.clip((u * v).sum(axis=1) / np.maximum(area, 1e-9), 0.0, 10.0)
            for row, column in ((a, b), (b, a)):  # the edge's weight in both of its ends' rows
                place, other = self._place[row], self._place[column]
                mine = place >= 0
                np.add.at(system, (place[mine], place[mine]), weight[mine])
                inside = mine & (other >= 0)
                np.add.at(system, (place[inside], other[inside]), -weight[inside])
                outside = mine & (other < 0)
                np.add.at(coupling, (place[outside], column[outside]), weight[outside])
        return system, coupling


def _rings_from(start: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(468,) how many mesh edges each point is from the points `start` (breadth first)."""
    neighbours: list[set[int]] = [set() for _ in range(MESH_POINTS)]
    for a, b, c in triangles.tolist():
        neighbours[a] |= {b, c}
        neighbours[b] |= {a, c}
        neighbours[c] |= {a, b}
    rings = np.full(MESH_POINTS, MESH_POINTS)
    rings[start] = 0
    queue = deque(start.tolist())
    while queue:
        point = queue.popleft()
        for other in neighbours[point]:
            if rings[other] > rings[point] + 1:
                rings[other] = rings[point] + 1
                queue.append(other)
    return rings


def _areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T,) each triangle's area at `points`."""
    corners = points[triangles]
    first, second = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return 0.5 * np.abs(first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0])
