"""The face model shared by tracking, retargeting, the motion driver and rendering: MediaPipe's
mesh topology, landmark regions, a reference shape, and similarity Procrustes.

MediaPipe 0.10.21 ships the tessellation as an edge list (no triangles, no canonical model), so
triangles are recovered as the 3-cliques of the edge graph, dropping the few that are not faces
(all three edges already shared by two faces). The mesh has four boundary loops: the outline, the
mouth opening and the two eye openings.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from nodes.track.types import HeadPose
from app.runtime.paths import ASSETS_DIR

REFERENCE_SHAPE_PATH = ASSETS_DIR / "face" / "reference_shape.npy"
MESH_POINTS = 468  # the tessellated points; 468..477 are the two irises (5 points each)
RIGHT_IRIS, LEFT_IRIS = 468, 473  # iris centres (the subject's right and left eye)
RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS = (33, 133), (362, 263)
FOREHEAD, CHIN = 10, 152  # the forehead's top and the chin's bottom, on the face's midline
UPPER_INNER_LIP, LOWER_INNER_LIP = 13, 14
MOUTH_CORNERS = (61, 291)


@dataclass(frozen=True)
class Topology:
    triangles: np.ndarray  # (852, 3) int32 over the 468 mesh points
    outline: np.ndarray  # boundary loop of the whole face, in order
    mouth: np.ndarray  # boundary loop of the mouth opening (inner lips)
    right_eye: np.ndarray  # boundary loop of the right eye opening
    left_eye: np.ndarray
    regions: dict[str, np.ndarray]  # region name -> landmark indices (mouth, eyes, brows)


def _connections():
    from mediapipe.python.solutions import face_mesh_connections

    return face_mesh_connections


def _boundary_loops(edges: list[tuple[int, int]]) -> list[list[int]]:
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in neighbours:
        if start in seen:
            continue
        loop, prev, cur = [start], None, start
        seen.add(start)
        while True:
            nxt = next(n for n in neighbours[cur] if n != prev)
            if nxt == start:
                break
            loop.append(nxt)
            seen.add(nxt)
            prev, cur = cur, nxt
        loops.append(loop)
    return loops


def _edges_of(triangle: tuple[int, int, int]) -> tuple[tuple[int, int], ...]:
    a, b, c = triangle  # sorted, so each edge comes out in the same (low, high) order
    return (a, b), (a, c), (b, c)


@lru_cache(maxsize=1)
def topology() -> Topology:
    conn = _connections()
    edges = {tuple(sorted(e)) for e in conn.FACEMESH_TESSELATION}
    adjacent: dict[int, set[int]] = {}
    for a, b in edges:
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    cliques = {tuple(sorted((a, b, c))) for a, b in edges for c in adjacent[a] & adjacent[b]}
    use = Counter(e for t in cliques for e in _edges_of(t))
    faces = [t for t in cliques if not all(use[e] == 3 for e in _edges_of(t))]
    use = Counter(e for t in faces for e in _edges_of(t))
    loops = _boundary_loops([e for e, n in use.items() if n == 1])
    find = lambda index: np.array(next(l for l in loops if index in l), np.int32)  # noqa: E731
    regions = {
        "mouth": sorted({i for e in conn.FACEMESH_LIPS for i in e}),
        "eyes": sorted({i for e in conn.FACEMESH_LEFT_EYE | conn.FACEMESH_RIGHT_EYE for i in e}),
        "brows": sorted({i for e in conn.FACEMESH_LEFT_EYEBROW | conn.FACEMESH_RIGHT_EYEBROW for i in e}),
    }
    return Topology(np.array(sorted(faces), np.int32), np.array(max(loops, key=len), np.int32),
                    find(UPPER_INNER_LIP), find(RIGHT_EYE_CORNERS[0]), find(LEFT_EYE_CORNERS[0]),
                    {k: np.array(v, np.int32) for k, v in regions.items()})


def orient_to_head_frame(points: np.ndarray) -> np.ndarray:
    """Centre, scale to unit RMS radius and rotate so the eye line is +x and the face looks at -z
    (y down, as in images). The result is a reference shape in head space."""
    centred = points - points[:MESH_POINTS].mean(axis=0)
    x_axis = centred[LEFT_EYE_CORNERS[1]] - centred[RIGHT_EYE_CORNERS[0]]  # subject's right -> left
    x_axis /= np.linalg.norm(x_axis)
    down = centred[CHIN] - centred[FOREHEAD]
    y_axis = down - x_axis * (down @ x_axis)
    y_axis /= np.linalg.norm(y_axis)
    frame = np.stack([x_axis, y_axis, np.cross(x_axis, y_axis)])
    oriented = centred @ frame.T
    return (oriented / np.sqrt((oriented[:MESH_POINTS] ** 2).sum(axis=1).mean())).astype(np.float32)


@lru_cache(maxsize=1)
def reference_shape() -> np.ndarray:
    """(478, 3) float32 head-space shape that head poses are measured against (see make_reference)."""
    return np.load(REFERENCE_SHAPE_PATH, allow_pickle=False)


@lru_cache(maxsize=1)
def mirror_points() -> np.ndarray:
    """(478,) each landmark's left-right counterpart (points on the face's middle line are their own; the
    irises are left as they are). The reference shape is a tracked face, symmetric only to about 0.04
    head units, so counterparts are the best one-to-one matching of its mirror image onto it."""
    from scipy.optimize import linear_sum_assignment

    mesh = reference_shape()[:MESH_POINTS].astype(np.float64)
    mirrored = mesh * np.array([-1.0, 1.0, 1.0])
    distance = np.linalg.norm(mirrored[:, None, :] - mesh[None, :, :], axis=2)
    _, counterpart = linear_sum_assignment(distance + distance.T)  # symmetric cost: pairs match both ways
    return np.concatenate([counterpart, np.arange(MESH_POINTS, len(reference_shape()))])


def procrustes(points: np.ndarray, reference: np.ndarray) -> HeadPose:
    """Similarity transform with points ≈ scale·R·reference + t (Umeyama), fitted on the mesh points."""
    src, dst = reference[:MESH_POINTS].astype(np.float64), points[:MESH_POINTS].astype(np.float64)
    mu_src, mu_dst = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_src, dst - mu_dst
    u, sigma, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt))
    fix = np.diag([1.0, 1.0, d])
    rotation = u @ fix @ vt
    scale = float((sigma * np.diag(fix)).sum() / (a ** 2).sum())
    return HeadPose(rotation, mu_dst - scale * rotation @ mu_src, scale)


def to_head_space(points: np.ndarray, pose: HeadPose) -> np.ndarray:
    return ((points - pose.translation) @ pose.rotation / pose.scale).astype(np.float32)


def from_head_space(shape: np.ndarray, pose: HeadPose) -> np.ndarray:
    return (pose.scale * shape @ pose.rotation.T + pose.translation).astype(np.float32)


def euler_angles(rotation: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees for R = Rz(roll)·Ry(yaw)·Rx(pitch); roll is in the image plane."""
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(yaw), float(pitch), float(roll)


