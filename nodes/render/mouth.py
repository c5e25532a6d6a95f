"""The mouth layer: a strip of columns between the upper and the lower inner lip.

The portrait's own mouth interior is split between the jaws where its pixels say (teeth.py): its upper
teeth ride under the upper lip and its lower teeth (or the lower lip's inner edge) over the lower lip,
neither stretched. Between them, where the posed mouth opens wider than the portrait's, the gap is filled
from the chosen source: the driver's own mouth interior at the same place (its tongue, shadow and lower
teeth) or a drawn cavity, under the portrait's own upper teeth shaded toward the mouth's corners as the
cheeks shade them (and dark where the driver's teeth fill its mouth's sides as it laughs), and at its
bottom the portrait's own upper teeth mirrored as its lower teeth (all of it where the driver grins with
its teeth together); opened no wider than the portrait's, it is the portrait's own.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.render.teeth import HALVES, JawSplit, jaw_split
from nodes.retarget.ranges import LOWER_LIP_RINGS, UPPER_LIP_RINGS

# Inner-lip points from one mouth corner (78) to the other (308): upper and lower, paired by column.
UPPER_INNER, LOWER_INNER = UPPER_LIP_RINGS[0], LOWER_LIP_RINGS[0]
MIDDLE_COLUMN = len(UPPER_INNER) // 2
BEHIND_LIPS = 0.01  # depth offset: the interior sits behind the lips
DRIVER_LIPS = 0.12  # the share at either edge of the driver's interior that is still its lips
DRIVER_CORNERS = 0.2  # the share of the driver's mouth at either corner not sampled (its lips reach in there)
DRIVER_READABLE_PX = (5.0, 14.0)  # the driver's interior height (middle column) from unusable to fully usable
DRIVER_ROOM = (0.1, 0.25)  # share of the driver's interior under its teeth from which the gap starts there
NEW_GAP_FULL = 0.5  # the gap shows only the chosen source once this share of it is wider than the portrait's
# ...and once it opens this much wider than the portrait's, in mouth widths (from nothing): a sliver under a
# pixel high, drawn from another source, lands on every other pixel, and the lips' seam reads as stitches
NEW_GAP_HEIGHT = (0.01, 0.04)
TEETH_PARTED = (0.03, 0.08)  # gap heights, in mouth widths, over which teeth that met part to show the gap
GRIN_EASE = 0.35  # per frame, how far a grin with the teeth together moves toward the driver's reading
# per frame, how far the share of the driver's interior its upper teeth take moves toward a smaller reading and
# toward a larger one: read as shown in one frame and not in the next (a hand at its lips, teeth under a coloured
# light), the gap blinked between its teeth and a dark slot; teeth that come into view are taken up soon
DRIVER_TEETH_EASE = (0.3, 0.7)
# the share of an opened gap, from its bottom, that shows a portrait's own upper teeth mirrored as its lower
# teeth, and at most this share of the posed upper teeth's height (lower teeth show less than upper ones)
LOWER_TEETH_OPEN, LOWER_TEETH_REACH = 0.25, 0.5
# the share of the upper teeth's height, from their edge, the mirrored lower teeth leave out: lower teeth
# meet the upper ones behind their edge, so a grin's rows overlap rather than meet edge to edge
LOWER_TEETH_INSET = 0.2
# of an opening, at least how much a relaxed lip's upper teeth show: speech shows their edges (Hopper, whose
# own barely show, opened the relaxed astronaut's mouth onto a black slot)
UPPER_TEETH_REVEALED = 0.3
GAP_SLIVER = (0.03, 0.08)  # mouth widths: the gap left above mirrored lower teeth from nothing to drawn in full
TEETH_MOSTLY = (0.4, 0.8)  # the share of a gap its mirrored lower teeth take over which a sliver left goes to them
CORNER_SHADE = (0.3, 0.8)  # across each half of the mouth (middle 0, corner 1): the corners' shade starts, is full
CORNER_DARKEST = 0.85  # how far into the cavity the corners' shade takes the gap (the driver's mouth shows through)
CROWDED_DARK = 0.5  # how crowded by the driver's teeth a column of the gap is (`_driver_span`) when fully shaded
CROWDED_GAP = (0.04, 0.08)  # mouth widths: the gap's greatest height over which that shade comes in (a laugh's:
# 0.12; a webcam grin's, teeth almost together, 0.045: per column, a laugh's thin corners kept a brown wedge)
TOGETHER = (0.3, 0.7)  # how crowded the middle of the driver's mouth is (`_driver_span`) from which its teeth are
# together, a grin at once: a laugh's middle reads up to 0.41 crowded for a frame or three (wolfgang 254-256)
TOGETHER_HELD, GRIN_HELD = (0.1, 0.25), 0.5  # the same, for teeth together the frame before (a grin past this:
# at 0.9 a single frame read less crowded, 0.1 or 0.2, let a held grin go for good, and its thin line came back)


@dataclass(frozen=True)
class DriverMouth:
    """The driver's mouth interior: columns (11, 2, 2) per inner-lip column its upper and lower point in
    0..1 frame coordinates; size (width, height) of its frame in pixels; upper_teeth (11,) per column the
    share of its interior, from the upper lip down, that its own upper teeth take (0: none showing);
    teeth_colour: (3,) 0..255 its teeth's lit colour, None when it shows none (`JawSplit.teeth_colour`)."""

    columns: np.ndarray
    size: tuple[int, int]
    upper_teeth: np.ndarray
    teeth_colour: np.ndarray | None = None

    @staticmethod
    def of(landmarks: np.ndarray, size: tuple[int, int], rgb: np.ndarray,
           light: np.ndarray | None = None) -> DriverMouth:
        """landmarks: (478, 2|3) the driver's face track in pixels of a frame of `size`; rgb: (H, W, 3)
        the driver's frame (the same, or the same at another size); light: (3,) gains taking its light's
        colour out as last known (`LipColourMatch.driver_balance`; None: 1)."""
        columns = np.stack([landmarks[UPPER_INNER, :2], landmarks[LOWER_INNER, :2]], axis=1) / np.array(size, float)
        in_rgb = landmarks[:, :2] * (np.array([rgb.shape[1], rgb.shape[0]], float) / size)
        split = jaw_split(rgb, in_rgb, np.ones(3) if light is None else light)
        return DriverMouth(columns, size, split.upper if split.upper_teeth else np.zeros(len(columns)),
                           split.teeth_colour)

    def share(self) -> float:
        """0..1: how much of the gap the driver's own interior fills, the rest a plain cavity (`readable`)."""
        middle = self.columns[MIDDLE_COLUMN]
        return _readable(np.linalg.norm((middle[1] - middle[0]) * self.size))


