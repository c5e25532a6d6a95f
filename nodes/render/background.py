"""The background layer: everything outside the face (hair, glasses' arms, neck, the room), as one mesh
that shares the face outline's vertices, so face and background meet on the same edge and nothing is
drawn twice or torn apart.

The triangulation is made once per portrait, in the portrait's own pixels (Delaunay over a grid outside
the face, the face outline and the image border); per frame only its vertices move. Near the head they
follow the head's similarity transform (so hair and glasses stay rigid with it) plus the outline's own
non-rigid residual, fading out with distance; the image border is pinned.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay
from skimage.measure import points_in_poly

from nodes.render.ramps import smoothstep
from nodes.retarget.facing import facing
from nodes.track.face_model import CHIN, FOREHEAD, MESH_POINTS, topology


EDGE_ON = 0.2  # a face triangle whose corners face the camera less than this (retarget.facing) is seen edge-on
SILHOUETTE_REACH = 0.02  # of the longest side: how far past the edge-on triangles a turned face's skin reaches
SKIN_DISTANCE = 60.0  # RGB distance from the face's median colour within which a pixel counts as its skin
FOOT_BAND = 0.2  # of the height: with the torso put, motion up from the image's foot fades out across this band
NECK_SIDES = (1.0, 2.0)  # half the jaw's width from the chin, times these: the torso's share comes in between
NECK_SIDE_SHARE = 0.5  # up to this: in full, a lean with a roll notched a jacket's shoulder line beside the
# collar (the blend's edge runs across it), where half the head's motion left keeps the line one curve
JAW_ANGLES = (172, 397)  # face mesh landmarks: the jaw's angles, right and left


@dataclass(frozen=True)
class BackgroundMesh:
    """points: (N, 2) portrait pixels; the first len(outline) are the face outline's vertices, in
    `topology().outline` order. triangles: (T, 3) indices into points. For the points after the outline,
    fixed per portrait: outline_weights (N - K, K), how each follows the outline's non-rigid residual
    (inverse squared distance, rows summing to 1), and head_share (N - K,), how much of the head's
    motion reaches it (1 near the head, fading out with distance); neck_side (N - K,), how much of the
    torso's motion reaches it beside the neck (`beside_the_neck`, as far as NECK_SIDE_SHARE and the head's
    own reach: further out, the room swung about the neck folded the mesh)."""

    points: np.ndarray
    triangles: np.ndarray
    outline_weights: np.ndarray
    head_share: np.ndarray
    neck_side: np.ndarray


def background_mesh(src: np.ndarray, size: tuple[int, int], cells: int) -> BackgroundMesh:
    """Triangulate the portrait outside the face outline of `src` (478, 2|3) landmark pixels."""
    width, height = size
    outline = src[topology().outline, :2].astype(np.float64)
    step = max(width, height) / cells
    xs = np.linspace(0.0, width, max(2, round(width / step)) + 1)
    ys = np.linspace(0.0, height, max(2, round(height / step)) + 1)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    on_border = (grid[:, 0] == 0) | (grid[:, 1] == 0) | (grid[:, 0] == width) | (grid[:, 1] == height)
    near_face = np.min(np.linalg.norm(grid[:, None, :] - outline[None, :, :], axis=2), axis=1) < 0.6 * step
    outside = ~points_in_poly(grid, outline) & ~near_face
    corner = np.isin(grid[:, 0], (0, width)) & np.isin(grid[:, 1], (0, height))
    points = np.concatenate([outline, grid[((outside | on_border) & ~_blocks_outline(grid, outline)) | corner]])
    triangles = Delaunay(points).simplices
    centroids = points[triangles].mean(axis=1)
    keep = ~points_in_poly(centroids, outline)  # the face layer covers the inside
    others = points[len(outline):]
    weights = 1.0 / (((others[:, None, :] - outline[None, :, :]) ** 2).sum(axis=2) + 1.0)
    centre = src[:MESH_POINTS, :2].mean(axis=0)
    radius = np.linalg.norm(outline - centre, axis=1).max()
    head_share = 1.0 - smoothstep(1.1 * radius, 2.6 * radius, np.linalg.norm(others - centre, axis=1))
    return BackgroundMesh(points, triangles[keep].astype(np.int32), weights / weights.sum(axis=1, keepdims=True),
                          head_share, NECK_SIDE_SHARE * beside_the_neck(others, src) * head_share)


def beside_the_neck(points: np.ndarray, src: np.ndarray) -> np.ndarray:
    """(N,) 0..1: how far each of (N, 2) portrait pixels lies out to the side of the neck and below the jaw's
    angles, where what the portrait shows is the collar, the shoulders' top or a suit's neck ring, which
    move with the torso. Blended with the torso only by height, from the chin down, the astronaut's ring
    (rising to her chin beside the neck) bent with every roll of her head. Measured along the face's own
    axes, so a portrait on its side has its neck's sides where they are."""
    chin = src[CHIN, :2].astype(np.float64)
    down = chin - src[FOREHEAD, :2]
    down /= max(float(np.linalg.norm(down)), 1e-9)
    across = np.array([-down[1], down[0]])
    jaws = src[list(JAW_ANGLES), :2] - chin
    jaw_half = 0.5 * abs(float((jaws[1] - jaws[0]) @ across))
    jaw_level = float((jaws @ down).mean())  # above the chin: negative
    relative = points - chin
    aside = smoothstep(NECK_SIDES[0] * jaw_half, NECK_SIDES[1] * jaw_half, np.abs(relative @ across))
    return aside * smoothstep(1.5 * jaw_level, 0.0, relative @ down)


