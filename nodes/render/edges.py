"""What the pose shows of a turned face's edge that the portrait shows only edge-on.

A three-quarter portrait holds its nose's far side and its far cheek in a thin strip at its silhouette:
a few pixels of skin, then the soft edge where skin blends into the room, then the room itself (the
face mesh reaches a little past the silhouette). A pose that turns the face back toward the camera, or
tilts it, spreads that strip wide; drawn as it is, the nose tip's edge reads as a second nose beside the
first, the blend and the room as a blue bite out of it. A face is nearly symmetric, so where the pose
stretches a point the portrait saw edge-on, or shows one the portrait's nose hid, whose left-right
counterpart it saw squarely, the face layer draws the counterpart's skin there (`EdgeReveal.mirror_fill`):
the far cheek takes the near cheek's. How squarely the photo saw a point is the lesser of the way its mesh
faces the camera and how much of a frontal face's area its triangles keep: the tracker's depth sets a
three-quarter face's far eye square to the camera, where the photo shows it squeezed to half its width,
its outer corner a blend of skin, lashes and the room. A point seen as squarely as its counterpart keeps
its own pixels however far a laugh stretches them, and so do the outline, the lips and the eyelids.

Past its silhouette the face mesh covers room: the notch under a three-quarter nose's tip, a strip
beside its bridge and along the far cheek. A head that only moves shows the room there (the plate), as
the person would; one turned back toward the camera shows its far cheek there, so as far as the head
turns back (`EdgeReveal.turned_back`, by its yaw) those pixels take skin: their counterpart's where it
looks like the person's colours carried past the silhouette (the near cheek, not the hair or ear beside
it), else those colours, which alone read as a flat patch."""
from __future__ import annotations

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.retarget.facing import facing, hidden, turned_share
from nodes.retarget.ranges import LOWER_LIP_RINGS, UPPER_LIP_RINGS
from nodes.track.face_model import euler_angles, mirror_points, procrustes, reference_shape, topology

BETTER_SEEN = (0.1, 0.4)  # how much more squarely a point's counterpart faces the camera in the portrait
STRETCHED = (1.15, 1.6)  # how much larger, in area, a point's triangles are than in the portrait (face size aside)
TURNED_BACK = (1.5, 7.0)  # degrees of yaw back toward the camera over which the room past a silhouette fills
EYE_EDGE_ON = 0.3  # an eye's point seen less squarely than this (a far eye's outer corner) is not kept as it is


class EdgeReveal:
    """For one portrait's landmarks `src` (478, 3): mirror_fill(dst) and turned_back(dst)."""

    def __init__(self, src: np.ndarray):
        self._yaw = _yaw(src)
        self._hidden = hidden(src)
        seen = np.minimum(facing(src), _squareness(src)) * ~self._hidden
        self._counterpart_better = (smoothstep(*BETTER_SEEN, seen[mirror_points()] - seen)
                                    * turned_share(self._yaw))
        # the outline keeps its own (the counterpart's edge blends into hair or an ear beside it), and so do
        # the lips and the eyelids, which fold behind themselves at any angle: each eye shuts on its own (a
        # wink), and the mouth's layers take the lips' own pixels; but not an eye's points the photo saw
        # edge-on: a three-quarter face's far outer corner is a blend of lashes and the room
        eyes = topology().regions["eyes"]
        own = np.concatenate([topology().outline, UPPER_LIP_RINGS.ravel(), LOWER_LIP_RINGS.ravel(),
                              eyes[seen[eyes] >= EYE_EDGE_ON]])
        self._counterpart_better[own] = 0.0
        self._areas = _triangle_areas(src)

    def mirror_fill(self, dst: np.ndarray) -> np.ndarray:
        """(478,) per posed landmark 0..1: how far the face layer draws its left-right counterpart's skin
        instead of its own, where the portrait saw the counterpart more squarely: wholly where a nearer
        part of the face hid the point (the pose shows it only once it turns back), else as far as the
        pose magnifies its triangles. 0 everywhere on a frontal portrait."""
        if not self._counterpart_better.any():  # a frontal portrait: nothing to measure, frame after frame
            return np.zeros(len(dst))
        areas = _triangle_areas(dst)
        magnified = areas / np.maximum(self._areas, 1e-6) * (self._areas.sum() / max(areas.sum(), 1e-6))
        return self._counterpart_better * np.maximum(self._hidden, smoothstep(*STRETCHED, _per_point(magnified)))

    def turned_back(self, dst: np.ndarray) -> float:
        """0..1: how far the pose `dst` ((478, 3) landmark pixels) turns the portrait's head back toward
        the camera, by its yaw; 0 for a pose turned further away, and for a frontal portrait (however far
        the pose turns it, it had nothing hidden to show)."""
        return float(smoothstep(*TURNED_BACK, min(np.sign(self._yaw) * (self._yaw - _yaw(dst)), abs(self._yaw))))


def _squareness(points: np.ndarray) -> np.ndarray:
    """(478,) per point, how squarely the photo shows the skin around it: its triangles' area against a
    frontal face's, relative to the whole face's (1 at most). The tracker's depth puts a three-quarter
    face's far eye square to the camera, while the photo shows it foreshortened to half its width."""
    areas, frontal = _triangle_areas(points), _triangle_areas(reference_shape())
    ratio = (areas / max(areas.sum(), 1e-9)) / np.maximum(frontal / frontal.sum(), 1e-12)
    return np.clip(_per_point(ratio), 0.0, 1.0)


def _per_point(per_triangle: np.ndarray) -> np.ndarray:
    """(478,) the mean over each landmark's mesh triangles of a (T,) value (0 for a point in none)."""
    corners = topology().triangles.ravel()
    count = len(reference_shape())
    return (np.bincount(corners, np.repeat(per_triangle, 3), count)
            / np.maximum(np.bincount(corners, minlength=count), 1))


def _yaw(points: np.ndarray) -> float:
    return euler_angles(procrustes(points, reference_shape()).rotation)[0]


def _triangle_areas(points: np.ndarray) -> np.ndarray:
    a, b, c = (points[topology().triangles[:, k], :2].astype(np.float64) for k in range(3))
    return 0.5 * np.abs((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])