class SteadyDriverTeeth:
    """steadied(mouth) -> the driver's mouth with the share of its interior its upper teeth take eased frame
    to frame (DRIVER_TEETH_EASE), sooner as they show than as they hide."""

    def __init__(self) -> None:
        self._held: np.ndarray | None = None

    def steadied(self, mouth: DriverMouth) -> DriverMouth:
        reading, held = mouth.upper_teeth, self._held
        if held is not None:
            falling, rising = DRIVER_TEETH_EASE
            reading = held + np.where(reading > held, rising, falling) * (reading - held)
        self._held = reading
        return replace(mouth, upper_teeth=self._held)


def readable(landmarks: np.ndarray) -> float:
    """0..1: how usable the mouth interior of a face's (478, 2|3) landmark pixels is to fill another mouth's
    gap (`DriverMouth.share`)."""
    upper, lower = landmarks[UPPER_INNER[MIDDLE_COLUMN], :2], landmarks[LOWER_INNER[MIDDLE_COLUMN], :2]
    return _readable(np.linalg.norm(lower - upper))


def _readable(height: float) -> float:
    """A mouth interior only a few pixels high (its middle, `height`) is mostly its lips' edges: stretched,
    it is a smear of lipstick."""
    return float(smoothstep(*DRIVER_READABLE_PX, height))


