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
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import splu

from nodes.render.ramps import smoothstep
from nodes.track.face_model import MESH_POINTS, topology

SPREAD = (1.5, 3.0)  # an outline point's triangles this many times their area (for the face's size): from, fully
RINGS = 3  # how many rings of points in from the outline share the stretch
CARRIED = 0.7  # each ring in takes this much of the next ring out's weight
HELD = 1e-3  # how firmly a band point is held at its own place in the harmonic map (its neighbours: about 1)
FEATURES = ("FACEMESH_LIPS", "FACEMESH_LEFT_EYE", "FACEMESH_RIGHT_EYE", "FACEMESH_LEFT_EYEBROW",
            "FACEMESH_RIGHT_EYEBROW", "FACEMESH_NOSE")  # their points keep their own texture


class StretchedEdge:
    """One portrait's band of points along its face outline, made once; `uvs` per frame (about half a
    millisecond: what the mesh's topology fixes is worked out once a process, `_layout`)."""

    def __init__(self, src: np.ndarray):
        self._band, self._reach, self._fans, self._entries = _layout()
        fan_points, fan_triangles = self._fans
        rest = src[:MESH_POINTS, :2].astype(np.float64)
        self._areas = _areas(rest, topology().triangles)
        self._fan_areas = np.bincount(fan_points, self._areas[fan_triangles], minlength=len(topology().outline))
        # the harmonic map at rest is not the portrait's own (the mesh is irregular): only its change is used
        self._at_rest = self._system(rest)

    def uvs(self, dst: np.ndarray, uvs: np.ndarray, own: np.ndarray | None = None) -> np.ndarray:
        """(478, 2) texture pixels `uvs` (the portrait's own, one per landmark), the band's moved by how the
        harmonic map changes from rest to the posed (478, 2|3) `dst`, as far as the pose spreads the
        outline's fans. own: (478,) 0..1, how far each point draws something else anyway (a turned portrait's
        counterpart skin): none of the relaxing there."""
        posed = dst[:MESH_POINTS, :2].astype(np.float64)
        if not np.isfinite(posed).all():
            return uvs
        areas = _areas(posed, topology().triangles)
        fan_points, fan_triangles = self._fans
        fans = np.bincount(fan_points, areas[fan_triangles], minlength=len(self._fan_areas))
        spread = fans / np.maximum(self._fan_areas, 1e-9)
        spread /= max(areas.sum() / max(self._areas.sum(), 1e-9), 1e-9)  # a face come nearer is not spread
        outline_weight = smoothstep(*SPREAD, spread)
        if not outline_weight.any():
            return uvs
        weight = (self._reach * outline_weight[None, :]).max(axis=1)
        if own is not None:
            weight *= 1.0 - np.clip(own[self._band], 0.0, 1.0)
        relaxed = uvs.copy()
        relaxed[self._band] += weight[:, None] * (self._harmonic(self._system(posed), uvs)
                                                  - self._harmonic(self._at_rest, uvs))
        return relaxed

    def _system(self, points: np.ndarray) -> tuple:
        """The band's texture pixels H as a harmonic map over the mesh at `points`: each band point where the
        cotangent-weighted mean of its neighbours puts it (the weights clipped to be positive, so the map stays
        within its boundary's values: a folded far side cannot throw it out; a point left with no weight is
        held at its own place, softly). (The system's LU, the weights of the points outside the band on its
        right-hand side.) Sparse: SuperLU solves it on this thread, where a dense solve woke NumPy's BLAS pool."""
        entries, count = self._entries, len(self._band)
        weights = _cotangent_weights(points, topology().triangles)
        data = np.concatenate([np.full(count, HELD), entries.signs * weights[entries.sources]])
        system = sparse.csc_matrix((data, (entries.rows, entries.columns)), shape=(count, count))
        return splu(system), weights[entries.outside_sources]

    def _harmonic(self, system: tuple, uvs: np.ndarray) -> np.ndarray:
        """(B, 2) the band's texture pixels that `system` (`_system`) gives for everyone else's `uvs`."""
        factors, outside_weights = system
        rows, points = self._entries.outside_rows, self._entries.outside_points
        target = HELD * uvs[self._band]
        for axis in range(2):
            target[:, axis] += np.bincount(rows, outside_weights * uvs[points, axis], minlength=len(self._band))
        return factors.solve(target)