def rotation_from_euler(yaw: float, pitch: float, roll: float) -> np.ndarray:
    y, p, r = np.radians([yaw, pitch, roll])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rz @ ry @ rx


EYES = ((RIGHT_IRIS, RIGHT_EYE_CORNERS), (LEFT_IRIS, LEFT_EYE_CORNERS))


def eye_widths(points: np.ndarray) -> np.ndarray:
    """(2,) corner-to-corner width of the right and left eye, in the points' units (never 0)."""
    widths = np.array([np.linalg.norm(points[b, :2] - points[a, :2]) for _, (a, b) in EYES])
    return np.where(widths > 0, widths, 1.0)


def gaze_of(shape: np.ndarray) -> np.ndarray:
    """(2, 2) iris offset from the eye-corner midpoint, in eye widths, per eye (right, left)."""
    centres = np.array([(shape[a, :2] + shape[b, :2]) / 2 for _, (a, b) in EYES])
    irises = shape[[iris for iris, _ in EYES], :2]
    return ((irises - centres) / eye_widths(shape)[:, None]).astype(np.float32)


def brow_height(shape: np.ndarray) -> float:
    """How high both brows sit above the eye corners in a head-space shape (y points down)."""
    corners = shape[[*RIGHT_EYE_CORNERS, *LEFT_EYE_CORNERS], 1].mean()
    return float(corners - shape[topology().regions["brows"], 1].mean())


def mouth_opening(shape: np.ndarray) -> float:
    """Inner-lip gap over mouth width: 0 closed, about 0.5 wide open."""
    width = np.linalg.norm(shape[MOUTH_CORNERS[1], :2] - shape[MOUTH_CORNERS[0], :2]) or 1.0
    return float(np.linalg.norm(shape[LOWER_INNER_LIP, :2] - shape[UPPER_INNER_LIP, :2]) / width)


def smile_width(shape: np.ndarray) -> float:
    """Mouth-corner distance over the outer eye-corner distance (frontal plane): about 0.58 relaxed,
    over 0.7 in a broad smile, on the faces this project was measured on."""
    eyes = np.linalg.norm(shape[LEFT_EYE_CORNERS[1], :2] - shape[RIGHT_EYE_CORNERS[0], :2]) or 1.0
    return float(np.linalg.norm(shape[MOUTH_CORNERS[1], :2] - shape[MOUTH_CORNERS[0], :2]) / eyes)


def make_reference(path: Path) -> np.ndarray:
    """Build the reference shape from a frontal portrait (the bundled astronaut was used)."""
    from nodes.track.mediapipe_face import FaceMeshDetector
    from nodes.capture.image import read_image_file

    pixels, _ = read_image_file(path, 2048)
    faces = FaceMeshDetector(static=True, max_faces=1).detect(pixels[:, :, :3])
    if not faces:
        raise ValueError(f"no face found in {path}")
    return orient_to_head_frame(faces[0])