@dataclass(frozen=True)
class MouthBand:
    """One band of the mouth strip, as triangle lists: positions (K, 2), depths (K,), portrait uvs (K, 2),
    layer coords (K, 2) and shades (K,), how far each vertex of the gap is shaded into the cavity (0..1;
    the other kinds draw no shade). kind: OWN, the portrait's own pixels (the jaws' bands); GAP, the gap
    between them from the chosen source, `own` of it from the portrait's own interior; LOWER_TEETH, the
    portrait's own upper teeth mirrored as its lower teeth."""

    kind: str
    positions: np.ndarray
    depths: np.ndarray
    uvs: np.ndarray
    coords: np.ndarray
    shades: np.ndarray
    own: float = 1.0


OWN, GAP, LOWER_TEETH = "own", "gap", "lower teeth"


def mouth_strip(src: np.ndarray, dst: np.ndarray, scale: np.ndarray, depth: np.ndarray,
                driver_mouth: DriverMouth | None, split: JawSplit = HALVES,
                grin_before: float | None = None, lips_cover: float = 0.0) -> tuple[list[MouthBand], float]:
    """The mouth's bands (`MouthBand`), and grin: 0..1, how far the driver grins with its teeth together,
    eased from grin_before (the previous frame's: the driver's teeth read from its pixels come and go).
    Gap coords are driver 0..1 coordinates when `driver_mouth` is given, else mouth coordinates (u
    across, v from the upper to the lower lip); the gap is shaded toward the mouth's corners under a
    portrait's own upper teeth.

    Under a portrait's own upper teeth (and none of its lower ones), the bottom of a gap opened wider than
    the portrait's shows the upper teeth mirrored as its lower teeth, in their shadow: a share of the gap
    (LOWER_TEETH_OPEN) up to a share of the upper teeth's height; all of it as far as the driver grins
    with its teeth together, whose gap would show the driver's own upper teeth (nothing lies under them):
    a flat white slab, a second row under the portrait's own, and dimmed toward the cavity, a grey band
    that read as a mouthguard. Without them, a laugh under a smiling portrait's teeth opened onto a dark
    hole wherever the driver's own lower teeth did not show.

    `lips_cover` of the portrait's own interior lies behind its lips (a smiling portrait's mouth relaxed
    over its teeth): each jaw's band shows the part of its teeth nearest the other jaw, at their own
    height, and opened wider than what is left, the gap shows the chosen source. Squeezed instead, a
    relaxed grin opened to speak showed its teeth, shortened, filling the opening with no cavity. The
    upper teeth come out from under the lip as the mouth opens (`_revealed`)."""
    su, sl, du, dl = src[UPPER_INNER, :2], src[LOWER_INNER, :2], dst[UPPER_INNER, :2], dst[LOWER_INNER, :2]
    showing = 1.0 - lips_cover
    full = np.linalg.norm(sl - su, axis=1)  # the portrait's own interior height per column
    kept = full * showing  # ...of it, what its lips leave uncovered
    opened = np.maximum(np.linalg.norm(dl - du, axis=1), 1e-6)
    squeeze = np.minimum(1.0, opened / np.maximum(kept, 1e-6))  # a mouth closing squeezes the jaws' bands
    upper_teeth = np.minimum(split.upper * kept * squeeze + lips_cover * _revealed(split, driver_mouth) * opened,
                             split.upper * full)
    top = np.minimum(upper_teeth / opened, 1.0)
    bottom = np.maximum(1.0 - (1.0 - split.lower) * kept * squeeze / opened, top)
    mouth_width = max(float(np.linalg.norm(du[-1] - du[0])), 1e-6)
    top, bottom = _teeth_meeting(top, bottom, opened, mouth_width, split)
    gap = (bottom - top) * opened
    wider = np.maximum(opened - kept, 0.0)  # what the portrait's own interior cannot show
    own = 1.0 - float(smoothstep(0.0, NEW_GAP_FULL, wider[MIDDLE_COLUMN] / max(gap[MIDDLE_COLUMN], 1e-6))
                      * smoothstep(*NEW_GAP_HEIGHT, wider[MIDDLE_COLUMN] / mouth_width))
    # under the portrait's own upper teeth, which thin out toward its corners, the cheeks' shade there keeps
    # a grinning driver's teeth from showing as white fangs; a mouth drawn whole from the driver is its own
    shade = (CORNER_DARKEST * smoothstep(*CORNER_SHADE, _toward_corners(du, dl)) if split.upper_teeth
             else np.zeros(len(du)))
    grin = 0.0
    if driver_mouth is not None:
        skipped = _pulled_in(driver_mouth.upper_teeth) if split.upper_teeth else np.zeros_like(top)
        first, last, crowded = _driver_span(top, bottom, skipped)
        grin = float(np.clip((skipped - first) / np.maximum(last - first, 1e-6), 0.0, 1.0)[MIDDLE_COLUMN])
        grin = grin if grin_before is None else grin_before + GRIN_EASE * (grin - grin_before)
        # crowded in the middle, the teeth are together: a grin already, not one to ease in (its three frames
        # showed the whole gap shaded black); once together, they stay so while they crowd it at all (a webcam
        # grin held reads 0.45-0.5)
        held = grin_before is not None and grin_before > GRIN_HELD
        grin = max(grin, float(smoothstep(*(TOGETHER_HELD if held else TOGETHER), crowded[MIDDLE_COLUMN])))
        # ...and where the driver's teeth leave no room under them (toward the corners of a laugh), the gap
        # would show them again, half shaded: a smooth grey-brown ribbon; a laughing mouth's sides are dark.
        # Not a gap a few pixels high between rows of teeth almost together: darkened, a black line ran along them
        dark = smoothstep(0.0, CROWDED_DARK, crowded) * smoothstep(*CROWDED_GAP, gap.max() / mouth_width)
        shade = np.maximum(shade, dark * (1.0 - grin))
    teeth = _no_sliver(_lower_teeth_share(split, top * opened, gap, grin) * (1.0 - own), gap, mouth_width)
    middle = bottom - (bottom - top) * teeth  # where the gap ends and the mirrored lower teeth begin
    # Five rows per column: upper lip, end of the upper jaw's band, end of the gap, start of the lower
    # jaw's band, lower lip.
    fractions = np.stack([np.zeros_like(top), top, middle, bottom, np.ones_like(top)], axis=1)
    rows = du[:, None, :] + (dl - du)[:, None, :] * fractions[:, :, None]
    own_middle = split.upper + (split.lower - split.upper) * (1.0 - teeth)
    # covered, the upper band shows the upper teeth's lower part as high as it shows them
    covered_part = split.upper * np.clip(1.0 - upper_teeth / np.maximum(split.upper * full, 1e-6), 0.0, 1.0)
    shares = np.stack([covered_part * lips_cover, split.upper, own_middle, split.lower,
                       split.lower + (1.0 - split.lower) * showing], axis=1)
    uv_rows = (su[:, None, :] + (sl - su)[:, None, :] * shares[:, :, None]) / scale
    teeth_uvs = uv_rows.copy()  # from near the teeth's edge at the gap's end up them, as far as the band is high
    teeth_uvs[:, 2] = _mirrored_teeth(su, sl, split.upper, top * opened, np.zeros_like(gap)) / scale
    teeth_uvs[:, 3] = _mirrored_teeth(su, sl, split.upper, top * opened, teeth * gap) / scale
    lip_depth = (depth[UPPER_INNER] + depth[LOWER_INNER]) / 2 + BEHIND_LIPS
    if driver_mouth is not None:
        gap_end = first + (last - first) * (1.0 - teeth)  # the driver's own lower part lies under the teeth
        driver_fractions = np.stack([np.zeros_like(top), first, gap_end, last, np.ones_like(top)], axis=1)
        inward = _pulled_in(driver_mouth.columns)
        upper, lower = inward[:, 0, None, :], inward[:, 1, None, :]
        gap_coords = upper + (lower - upper) * driver_fractions[:, :, None]
    else:
        columns = np.linspace(0.0, 1.0, len(UPPER_INNER))
        gap_coords = np.stack([np.broadcast_to(columns[:, None], fractions.shape), fractions], axis=2)
    shades = np.broadcast_to(shade[:, None], fractions.shape)
    none = np.zeros_like(gap_coords)
    bands = [MouthBand(OWN, *_quads(rows, uv_rows, none, shades, lip_depth, 0, 1)),
             MouthBand(GAP, *_quads(rows, uv_rows, gap_coords, shades, lip_depth, 1, 2), own),
             MouthBand(LOWER_TEETH, *_quads(rows, teeth_uvs, none, shades, lip_depth, 2, 3)),
             MouthBand(OWN, *_quads(rows, uv_rows, none, shades, lip_depth, 3, 4))]
    return [band for band in bands if band.kind != LOWER_TEETH or teeth.max() > 0.0], grin


