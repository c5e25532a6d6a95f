"""The eye layer: each eye opening is a fan whose centre follows the iris (and the gaze). Opened no
wider than in the portrait it shows the portrait's own eye; opened wider, it fades to an eyeball made of
the portrait's own iris (a disc sampled around its iris centre, never stretched) on the portrait's
sclera colour, so a wide-open eye stays white and round instead of becoming a dark smear of lashes.
Nearly shut, its lids stay a lash line apart and the slit between them is drawn in the colour of its lashes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.retarget.ranges import LEFT_EYE_LIDS, RIGHT_EYE_LIDS
from nodes.track.face_model import EYES, LEFT_IRIS, RIGHT_IRIS, eye_widths, topology

IRIS_RINGS = ((469, 470, 471, 472), (474, 475, 476, 477))  # the iris outline points, right then left eye
UPPER_LOWER_LIDS = ((159, 145), (386, 374))  # mid upper and lower lid, right then left eye
EYEBALL_FROM, EYEBALL_FULL = 1.08, 1.4  # opening ratios (posed / portrait) where the eyeball fades in
CLOSED_FULL, CLOSED_FROM = 0.2, 0.5  # opening ratios where the slit left between the lids turns to lashes
LASH_DEPTH = 0.15  # of the portrait's lid gap: how far apart a shut eye's lids stay, the slit drawn as its lashes
# (single_face.mp4's blink: a lash line 2-3 px deep under a lid gap of 11-12 px open)
LASH_SAMPLES = (RIGHT_EYE_LIDS[2:5], LEFT_EYE_LIDS[2:5])  # (upper, lower) lid points across each eye's middle
LASH_INSET = 0.12  # of the way from those upper lid points to the lower ones: where an eye's lash colour is
# sampled (the darkest of three). The tracked upper lid runs along the lashes' top edge: single_face.mp4's
# lashes are 1-2 px below it, 20-40 grey levels darker.
LOWER_RIM = 0.5  # of the lid gap: how far below its tracked edge a shut eye's lower lid is drawn from
BEHIND_LIDS = 0.002  # depth offset: where a turned head's lid folds over the eye, the lid wins
IRIS_STRETCH = 1.5  # at most this stretch across an eye's upper or lower part where its iris moves (iris_place)


@dataclass(frozen=True)
class EyeballLook:
    """What the shader needs to draw eyeballs from the portrait, in portrait 0..1 coordinates:
    iris: (2, 2) iris centres; iris_radius: (2, 2) radii along x and y; sclera: (2, 2, 2) two sample
    points per eye on the white of the eye (between the iris and each corner); lashes: (2, 3, 2) points per
    eye just inside its upper lid's edge, on its lashes (`LASH_INSET`)."""

    iris: np.ndarray
    iris_radius: np.ndarray
    sclera: np.ndarray
    lashes: np.ndarray


def eyeball_look(src: np.ndarray, size: tuple[int, int]) -> EyeballLook:
    scale = np.array(size, np.float64)
    irises = np.array([src[RIGHT_IRIS, :2], src[LEFT_IRIS, :2]], np.float64)
    radii = np.array([iris_radius(src, e) for e in range(2)])
    sclera = np.array([[irises[e] + 0.6 * (src[corner, :2] - irises[e]) for corner in corners]
                       for e, (_, corners) in enumerate(EYES)])
    lashes = np.array([src[pairs[:, 0], :2] + LASH_INSET * (src[pairs[:, 1], :2] - src[pairs[:, 0], :2])
                       for pairs in LASH_SAMPLES])
    return EyeballLook(irises / scale, radii[:, None] / scale[None, :], sclera / scale, lashes / scale)


def iris_radius(points: np.ndarray, eye: int) -> float:
    """The iris radius in pixels: mean distance of its outline points from its centre."""
    centre = points[(RIGHT_IRIS, LEFT_IRIS)[eye], :2]
    return float(np.linalg.norm(points[list(IRIS_RINGS[eye]), :2] - centre, axis=1).mean()) or 1.0