@lru_cache(maxsize=1)
def _layout() -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], _Entries]:
    """What the face mesh's topology fixes: the band's points (up to RINGS in from the outline, not the
    outline's or the features'), how much of each outline point's spread reaches each of them (CARRIED per
    ring in), each outline point's fan of triangles (outline indices, triangle indices: summed by bincount, as
    a product would wake NumPy's BLAS pool), and where the harmonic system's entries go."""
    from mediapipe.python.solutions import face_mesh_connections

    topo = topology()
    triangles = topo.triangles
    rings = _rings_from(topo.outline, triangles)
    kept = set(topo.outline.tolist())
    for name in FEATURES:
        kept |= {i for edge in getattr(face_mesh_connections, name) for i in edge}
    band = np.array([i for i in range(MESH_POINTS) if rings[i] <= RINGS and i not in kept], np.int64)
    steps = np.stack([_rings_from(np.array([point]), triangles)[band] for point in topo.outline], axis=1)
    reach = np.where(steps <= RINGS, CARRIED ** steps.astype(np.float64), 0.0)
    fans = np.nonzero((triangles[None, :, :] == topo.outline[:, None, None]).any(axis=2))
    return band, reach, fans, _system_entries(band, triangles)


@dataclass(frozen=True)
class _Entries:
    """Where each of `_cotangent_weights`' (3T,) edge weights goes in the band's harmonic system: the matrix's
    (rows, columns) (the held diagonal first), and for the entries after it the weight's sign and index
    (`sources`); for the points outside the band, which go to the right-hand side, their weights' indices,
    the band rows they are in and the points themselves."""

    rows: np.ndarray
    columns: np.ndarray
    signs: np.ndarray
    sources: np.ndarray
    outside_sources: np.ndarray
    outside_rows: np.ndarray
    outside_points: np.ndarray


def _system_entries(band: np.ndarray, triangles: np.ndarray) -> _Entries:
    place = np.full(MESH_POINTS, -1)
    place[band] = np.arange(len(band))
    count = len(triangles)
    rows, columns, signs, sources = [np.arange(len(band))], [np.arange(len(band))], [], []
    outside: list[list[np.ndarray]] = [[], [], []]
    for k in range(3):
        a, b = triangles[:, k], triangles[:, (k + 1) % 3]
        index = k * count + np.arange(count)
        for row, column in ((a, b), (b, a)):  # the edge's weight in both of its ends' rows
            mine, other = place[row] >= 0, place[column] >= 0
            rows += [place[row][mine], place[row][mine & other]]
            columns += [place[row][mine], place[column][mine & other]]
            signs += [np.ones(mine.sum()), -np.ones((mine & other).sum())]
            sources += [index[mine], index[mine & other]]
            away = mine & ~other
            for part, values in zip(outside, (index[away], place[row][away], column[away])):
                part.append(values)
    return _Entries(*(np.concatenate(part) for part in (rows, columns, signs, sources, *outside)))


def _cotangent_weights(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(3T,) half the cotangent of the angle opposite each triangle's edge k (corner k to k+1), clipped to be
    positive, k-major."""
    weights = []
    for k in range(3):
        a, b, opposite = triangles[:, k], triangles[:, (k + 1) % 3], triangles[:, (k + 2) % 3]
        u, v = points[a] - points[opposite], points[b] - points[opposite]
        area = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
        weights.append(0.5 * np.clip((u * v).sum(axis=1) / np.maximum(area, 1e-9), 0.0, 10.0))
    return np.concatenate(weights)


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