def _revealed(split: JawSplit, driver_mouth: DriverMouth | None) -> np.ndarray | float:
    """Per column, the share of an opening that a portrait's upper teeth relaxed under its lip show: the
    share the driver's own upper teeth take of its mouth, and at least UPPER_TEETH_REVEALED (a portrait
    with none showing, none). Covered and not revealed, a relaxed grin opened to laugh showed no teeth at
    all under its upper lip, where the driver showed hers."""
    if not split.upper_teeth:
        return 0.0
    return UPPER_TEETH_REVEALED if driver_mouth is None else np.maximum(_pulled_in(driver_mouth.upper_teeth),
                                                                        UPPER_TEETH_REVEALED)


def _lower_teeth_share(split: JawSplit, teeth_height: np.ndarray, gap: np.ndarray, grin: float) -> np.ndarray:
    """(11,) per column the share of the gap, from its bottom, that shows the portrait's own upper teeth
    mirrored (`mouth_strip`): LOWER_TEETH_OPEN of it, at most LOWER_TEETH_REACH of the posed upper teeth's
    height, where the portrait shows upper teeth and no lower ones; all of it as far as the driver grins."""
    if not split.upper_teeth:
        return np.zeros_like(gap)
    opened = 0.0 if split.lower_teeth else np.minimum(LOWER_TEETH_OPEN, LOWER_TEETH_REACH * teeth_height
                                                      / np.maximum(gap, 1e-6))
    return opened + (1.0 - opened) * grin