def opening_ratio(src: np.ndarray, dst: np.ndarray, eye: int) -> float:
    """How open the posed eye is, as a share of the portrait's own (lid gap over eye width)."""
    upper, lower = UPPER_LOWER_LIDS[eye]
    src_open = np.linalg.norm(src[lower, :2] - src[upper, :2]) / eye_widths(src)[eye]
    dst_open = np.linalg.norm(dst[lower, :2] - dst[upper, :2]) / eye_widths(dst)[eye]
    return float(dst_open / max(src_open, 0.02))


def eyeball_weight(src: np.ndarray, dst: np.ndarray, eye: int) -> float:
    """0: the portrait's own eye; 1: the eyeball (the eye is opened much wider than in the portrait)."""
    return float(smoothstep(EYEBALL_FROM, EYEBALL_FULL, opening_ratio(src, dst, eye)))


def closure(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2,) per eye 0..1: how far the slit between nearly shut lids is drawn as lid skin, not eye."""
    return np.array([1.0 - smoothstep(CLOSED_FULL, CLOSED_FROM, opening_ratio(src, dst, eye)) for eye in range(2)])


def lash_gaps(src: np.ndarray, dst: np.ndarray, closures: np.ndarray) -> np.ndarray:
    """(478, 3) `dst` with each shutting eye's upper lid held LASH_DEPTH of the portrait's lid gap (times its
    closure, (2,) per eye) above its lower lid: that slit is drawn as the lashes (warp.frag), the one dark
    line a shut eye shows. Lids pressed together left only the lid edge's pixels, a line too thin and pale."""
    posed = dst.copy()
    for lids, (_, corners), shut in zip((RIGHT_EYE_LIDS, LEFT_EYE_LIDS), EYES, closures, strict=True):
        if shut <= 0.0:
            continue
        upper, lower = lids[:, 0], lids[:, 1]
        along = dst[corners[1], :2] - dst[corners[0], :2]
        up = np.array([along[1], -along[0]]) / max(float(np.linalg.norm(along)), 1e-6)
        if np.dot(up, (src[upper, :2] - src[lower, :2]).sum(axis=0)) < 0:
            up = -up
        depth = shut * LASH_DEPTH * np.linalg.norm(src[upper, :2] - src[lower, :2], axis=1)
        rise = (dst[upper, :2] - dst[lower, :2]) @ up  # may be negative: a lid posed past the other
        posed[upper, :2] += np.maximum(depth - rise, 0.0)[:, None] * up
    return posed


def shut_lid_uvs(src: np.ndarray, closures: np.ndarray) -> np.ndarray:
    """(478, 2) the portrait pixel each landmark's texture comes from: its own place, except that as an eye
    shuts (closures: (2,) per eye 0..1) its lower lid's edge is drawn from LOWER_RIM of the portrait's lid
    gap further down. The mesh tracks the lower lid just inside the opening, above its light, wet rim:
    pressed against the upper lid's lashes, that rim reads as a narrow open eye (dark, light, dark line)
    where a shut eye shows one lash line."""
    uvs = src[:, :2].astype(np.float64).copy()
    for lids, closure in zip((RIGHT_EYE_LIDS, LEFT_EYE_LIDS), closures, strict=True):
        uvs[lids[:, 1]] += closure * LOWER_RIM * (src[lids[:, 1], :2] - src[lids[:, 0], :2])
    return uvs