def _blocks_outline(points: np.ndarray, outline: np.ndarray) -> np.ndarray:
    """(N,) bool: points inside the circle on some outline edge as its diameter. Delaunay triangulates the
    convex hull, not the outline: an edge with such a point near it is left out, and the triangles across it
    are either dropped (a hole, drawn as black) or kept over the face. Without those points every outline
    edge is a Delaunay edge (the Gabriel condition), and the layers meet exactly on the outline."""
    ends = np.roll(outline, -1, axis=0)
    centres, radii = (outline + ends) / 2.0, np.linalg.norm(ends - outline, axis=1) / 2.0
    return (np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=2) < radii[None, :] + 1e-6).any(axis=1)


def face_cover(src: np.ndarray, size: tuple[int, int], rgb: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8, 255 where the face covers the portrait outside its own outline. A turned face's
    nose, far eye and far cheek lie beyond the outline, so the background layer holds a second copy of
    them; moved, that copy must give way to the room behind (the face layer draws them where they go).
    Given the portrait's pixels, the cover also takes the skin just past the face's edge-on triangles:
    the silhouette of a turned face's far side lies a few pixels past its mesh, and moved with the
    background it would trail the face as a detached line of skin (a doubled outline)."""
    width, height = size
    points = np.round(src[:, :2] * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    triangles = topology().triangles
    covered, edge_on = np.zeros((height, width), np.uint8), np.zeros((height, width), np.uint8)
    seen = facing(src)[triangles].mean(axis=1)
    for triangle, weight in zip(points[triangles], seen):
        cv2.fillConvexPoly(covered, triangle, 255, cv2.LINE_8, 4)
        if weight < EDGE_ON:
            cv2.fillConvexPoly(edge_on, triangle, 255, cv2.LINE_8, 4)
    inside = np.zeros_like(covered)
    cv2.fillPoly(inside, [points[topology().outline]], 255, cv2.LINE_8, 4)
    inside = cv2.dilate(inside, np.ones((5, 5), np.uint8))  # the outline's own pixels: the face's edge, not a copy
    if rgb is not None and edge_on.any():  # only a turned face has edge-on triangles
        reach = max(1, round(SILHOUETTE_REACH * max(width, height)))
        near = cv2.dilate(edge_on, np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
        skin = np.median(rgb[:, :, :3][inside > 0][::7], axis=0).astype(np.float32)  # a sample is enough
        rows, cols = np.nonzero(near)
        distance = np.linalg.norm(rgb[rows, cols, :3].astype(np.float32) - skin, axis=1)
        covered[rows[distance < SKIN_DISTANCE], cols[distance < SKIN_DISTANCE]] = 255
    return np.where(inside > 0, 0, covered).astype(np.uint8)


def solid_triangles(mesh: BackgroundMesh, person: np.ndarray | None, cover: np.ndarray) -> np.ndarray:
    """(T,) bool per background triangle: all of the portrait it samples is person (`person`: (H, W) uint8
    mask, 255 person; None: the whole portrait moves as the person) and none of it the face's `cover`.
    Moved, such a triangle shows the portrait as it is, with no room to give way to, so the lean STILL
    variant of background.frag draws it bit for bit as the full program would."""
    return _sampling_only(mesh, cover == 0 if person is None else (person == 255) & (cover == 0))


def covering_triangles(mesh: BackgroundMesh, cover: np.ndarray) -> np.ndarray:
    """(T,) bool per background triangle: some of the portrait it samples is the face's `cover`."""
    return ~_sampling_only(mesh, cover == 0)


def room_triangles(mesh: BackgroundMesh, person: np.ndarray | None) -> np.ndarray:
    """(T,) bool per background triangle: all of the portrait it samples is room, none of it person
    (`person` as for `solid_triangles`; None: there is no room, the whole portrait moves). Moved far
    enough (`warp_mesh.ROOM_PIXELS`), such a triangle shows the room where it lands, as the frame starts."""
    if person is None:
        return np.zeros(len(mesh.triangles), bool)
    return _sampling_only(mesh, person == 0)


def staying_triangles(mesh: BackgroundMesh, stays: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(T,) bool per background triangle twice: all of the portrait it samples is room that stays put, and
    some of it is (`stays`: (H, W) uint8, `PersonAndPlate.stays`; None: no plate, nothing stays put).
    Moved or not, the first kind shows the room where it lies, as the frame starts: at rest that is the
    same pixels, and a room does not move with the person."""
    if stays is None:
        return np.zeros(len(mesh.triangles), bool), np.zeros(len(mesh.triangles), bool)
    return _sampling_only(mesh, stays == 255), ~_sampling_only(mesh, stays == 0)


def _sampling_only(mesh: BackgroundMesh, inside: np.ndarray) -> np.ndarray:
    """(T,) bool: the triangle samples only pixels where `inside` (H, W) holds. Its footprint is taken as
    its bounding box and a pixel around (the bilinear samples at its edge)."""
    height, width = inside.shape
    corners = mesh.points[mesh.triangles]
    low = np.clip(np.floor(corners.min(axis=1)).astype(int) - 1, 0, [width - 1, height - 1])
    high = np.clip(np.ceil(corners.max(axis=1)).astype(int) + 2, 1, [width, height])
    # boxes wholly inside by a summed-area table: such a box counts as many pixels inside as it has
    table = np.pad(inside.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    count = (table[high[:, 1], high[:, 0]] - table[low[:, 1], high[:, 0]]
             - table[high[:, 1], low[:, 0]] + table[low[:, 1], low[:, 0]])
    return count == (high - low).prod(axis=1)


def moved_at_least(moves: np.ndarray, pixels: float) -> np.ndarray:
    """(T,) bool: every point of each triangle moved at least `pixels`, given its corners' (T, 3, 2)
    shifts: they all reach that far along their mean direction (inside a triangle a shift is their
    weighted mean, so it does too). Sure, not exact: a triangle that also turns may be missed."""
    mean = moves.mean(axis=1)
    direction = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-9)
    return np.einsum("tkc,tc->tk", moves, direction).min(axis=1) >= pixels


def background_positions(mesh: BackgroundMesh, src: np.ndarray, dst: np.ndarray, size: tuple[int, int],
                         torso: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """(N, 2) posed positions: the outline exactly where the face puts it, the rest moved by the head's
    similarity transform plus the outline's interpolated residual, faded with distance from the head.
    torso: (src, dst) (K, 2) body points (shoulders, neck base) in portrait pixels: below the chin the
    head's motion gives way to the torso's similarity transform, reaching it at the shoulder line, so
    the neck blends between the two, and beside the neck partly from the jaw's angles down (`neck_side`);
    without it the torso stays put, and motion up from the image's foot fades out across a band along it
    (beside the neck too: where the body's motion is not known, a webcam's, holding still what a moved head
    carries cost its self-reenactment 0.2 dB). Border points only slide along their border (geometry never
    leaves the frame uncovered)."""
    loop = topology().outline
    count = len(loop)
    anchors, targets = src[loop, :2].astype(np.float64), dst[loop, :2].astype(np.float64)
    scale_rotation, shift = _similarity(anchors, targets)
    residual = targets - (anchors @ scale_rotation.T + shift)
    points = mesh.points[count:]
    head = (points @ scale_rotation.T + shift - points + mesh.outline_weights @ residual) * mesh.head_share[:, None]
    chin = src[:MESH_POINTS, 1].max()
    if torso is None:
        radius = np.linalg.norm(anchors - src[:MESH_POINTS, :2].mean(axis=0), axis=1).max()
        below = 0.75 * smoothstep(chin, chin + 0.9 * radius, points[:, 1])
        moved = head * (1.0 - below)[:, None]  # the torso stays put
        # and so does the frame's foot, which cuts through it: held only on the border, a head lifted near
        # the foot (a tight crop) stretched the last grid cell (a shirt's edge pulled up into streaks)
        lifted = moved[:, 1] < 0.0
        moved[lifted, 1] *= smoothstep(0.0, FOOT_BAND * size[1], size[1] - points[lifted, 1])
    else:
        body_src, body_dst = (np.asarray(t, np.float64)[:, :2] for t in torso)
        body_matrix, body_shift = _similarity(body_src, body_dst)
        body = points @ body_matrix.T + body_shift - points
        shoulders = max(float(body_src[:, 1].mean()), chin + 1.0)
        share = np.maximum(smoothstep(chin, shoulders, points[:, 1]), mesh.neck_side)[:, None]
        moved = head * (1.0 - share) + body * share
    return np.concatenate([targets, points + _along_borders(points, moved, size)])


def _along_borders(points: np.ndarray, moved: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Displacements with the component that would take a border point off its border removed."""
    width, height = size
    moved = moved.copy()
    moved[(points[:, 0] <= 0) | (points[:, 0] >= width), 0] = 0.0
    moved[(points[:, 1] <= 0) | (points[:, 1] >= height), 1] = 0.0
    return moved


def _similarity(src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2x2 scale-rotation, shift) that best maps src to dst (least squares, no reflection)."""
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - mu_s, dst - mu_d
    u, sigma, vt = np.linalg.svd(b.T @ a)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = u @ np.diag([1.0, d]) @ vt
    scale = (sigma * [1.0, d]).sum() / max((a ** 2).sum(), 1e-9)
    matrix = scale * rotation
    return matrix, mu_d - mu_s @ matrix.T