def _no_sliver(teeth: np.ndarray, gap: np.ndarray, mouth_width: float) -> np.ndarray:
    """`teeth` (11,), the share of each column's `gap` (pixels high) its mirrored lower teeth take, grown to
    all of it where they take most of it and leave a sliver (GAP_SLIVER, in mouth widths): a grin's teeth
    together, eased in over a few frames, left a line a pixel or two high of the driver's mouth between the
    rows of teeth, which read as a brace's wire across them."""
    sliver = 1.0 - smoothstep(*GAP_SLIVER, (1.0 - teeth) * gap / mouth_width)
    return teeth + (1.0 - teeth) * sliver * smoothstep(*TEETH_MOSTLY, teeth)


def _mirrored_teeth(upper: np.ndarray, lower: np.ndarray, teeth: np.ndarray, teeth_height: np.ndarray,
                    height: np.ndarray) -> np.ndarray:
    """(11, 2) per column the portrait pixel the lower edge of a band `height` high shows of the portrait's
    own upper teeth mirrored: from LOWER_TEETH_INSET above their edge (share `teeth` of the interior from
    the `upper` to the `lower` inner lip) as far up them as the band is high against the posed teeth
    (`teeth_height`), at most the rest of their height."""
    reach = np.minimum(height / np.maximum(teeth_height, 1e-6), 1.0)
    return upper + (lower - upper) * (teeth * (1.0 - LOWER_TEETH_INSET) * (1.0 - reach))[:, None]