def eye_fans(src: np.ndarray, dst: np.ndarray, size: tuple[int, int], gaze_px: np.ndarray,
             depth: np.ndarray) -> list[tuple]:
    """Per eye: (positions (K, 2), depths (K,), portrait uvs (K, 2), eye coordinates (K, 2), eye,
    eyeball weight) of a triangle-list fan. Eye coordinates are in iris radii from the posed iris
    centre, so the shader's iris disc keeps its shape however the lids open. depth: (478,) per landmark;
    the eyeball sits just behind its lids."""
    topo = topology()
    scale = np.array(size, np.float64)
    fans = []
    for eye, (loop, iris) in enumerate(((topo.right_eye, RIGHT_IRIS), (topo.left_eye, LEFT_IRIS))):
        centre = iris_place(src, dst, eye, dst[iris, :2] + gaze_px[eye])
        ring = dst[loop, :2]
        count = len(loop)
        nxt = np.roll(np.arange(count), -1)
        positions = np.stack([np.broadcast_to(centre, ring.shape), ring, ring[nxt]], axis=1).reshape(-1, 2)
        ring_uv = src[loop, :2] / scale
        uvs = np.stack([np.broadcast_to(src[iris, :2] / scale, ring_uv.shape), ring_uv, ring_uv[nxt]],
                       axis=1).reshape(-1, 2)
        radius = iris_radius(src, eye) * eye_widths(dst)[eye] / eye_widths(src)[eye]
        eye_coords = (positions - centre) / radius
        ring_depth = depth[loop] + BEHIND_LIDS
        depths = np.stack([np.full(count, ring_depth.mean()), ring_depth, ring_depth[nxt]], axis=1).reshape(-1)
        fans.append((positions, depths, uvs, eye_coords, eye, eyeball_weight(src, dst, eye)))
    return fans


class EyeOpening:
    """An eye's opening in one set of landmarks, in its own coordinates: `at`, pixels along the eye from its
    first corner, and `fraction`, 0 on the upper lid to 1 on the lower one across it."""

    def __init__(self, points: np.ndarray, eye: int):
        lids = (RIGHT_EYE_LIDS, LEFT_EYE_LIDS)[eye]
        self.first, last = (points[corner, :2].astype(np.float64) for corner in EYES[eye][1])
        self.along = (last - self.first) / max(float(np.linalg.norm(last - self.first)), 1e-6)
        self.up = np.array([self.along[1], -self.along[0]])
        self._lids = [self._spans(points[side, :2]) for side in (lids[:, 0], lids[:, 1])]
        self.span = (max(at.min() for at, _ in self._lids), min(at.max() for at, _ in self._lids))

    def _spans(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        at, height = (points - self.first) @ self.along, (points - self.first) @ self.up
        order = np.argsort(at)
        return at[order], height[order]

    def _lid_heights(self, at: float) -> tuple[float, float]:
        (upper_at, upper), (lower_at, lower) = self._lids
        return float(np.interp(at, upper_at, upper)), float(np.interp(at, lower_at, lower))

    def locate(self, point: np.ndarray) -> tuple[float, float]:
        """(at, fraction) of a pixel; fraction 0.5 where the lids meet (a shut eye has no across)."""
        at, height = float((point - self.first) @ self.along), float((point - self.first) @ self.up)
        upper, lower = self._lid_heights(at)
        return at, (upper - height) / (upper - lower) if abs(upper - lower) > 1e-6 else 0.5

    def place(self, at: float, fraction: float) -> np.ndarray:
        """The pixel at (at, fraction), `at` held within the span both lids cover."""
        at = float(np.clip(at, *self.span))
        upper, lower = self._lid_heights(at)
        return self.first + at * self.along + (upper + fraction * (lower - upper)) * self.up


def iris_place(src: np.ndarray, dst: np.ndarray, eye: int, posed: np.ndarray) -> np.ndarray:
    """Where the eye's fan centres its iris: the posed iris, kept between the posed lids and no further
    across the opening from where the portrait's iris sits than stretches the eye's upper or lower part
    IRIS_STRETCH times. A shutting eye's iris stays up where it was, and a centre there made the fan reach
    over the upper lid (on a turned head, whose lid skin lies deeper, it showed through as dark slivers
    above a shut eye's lash line); a narrow eye's iris under its upper lid, posed at the lower one, drew
    the glint above it as a white bar down the eye."""
    _, own = EyeOpening(src, eye).locate(src[(RIGHT_IRIS, LEFT_IRIS)[eye], :2])
    own = float(np.clip(own, 0.0, 1.0))
    opening = EyeOpening(dst, eye)
    at, across = opening.locate(posed)
    lowest, highest = max(0.0, 1.0 - IRIS_STRETCH * (1.0 - own)), min(1.0, IRIS_STRETCH * own)
    return opening.place(at, float(np.clip(across, lowest, highest)))
