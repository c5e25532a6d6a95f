"""The render mesh: triangles that move the target portrait from its tracked landmarks (`src`) to the
retargeted ones (`dst`), in layers that share vertices where they meet. Pure NumPy, so an independent
CPU warp can be checked against it.

Layers (drawn with a depth test, so a turned face hides its own far side instead of folding over it):
1. background: the portrait outside the face, triangulated once around the face outline's own vertices
   (background.py), so face and background share one edge: no seam, nothing drawn twice;
2. face: the face mesh (852 triangles) at the depth of its tracked landmarks;
3. mouth: the portrait's own interior split between the jaws where its teeth end (teeth.py), and where
   the mouth opens wider than in the portrait, the gap between them from the driver's own mouth (when
   given) or a drawn cavity, over the portrait's own upper teeth mirrored as its lower teeth (mouth.py);
4. eyes: fans around the irises, the portrait's own eye fading into an eyeball when opened wider (eyes.py).

Each vertex: x, y (pixels), depth (0 near .. 1 far), u, v (portrait 0..1), s, t (the layer's own
coordinates; the face's: where in the portrait its left-right counterpart is, edges.py), layer (LAYER_*
code, plus as its fraction the eyeball weight for eyes, for the mouth's gap how far it is shaded into the
cavity toward its corners, for the face how far it draws its counterpart's skin, `EdgeReveal.mirror_fill`).
The background, most of the pixels, is drawn by its own lean program from x, y, depth, u, v; it shows
the portrait only where its person mask says person and the portrait moved, elsewhere the static plate
behind the person (plate.py), so a head that moves away uncovers the room, not a smear.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.render.edges import EdgeReveal
from nodes.render.background import (BackgroundMesh, background_mesh, background_positions, covering_triangles,
                                     face_cover, moved_at_least, room_triangles, solid_triangles, staying_triangles)
from nodes.render.eyes import EyeballLook, closure, eye_fans, eyeball_look, lash_gaps, shut_lid_uvs
from nodes.render.glasses import WithTheHead
from nodes.render.mouth import LOWER_TEETH, DriverMouth, mouth_strip
from nodes.render.plate import PersonAndPlate
from nodes.render.stretched_edge import StretchedEdge
from nodes.render.teeth import HALVES, JawSplit, jaw_split
from nodes.track.face_model import MESH_POINTS, mirror_points, topology

VERTEX_FLOATS, BACKGROUND_FLOATS = 8, 5
LAYER_TEXTURED, LAYER_MOUTH_DRAWN, LAYER_MOUTH_DRIVER, LAYER_EYE = 0.0, 1.0, 2.0, 3.0  # eyes: 3 right, 5 left
LAYER_LOWER_TEETH = 7.0  # the portrait's own upper teeth mirrored as its lower teeth, in their shadow
MAX_FRACTION = 0.99  # a layer's fraction stays under this: warp.frag reads the code as floor(layer + 1e-3)
BACKGROUND_DEPTH = 0.999
# background.frag's smoothstep(STILL_PIXELS, room_from) of how far a pixel moved: under the first it shows the
# portrait as it is, from the second on the room where it lies (the plate), not where the mesh took it. An
# inpainted plate is a guess, so the room is carried a while (ROOM_PIXELS); a room seen behind the person (a
# target video's) is the room itself, and carried further it bent a door's panels beside a moving head
STILL_PIXELS, ROOM_PIXELS, SEEN_ROOM_PIXELS = 2.0, 12.0, 5.0
UNMOVED_PIXELS = 1e-3


def room_from(plate: PersonAndPlate | None) -> float:
    """Pixels moved from which the room shows the plate where it lands (background.frag's `room_from`)."""
    return SEEN_ROOM_PIXELS if plate is not None and plate.seen else ROOM_PIXELS


@dataclass(frozen=True)
class WarpMesh:
    """background: (M, BACKGROUND_FLOATS) float32 triangle-list vertices of the background layer (x, y,
    depth, u, v), drawn first by its own lean program, the first `background_still` of them moved by less
    than STILL_PIXELS or all person (`solid_triangles`), leaner still: no plate (the first
    `background_unmoved` of those not moved at all, read without the cubic: see sharp_sample.glsl); those from
    `background_shown` show the plate where they lie, which the frame starts as, so its full pass leaves
    them out: all room that stays put (`staying_triangles`), or all room moved by ROOM_PIXELS or more
    everywhere (`room_triangles`); vertices: (N, VERTEX_FLOATS) the other layers, the first `textured` of
    them the portrait's own pixels (LAYER_TEXTURED), the rest its mouth and eyes;
    eyes: the portrait's eyeballs; eye_closure: (2,) per eye how far its slit is drawn as lid skin;
    face_cover: (H, W) uint8, the portrait's pixels the face draws outside its outline (`face_cover`),
    the same array for every frame of a portrait; driver_share: how much of the mouth's gap the
    driver's own mouth fills (`DriverMouth.share`), the rest a plain cavity; gap_own: the share of the
    gap drawn from the portrait's own interior (1 when it opens no wider than the portrait's);
    turned_back: 0..1, how far the pose turns a turned head back toward the camera
    (`EdgeReveal.turned_back`): the room its face mesh covers past its silhouette is drawn in the
    person's carried colours that far; turned: whether any of the face draws its counterpart's skin
    (`EdgeReveal.mirror_fill`) or turned_back is above 0 (a frontal portrait's skin needs neither)."""

    background: np.ndarray
    background_unmoved: int
    background_still: int
    background_shown: int
    vertices: np.ndarray
    textured: int
    eyes: EyeballLook
    eye_closure: np.ndarray
    face_cover: np.ndarray
    driver_share: float = 1.0
    gap_own: float = 1.0
    turned_back: float = 0.0
    turned: bool = False


class MeshBuilder:
    """Builds the mesh for one portrait's landmarks `src`, frame after frame: the background triangulation
    is made once, and a grin with the teeth together eases in and out across frames (`mouth_strip`)."""

    def __init__(self, src: np.ndarray, size: tuple[int, int], grid_cells: int = 32, rgb: np.ndarray | None = None,
                 plate: PersonAndPlate | None = None, glasses: bool = False):
        """rgb: the portrait's (H, W, 3) pixels, read for where its mouth interior splits between the jaws
        and where its skin reaches past the mesh; without them the interior is split in halves. plate:
        its person and the room behind them, shown where a person moves away (plate.py); None where the
        whole portrait moves. glasses: the portrait wears them: what they cover moves with the head alone
        (glasses.py)."""
        self.src, self.size = src, size
        self._glasses = WithTheHead(src) if glasses else None
        self.jaws: JawSplit = HALVES if rgb is None else jaw_split(rgb, src)
        self.background: BackgroundMesh = background_mesh(src, size, grid_cells)
        self.eyes = eyeball_look(src, size)
        self.face_cover = face_cover(src, size, rgb)
        person = None if plate is None else plate.mask_bytes()
        self._solid = solid_triangles(self.background, person, self.face_cover)
        self._covering = covering_triangles(self.background, self.face_cover)
        self._room = room_triangles(self.background, person)
        self._stays, self._partly_stays = staying_triangles(self.background, None if plate is None else plate.stays)
        self._room_from = room_from(plate)
        self.edges = EdgeReveal(src)
        self._stretched_edge = StretchedEdge(src)
        self._grin: float | None = None  # the last frame's grin with the teeth together (`mouth_strip`)

    def build(self, dst: np.ndarray, gaze_px: np.ndarray | None = None, driver_mouth: DriverMouth | None = None,
              torso: tuple[np.ndarray, np.ndarray] | None = None, lips_cover: float = 0.0) -> WarpMesh:
        """dst: (478, 3) posed landmark pixels; gaze_px: (2, 2) iris shift in pixels per eye (right,
        left); driver_mouth: the driver's mouth (`mouth.DriverMouth`) to fill an opened mouth from,
        else a drawn cavity; torso: (src, dst) shoulder and neck points the body follows; lips_cover:
        the share of the portrait's own mouth interior its lips cover (`Motion.lips_cover`)."""
        src, scale = self.src, np.array(self.size, np.float64)
        if self._glasses is not None:
            dst = self._glasses.posed(dst)
        depth = landmark_depth(dst)
        topo = topology()
        textured, features = [], []  # textured first: they are drawn by a program of their own
        positions = background_positions(self.background, src, dst, self.size, torso)
        outline_depth = depth[topo.outline]
        point_depth = np.concatenate([outline_depth, np.full(len(positions) - len(outline_depth), BACKGROUND_DEPTH)])
        # the triangles that moved less than background.frag looks at the plate for (and hold no room that stays
        # put, which that program would move), or hold only the person (nothing for the room to show through),
        # come first: drawn by a program that only samples the portrait; those that show the plate where they
        # lie come last: all room that stays put, and the room moved so far
        triangles = self.background.triangles
        moves = positions - self.background.points
        most = np.linalg.norm(moves, axis=1)[triangles].max(axis=1)
        still = ((most < STILL_PIXELS) & ~self._partly_stays) | self._solid
        turned_back = self.edges.turned_back(dst)
        if turned_back > 0.0:  # the face's copy gives way even where it barely moved
            still &= ~self._covering
        left = ~still & self._room & (most >= self._room_from)
        left[left] = moved_at_least(moves[triangles[left]], self._room_from)
        left |= self._stays
        # unmoved, their pixels land on texels (at the portrait's own size), which a plain fetch reads as the cubic
        unmoved = still & (most < UNMOVED_PIXELS)
        tris = np.concatenate([triangles[unmoved], triangles[still & ~unmoved], triangles[~still & ~left],
                               triangles[left]]).ravel()
        background = np.empty((len(tris), BACKGROUND_FLOATS), np.float32)
        background[:, :2], background[:, 2], background[:, 3:] = positions[tris], point_depth[tris], \
            self.background.points[tris] / scale
        closures = closure(src, dst)
        dst = lash_gaps(src, dst, closures)
        tris = topo.triangles.ravel()
        fill = self.edges.mirror_fill(dst)
        uvs = self._stretched_edge.uvs(dst, shut_lid_uvs(src, closures), fill) / scale
        textured.append(_pack(dst[tris, :2], depth[tris], uvs[tris], uvs[mirror_points()][tris],
                              _layer(LAYER_TEXTURED, fill[tris])))
        gap_layer = LAYER_MOUTH_DRAWN if driver_mouth is None else LAYER_MOUTH_DRIVER
        gap_own = 1.0
        bands, self._grin = mouth_strip(src, dst, scale, depth, driver_mouth, self.jaws, self._grin,
                                        lips_cover)
        for band in bands:
            packed = band.positions, band.depths, band.uvs, band.coords
            if band.kind == LOWER_TEETH:
                features.append(_pack(*packed, LAYER_LOWER_TEETH))
            elif band.own >= 1.0:
                textured.append(_pack(*packed, LAYER_TEXTURED))
            else:
                features.append(_pack(*packed, _layer(gap_layer, band.shades)))
                gap_own = band.own
        shifts = np.zeros((2, 2)) if gaze_px is None else gaze_px
        for fan_positions, depths, uvs, eye_coords, eye, weight in eye_fans(src, dst, self.size, shifts, depth):
            features.append(_pack(fan_positions, depths, uvs, eye_coords, _layer(LAYER_EYE + 2 * eye, weight)))
        return WarpMesh(background, 3 * int(unmoved.sum()), 3 * int(still.sum()), len(background) - 3 * int(left.sum()),
                        np.concatenate(textured + features), sum(map(len, textured)),
                        self.eyes, closures, self.face_cover, 1.0 if driver_mouth is None else driver_mouth.share(),
                        gap_own, turned_back, bool(fill.any()) or turned_back > 0.0)


def landmark_depth(points: np.ndarray) -> np.ndarray:
    """(478,) depth in 0..1 (smaller is nearer) from the landmarks' z (MediaPipe: smaller z is nearer),
    scaled by the face's width so any face size spans the same depth range."""
    width = max(float(np.ptp(points[:MESH_POINTS, 0])), 1.0)
    z = points[:, 2] - np.median(points[:MESH_POINTS, 2])
    return np.clip(0.5 + z / (4.0 * width), 0.0, 0.99)


def _layer(code: float, fraction) -> float | np.ndarray:
    """A vertex's layer value: its LAYER_* code plus a fraction (a float or per-vertex array) kept under
    MAX_FRACTION, so the shader reads the code back (at 0.999, float32 read the next code)."""
    return code + np.minimum(fraction, MAX_FRACTION)


def _pack(positions, depths, uvs, layer_coords, layer) -> np.ndarray:
    out = np.empty((len(positions), VERTEX_FLOATS), np.float32)
    out[:, :2], out[:, 2], out[:, 3:5], out[:, 5:7], out[:, 7] = positions, depths, uvs, layer_coords, layer
    return out