def _toward_corners(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """(11,) per inner-lip column how near it is to a mouth corner along the posed mouth: 0 midway
    between the corners, 1 at either."""
    middles = (upper + lower) / 2
    axis = middles[-1] - middles[0]
    along = (middles - middles[0]) @ axis / max(float(axis @ axis), 1e-6)
    return np.clip(np.abs(2.0 * along - 1.0), 0.0, 1.0)


def _teeth_meeting(top: np.ndarray, bottom: np.ndarray, opened: np.ndarray, mouth_width: float,
                   split: JawSplit) -> tuple[np.ndarray, np.ndarray]:
    """(top, bottom) with a gap only a few pixels high (under TEETH_PARTED) closed by the portrait's own
    teeth reaching across it (the upper, the lower, or both halfway): lips barely parted over teeth show
    teeth, where a cavity squeezed that thin is a dark line drawn across them."""
    if not (split.upper_teeth or split.lower_teeth):
        return top, bottom
    meet = top + (bottom - top) * (0.5 if split.upper_teeth and split.lower_teeth else float(split.upper_teeth))
    closed = 1.0 - smoothstep(*TEETH_PARTED, (bottom - top) * opened / mouth_width)
    return top + (meet - top) * closed, bottom + (meet - bottom) * closed


def _pulled_in(columns: np.ndarray) -> np.ndarray:
    """Per-column values of the driver's mouth ((11, ...)) sampled DRIVER_CORNERS of the way in from its
    mouth corners: right at the corners a tracked inner lip runs over the lips themselves, whose lipstick
    or shadow would show as a bright sliver in the corner of the portrait's mouth."""
    count = len(columns)
    at = (count - 1) / 2 + (np.arange(count) - (count - 1) / 2) * (1.0 - DRIVER_CORNERS)
    low = np.floor(at).astype(int)
    high = np.minimum(low + 1, count - 1)
    share = (at - low).reshape(-1, *([1] * (columns.ndim - 1)))
    return columns[low] * (1.0 - share) + columns[high] * share


def _driver_span(top: np.ndarray, bottom: np.ndarray,
                 driver_teeth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column, (first, last, crowded): first and last, the shares of the driver's interior (0 its upper lip,
    1 its lower) the gap shows, short of the driver's lips: the same place in the driver's mouth as in the
    portrait's. Where the portrait shows upper teeth of its own, they ride above the gap, so it starts below the
    driver's upper teeth (`driver_teeth`, read from its pixels, 0 where none are skipped): a laughing driver's
    teeth take up to 80% of its opening, and from the same share as the portrait's band they showed as a second
    row under the portrait's. Where the driver's teeth leave less than DRIVER_ROOM of its interior (teeth
    together in a grin), what is under them is a sliver: stretched, its dark tooth edges read as dirt, so the
    gap comes back to the same place as the portrait's, where the portrait's own teeth mirrored stand in for
    what it would show of the driver's teeth (mouth_strip). crowded, 0..1: how far that is so, the gap showing
    the driver's teeth (0 where none are skipped)."""
    plain = np.maximum(top, DRIVER_LIPS)
    last = np.maximum(np.minimum(bottom, 1.0 - DRIVER_LIPS), plain)
    below_teeth = smoothstep(*DRIVER_ROOM, last - driver_teeth) * (driver_teeth > 0.0)
    first = plain + (np.maximum(driver_teeth, DRIVER_LIPS) - plain) * below_teeth
    return np.minimum(first, last), last, (1.0 - below_teeth) * (driver_teeth > 0.0)


def _quads(rows, uv_rows, coords, shades, lip_depth, top: int, bottom: int) -> tuple[np.ndarray, ...]:
    """Two triangles per pair of neighbouring columns, between rows `top` and `bottom`."""
    left = np.arange(len(rows) - 1)
    columns = np.stack([left, left + 1, left + 1, left, left + 1, left], axis=1).ravel()
    levels = np.tile([top, top, bottom, top, bottom, bottom], len(left))
    return (rows[columns, levels], lip_depth[columns], uv_rows[columns, levels], coords[columns, levels],
            shades[columns, levels])
