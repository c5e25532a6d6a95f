"""The background plate: the portrait with the person removed and the hole inpainted, made once per
portrait. Where the head or body moves away from where it was, the render shows this plate (a static
room behind a moving person) instead of stretching the portrait's own edge pixels into a smear."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

from nodes.render.loose_hair import loose_hair
from nodes.render.patch_fill import patch_completion
from nodes.render.ramps import smoothstep
from nodes.render.room_lines import along_lines_fill, room_lines, rows_filled
from nodes.track.segmentation import person_mask, portrait_person_mask

WORKING_SIDE = 256  # the row fill and the completion's matching run at this longest side (its votes are
# taken again at the portrait's own): a plate is seen only in thin uncovered strips
HOLE_MARGIN = 0.02  # of the longest side: the hole is grown past the soft silhouette edge
EDGE_BLEND = 0.015  # of the longest side: how far into the person their edge's colours still blend with the room
STRIP_DEPTH = 0.12  # of the longest side: how far into the hole the room's texture is carried on
SEEN_AGREEMENT = 15  # 0..255, in the largest channel: a given plate this close to the portrait's room lines
# up with it (single_face.mp4's frames: 7-11 steadied; as recorded 8-9 near the median's position, else 19-31)
STAYS_BAND = 0.02  # of the longest side: the room eases from moving with the person to staying put across this
STILL_PLATES_KEPT = 3  # still portraits' plates kept per process (`still_plate`; ~44 MB each at 2048 px)
REACH_SIGMAS = (3.0, 12.0)  # pixels: the person's colours carried past its edge from near, then from further
ROW_TOO_FAR = (2.0, 4.0)  # a row's room on its one side this many times farther than the nearest room: filled so


@dataclass(frozen=True)
class PersonAndPlate:
    """mask: (H, W) float32 0..1, the person's silhouette; plate: (H, W, 3) uint8 without the person;
    extended: (H, W, 3) uint8, the person with their colours carried past their silhouette over the room
    (`person_extended`); stays: (H, W) uint8, how firmly the room stays put where the portrait shows it
    (`room_stays`), 255 fully; seen: the room behind the person was seen (a target video's, not inpainted)
    and lines up with the portrait's own, so it can stand in for the room a moved person carries along
    from a few pixels on."""

    mask: np.ndarray
    plate: np.ndarray
    extended: np.ndarray
    stays: np.ndarray
    seen: bool = False

    def mask_bytes(self) -> np.ndarray:
        """(H, W) uint8 mask, 255 person, as the renderer's textures hold it."""
        return (self.mask * 255).astype(np.uint8)

_STILL_PLATES: dict[bytes, PersonAndPlate] = {}  # by the portrait's pixels, the newest last (`still_plate`)


def person_and_plate(rgb: np.ndarray, plate: np.ndarray | None = None, turns: int = 0) -> PersonAndPlate:
    """Segment the person in an RGB uint8 (H, W, 3) portrait; the room behind them is `plate` when given
    (resized to the portrait: a target video's room), else inpainted from the portrait. Either fills only
    the person and their fringe: elsewhere the room is the portrait's own. turns: the quarter turns
    (np.rot90's) that stand the person upright (`upright_turns`): segmented and filled so, and turned back.
    On its side, the astronaut's flag was taken for her and smeared down the frame."""
    if turns % 4:
        made = person_and_plate(np.rot90(rgb, turns), None if plate is None else np.rot90(plate, turns))
        return PersonAndPlate(*(np.ascontiguousarray(np.rot90(a, -turns))
                                for a in (made.mask, made.plate, made.extended, made.stays)), made.seen)
    mask = person_mask(rgb) if plate is not None else portrait_person_mask(rgb)  # a still's, made once
    extended = person_extended(rgb, mask)
    height, width = mask.shape
    grow = max(1, round(HOLE_MARGIN * max(width, height)))
    hole = cv2.dilate((mask > 0.2).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    if plate is not None:
        fill = cv2.resize(np.ascontiguousarray(plate[:, :, :3]), (width, height), interpolation=cv2.INTER_AREA)
        return _made(rgb, mask, _filled(rgb, fill.astype(np.float32), hole.astype(np.float32)), extended, hole,
                     seen=_lines_up(fill, rgb, hole == 0))
    scale = min(1.0, WORKING_SIDE / max(width, height))
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_rgb = cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), small, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, small, interpolation=cv2.INTER_NEAREST)
    # the row fill starts from the room's median, so one dark wisp at the hole's edge does not streak a row
    filled = _room_fill(cv2.medianBlur(small_rgb, 7), small_hole)
    # deep in the hole, never uncovered: the fill's row-to-row streaks read as texture, a blur reads as
    # depth of field; the strip beside the room a moved head uncovers goes on with the room's own texture,
    # matched at the working size and voted at the portrait's own from its own pixels
    filled = np.where(small_hole[:, :, None] > 0, cv2.GaussianBlur(filled, (0, 0), 5.0), small_rgb)
    person = cv2.resize(small_hole.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    fill = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    lines = room_lines(small_rgb, small_hole)
    if lines:  # the room's lines seen on both sides of the person go on behind them, sharp; patches
        # matched beside them brought its loose hair and the lines' own edges in below them
        full = along_lines_fill(rgb, person > 0.5, lines.scaled(1.0 / scale), fill)
    else:
        full = patch_completion(filled, small_hole > 0, STRIP_DEPTH * max(small)).at_size(rgb, person > 0.5, fill)
    return _made(rgb, mask, _filled(rgb, full, person), extended, hole)


def still_plate(rgb: np.ndarray, turns: int = 0) -> PersonAndPlate:
    """`person_and_plate` of a still portrait, by its pixels: made once per process for the last
    STILL_PLATES_KEPT portraits (about a second each), so a graph restarted or a node made anew finds it."""
    key = hashlib.blake2b(np.ascontiguousarray(rgb).data, digest_size=16).digest() + repr((rgb.shape, turns)).encode()
    made = _STILL_PLATES.pop(key, None) or person_and_plate(rgb, None, turns)
    _STILL_PLATES[key] = made  # the newest last
    while len(_STILL_PLATES) > STILL_PLATES_KEPT:
        _STILL_PLATES.pop(next(iter(_STILL_PLATES)))
    return made


def _filled(rgb: np.ndarray, fill: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the portrait's own room wherever it shows it; the whole `hole` ((H, W) float32, 1
    inside: the silhouette and its fringe, half hair and half room) from `fill`, or a moved
    head would leave a faint outline behind."""
    hole = cv2.GaussianBlur(hole, (0, 0), max(1.0, 0.006 * max(hole.shape)))[:, :, None]
    return (rgb[:, :, :3].astype(np.float32) * (1.0 - hole) + fill * hole).round().astype(np.uint8)


def _lines_up(plate: np.ndarray, rgb: np.ndarray, room: np.ndarray) -> bool:
    """Whether a given plate shows the room where the portrait does (a steadied target video's frame),
    not shifted by the camera's shake: 90% of the room's pixels within SEEN_AGREEMENT of it."""
    if not room.any():
        return False
    difference = np.abs(plate.astype(np.int16) - rgb[:, :, :3])[room].max(axis=1)
    return float(np.percentile(difference, 90)) <= SEEN_AGREEMENT


def _made(rgb: np.ndarray, mask: np.ndarray, plate: np.ndarray, extended: np.ndarray, hole: np.ndarray,
          seen: bool = False) -> PersonAndPlate:
    """The plate as filled in `hole`, with the person's loose hair past it filled from beside each wisp (a
    wisp is a pixel or two wide; grown into the hole instead, it moved where the room's lines are taken up
    behind the head, the board under `three_quarter.jpg`'s hair 8 -> 14 grey levels off): the plate no
    longer shows it, so the room there moves with the head and takes it along."""
    wisps = cv2.dilate(loose_hair(rgb, hole).astype(np.uint8), np.ones((3, 3), np.uint8))  # and their soft edges
    if wisps.any():
        plate = cv2.inpaint(plate, wisps, 2, cv2.INPAINT_TELEA)
    return PersonAndPlate(mask, plate, extended, room_stays(np.all(plate == rgb[:, :, :3], axis=2)), seen)


def room_stays(bare: np.ndarray) -> np.ndarray:
    """(H, W) uint8, 255 where the room stays put as the person moves, from `bare`, (H, W) bool where the
    plate is the portrait's own pixels (the room it shows, nothing inpainted or given in its place): 255 at
    STAYS_BAND or more inside them, easing to 0 at their edge. Past that edge the room's pixels may hold
    the person's loose hair and move with them; eased, the moved and the still room meet without a break."""
    band = max(1.0, STAYS_BAND * max(bare.shape))
    inside = cv2.distanceTransform(bare.astype(np.uint8), cv2.DIST_L2, 3)
    return np.round(255 * smoothstep(0.0, band, inside)).astype(np.uint8)


def _room_fill(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: `rgb` with the `hole` ((H, W) uint8, 1 inside) filled along each row between the
    room on its left and right. A room's lines behind a portrait mostly run across it (a wall's top, a
    picture rail, a ceiling): interpolated along rows they go on behind the head, where filling from every
    side at once (cv2.inpaint) pulls a ceiling's shade down into a dark smudge. Rows that are all hole (a
    body filling the bottom of the frame) take cv2.inpaint's fill, and so do rows with room on one side only
    (a body cut by the frame's edge) where the room above or below is much nearer than that side's: there
    is no line to go on, and the far side's colour drawn across the body came out from under the astronaut's
    arm as a black band (the helmet's, from the other side of the frame) where her flag hung beside it."""
    spread = cv2.inpaint(rgb, hole, 5, cv2.INPAINT_TELEA)
    rows = rows_filled(spread, hole == 0)
    along_row, one_sided = _row_distances(hole == 0)
    nearest = cv2.distanceTransform(hole, cv2.DIST_L2, 3)
    away = one_sided * smoothstep(*ROW_TOO_FAR, along_row / np.maximum(nearest, 1.0))
    return np.round(rows + (spread.astype(np.float32) - rows) * away[:, :, None]).astype(np.uint8)


def _row_distances(known: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(H, W) float32 each pixel's distance along its row to the nearest `known` ((H, W) bool) pixel
    (inf in a row with none), and (H, W) float32 1 where that row has known pixels on one side of it only."""
    columns = np.arange(known.shape[1], dtype=np.float32)[None, :]
    left = np.maximum.accumulate(np.where(known, columns, -np.inf), axis=1)
    right = np.minimum.accumulate(np.where(known, columns, np.inf)[:, ::-1], axis=1)[:, ::-1]
    distance = np.minimum(columns - left, right - columns)
    return distance.astype(np.float32), (np.isinf(left) != np.isinf(right)).astype(np.float32)


def person_extended(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the portrait inside the person (`mask`, (H, W) 0..1) short of their soft edge,
    elsewhere the person's nearest colours (normalized convolution: near the edge from close by, further
    out from wider). A turned face turned back shows the side of its nose and cheek that the portrait
    hides: the face mesh reaches a little past the silhouette there, and stretched, those room pixels
    would read as a blue bite."""
    inset = max(1, round(EDGE_BLEND * max(mask.shape)))
    known = cv2.erode((mask >= 0.5).astype(np.float32), np.ones((2 * inset + 1, 2 * inset + 1), np.uint8))
    colours = rgb[:, :, :3].astype(np.float32) * known[:, :, None]
    filled = np.zeros_like(colours)
    missing = np.ones_like(known)
    for sigma in REACH_SIGMAS:
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        estimate = cv2.GaussianBlur(colours, (0, 0), sigma) / np.maximum(weight, 1e-6)[:, :, None]
        use = missing * (weight > 0.02)
        filled += estimate * use[:, :, None]
        missing -= use
    extended = filled + rgb[:, :, :3].astype(np.float32) * missing[:, :, None]  # far from the person: as it is
    extended = np.where(known[:, :, None] > 0, rgb[:, :, :3], extended)
    return np.clip(extended.round(), 0, 255).astype(np.uint8)
