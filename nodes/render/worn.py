"""What a person wears below the face moves with the torso, not bent with the neck.

Between chin and shoulders the background blends from the head's motion to the torso's by height
(`background.background_positions`), which suits neck skin and hair but not clothing: under a strong tilt
the astronaut's metal neck ring bent up with her neck. The selfie segmentation does not tell clothing from
hair, so colour does: below the mouth, what is neither the face's skin nor the hair above the forehead is
worn (clothing the colour of the hair is not told apart).
"""
from __future__ import annotations

import cv2
import numpy as np

from nodes.render.ramps import smoothstep
from nodes.track.face_model import MESH_POINTS, MOUTH_CORNERS, topology

APART = 22.0  # CIELAB distance from both the skin's and the hair's colour past which a pixel is not either...
SHADE_WEIGHT = 0.35  # ...with lightness weighed down: the neck under the chin is skin in shadow
WORKING_SIDE = 320  # pixels: the longest side the colours are read at
FRINGE = 2  # pixels (at WORKING_SIDE): the person's edge and lines this thin are left out
HAIR_BAND = (0.3, 0.06)  # the hair sampled above the face's top, from / to this share of its height above it
HAIR_LEAST = 0.02  # a sample of fewer pixels (of the face's box) is no sample: a bald head, a cropped top
WORN_SHARE = (0.35, 0.75)  # a vertex's window this much worn, from nothing to all of it moves with the torso
# ...but only this far from the face's outline (in grid cells): next to the jaw, a collar held still against a
# tilting head tore the mesh there into dark wedges; a little way off, it stretches evenly
OUTLINE_CLEAR = (0.5, 1.5)


def worn_share(points: np.ndarray, src: np.ndarray, rgb: np.ndarray, person: np.ndarray | None,
               cell: float) -> np.ndarray:
    """(N,) 0..1 per background vertex (`points`, portrait pixels): how far it is clothing. src: (478, 2|3)
    the portrait's landmark pixels; rgb: (H, W, 3) uint8 its pixels; person: (H, W) uint8, 255 person
    (None: all of it); cell: the background grid's cell side in pixels (a vertex reads the two around it,
    so the mesh shears evenly between what moves with the head and what moves with the torso)."""
    scale = min(1.0, WORKING_SIDE / max(rgb.shape[:2]))  # the share is as coarse as the grid: no need for more
    small = cv2.resize(rgb[:, :, :3], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    mask = None if person is None else cv2.resize(person, small.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    scaled = src[:, :2] * [small.shape[1] / rgb.shape[1], small.shape[0] / rgb.shape[0]]
    side = max(3, int(round(cell * scale)) | 1)
    share = cv2.blur(worn_pixels(scaled, small, mask, side).astype(np.float32), (2 * side + 1, 2 * side + 1))
    xs = np.clip(np.round(points[:, 0] * scale).astype(int), 0, small.shape[1] - 1)
    ys = np.clip(np.round(points[:, 1] * scale).astype(int), 0, small.shape[0] - 1)
    outline = src[topology().outline, :2]
    mouth, chin = src[list(MOUTH_CORNERS), 1].mean(), src[:MESH_POINTS, 1].max()
    clear = np.linalg.norm(points[:, None, :] - outline[None, :, :], axis=2).min(axis=1) / cell
    return (smoothstep(*WORN_SHARE, share[ys, xs]) * smoothstep(mouth, chin, points[:, 1])
            * smoothstep(*OUTLINE_CLEAR, clear))


def worn_pixels(src: np.ndarray, rgb: np.ndarray, person: np.ndarray | None, beside: int) -> np.ndarray:
    """(H, W) bool: the person's pixels that are neither the face's skin nor its hair in colour (less the
    silhouette's fringe and lines thinner than FRINGE), and the room within `beside` pixels of them."""
    lab = cv2.cvtColor(rgb[:, :, :3].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    outline = src[topology().outline, :2]
    face = _inside(outline, rgb.shape[:2])
    apart = (_distance(lab, np.median(lab[face], axis=0)) > APART) & ~face
    hair = _hair_sample(lab, outline, person)
    if hair is not None:
        apart &= _distance(lab, hair) > APART
    fringe = np.ones((2 * FRINGE + 1, 2 * FRINGE + 1), np.uint8)
    if person is not None:  # the silhouette's fringe mixes in the room's colour
        apart &= cv2.erode(person, fringe) == 255
    # thin lines (a jacket's edge, a strand of hair against the light) are not clothing either
    apart = cv2.morphologyEx(apart.astype(np.uint8), cv2.MORPH_OPEN, fringe)
    if person is None:
        return apart > 0
    # and the room just beside it: moved with the head, it tore the clothing's edge into dark wedges
    return (apart > 0) | (cv2.dilate(apart, np.ones((beside, beside), np.uint8)) > 0) & (person == 0)


def _distance(lab: np.ndarray, colour: np.ndarray) -> np.ndarray:
    weights = np.array([SHADE_WEIGHT, 1.0, 1.0], np.float32)
    return np.linalg.norm((lab - colour) * weights, axis=2)


def _inside(outline: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    return mask > 0


def _hair_sample(lab: np.ndarray, outline: np.ndarray, person: np.ndarray | None) -> np.ndarray | None:
    """The median colour of the person in a band above the face's top, across its width; None where too
    little of the person is there."""
    left, top = outline.min(axis=0)
    right, bottom = outline.max(axis=0)
    tall = bottom - top
    rows = slice(max(0, int(top - HAIR_BAND[0] * tall)), max(0, int(top - HAIR_BAND[1] * tall)))
    cols = slice(max(0, int(left)), max(0, int(right)))
    band = lab[rows, cols].reshape(-1, 3)
    if person is not None:
        band = band[(person[rows, cols] == 255).ravel()]
    if len(band) < HAIR_LEAST * tall * (right - left):
        return None
    return np.median(band, axis=0)
