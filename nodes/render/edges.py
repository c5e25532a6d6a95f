"""What the pose shows of a turned face's edge that the portrait shows only edge-on.

A three-quarter portrait holds its nose's far side and its far cheek in a thin strip at its silhouette:
a few pixels of skin, then the soft edge where skin blends into the room, then the room itself (the
face mesh reaches a little past the silhouette). A pose that turns the face back toward the camera
spreads that strip wide; drawn as it is, the blend and the room read as a blue bite out of the nose.
Per landmark, two weights tell the face layer where to draw skin instead (the person's colours carried
past their edge, plate.person_extended): where the pose both turns it toward the camera and stretches it.
Either alone is not enough: a laugh stretches a far temple that stays at the silhouette (its blend is
the room there), and a turn alone spreads nothing wide.

Past its silhouette the face mesh covers room: the notch under a three-quarter nose's tip, a strip
beside its bridge and along the far cheek. A head that only moves shows the room there (the plate), as
the person would; one turned back toward the camera shows its far cheek there, so as far as the head
turns back (`EdgeReveal.turned_back`, by its yaw) those pixels take the person's carried colours too."""
from __future__ import annotations

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.retarget.facing import facing
from nodes.track.face_model import euler_angles, procrustes, reference_shape, topology

REVEALED = (0.02, 0.12)  # how much more squarely a point faces the camera than in the portrait
STRETCHED = (1.15, 1.6)  # how much larger, in area, a point's triangles are than in the portrait (face size aside)
TURNED_BACK = (2.0, 12.0)  # degrees of yaw back toward the camera over which the room past a silhouette fills


class EdgeReveal:
    """For one portrait's landmarks `src` (478, 3): weights(dst) -> (478, 2) per posed landmark 0..1,
    revealed (the pose turns it toward the camera) and stretched (its triangles are magnified), and
    turned_back(dst)."""

    def __init__(self, src: np.ndarray):
        self._seen = facing(src)
        self._areas = _triangle_areas(src)
        self._yaw = _yaw(src)

    def weights(self, dst: np.ndarray) -> np.ndarray:
        areas = _triangle_areas(dst)
        magnified = areas / np.maximum(self._areas, 1e-6) * (self._areas.sum() / max(areas.sum(), 1e-6))
        triangles = topology().triangles
        corners, count = triangles.ravel(), len(dst)
        per_point = (np.bincount(corners, np.repeat(magnified, 3), count)
                     / np.maximum(np.bincount(corners, minlength=count), 1))
        return np.stack([smoothstep(*REVEALED, facing(dst) - self._seen), smoothstep(*STRETCHED, per_point)], axis=1)

    def turned_back(self, dst: np.ndarray) -> float:
        """0..1: how far the pose `dst` ((478, 3) landmark pixels) turns the portrait's head back toward
        the camera, by its yaw; 0 for a pose turned further away, and for a frontal portrait (however far
        the pose turns it, it had nothing hidden to show)."""
        return float(smoothstep(*TURNED_BACK, min(np.sign(self._yaw) * (self._yaw - _yaw(dst)), abs(self._yaw))))


def _yaw(points: np.ndarray) -> float:
    return euler_angles(procrustes(points, reference_shape()).rotation)[0]


def _triangle_areas(points: np.ndarray) -> np.ndarray:
    a, b, c = (points[topology().triangles[:, k], :2].astype(np.float64) for k in range(3))
    return 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
