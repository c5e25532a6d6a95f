"""Smiles on a smiling portrait: how far the source and the portrait each smile, and how the source's smile
combines with the one the portrait already shows.

Expression is transferred as the source's change from its neutral added to the portrait's own face. A
portrait photographed mid-grin already has its cheeks raised, its mouth's corners drawn out and its eyes
narrowed; adding a grinning source's change on top drew all of it twice: cheeks bulging past the jaw, the
skin between nose and lip stretched into what looks like a swollen upper lip, and eyes squeezed to slits.
So the share of the source's smile that the portrait already shows is taken out of the change.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from nodes.retarget.ranges import INNER_LIPS, JAW_RAMP, LIP_MIDDLE, keep_lip_layout, mouth_width
from nodes.track.face_model import MESH_POINTS, MOUTH_CORNERS, mouth_opening, reference_shape, smile_width, topology

# smile_width above the narrowest the source has shown from which its mouth counts as smiling, and as a
# broad smile (whose parted lips are drawn back, not a dropped jaw): the crying-then-laughing driver goes
# from 0.55 to grins of 0.73-0.76; Hopper talking stays within 0.03 of her narrowest
SMILE_WIDENING = (0.04, 0.16)
# ...but no relaxed mouth measures wider than this (Hopper talking 0.51-0.59, wolfgang relaxed 0.55-0.58,
# single_face.mp4 0.49; grins 0.70-0.79), so a source who starts with a grin has it read as a smile, not as
# her narrowest mouth, and its neutral's grin is drawn in (`relaxed_neutral`)
RELAXED_WIDEST = 0.60
NEUTRAL_DRAWN_IN = 0.05  # a neutral's mouth this much wider than RELAXED_WIDEST is drawn in all the way
GRIN_NORM = 4.0  # a grin's opening and a smiling portrait's combine as their 4-norm: nearly the farther of the two
# A still portrait has no narrowest mouth to compare with, so it smiles as far as its mouth is wide for its
# eyes, on the driver's scale (relaxed 0.55-0.58, grins to 0.76), AND its corners sit above its lips' middle
# (either alone misreads a wide or a down-turned mouth). Measured (smile_width, corner lift): the grinning
# smile_teeth.jpg 0.70, 0.11 and the astronaut 0.71, 0.11 (so 0.67 and 0.72 smiling: a grin has room to
# broaden); the neutral Hopper 0.59, 0.02, three_quarter.jpg 0.58, -0.03, single_face.mp4 0.49, -0.01 (0).
PORTRAIT_SMILE_WIDTH = (0.58, 0.76)
PORTRAIT_CORNER_LIFT = (0.03, 0.09)  # in mouth widths
# The lower face (cheeks, mouth, jaw) is what a smile moves: from just under the lower lids (head-space y
# -0.35; they sit at -0.5) to the nose's tip (0.1) its share comes in. The eyes' lids are set by ratio.
LOWER_FACE_RAMP = (-0.35, 0.1)
# A relaxed mouth, which a smiling portrait's is drawn back to where the source does not smile: as wide for
# its eyes as the relaxed driver's (smile_width), its corners a little above its lips' middle (corner_lift)
RELAXED_WIDTH, RELAXED_LIFT = 0.58, 0.02
RELAX_REACH = (1.0, 0.7)  # past the mouth (in half mouth widths across, and down), how far its skin follows
LIPS_SHUT_BY = 0.5  # a smiling portrait's lips are shut once its smile is relaxed this far: its teeth show in grins
SQUINT_FROM = 0.5  # an eye this open (of its open level) or more narrowed by a smile; below, fading to shut


def smiling(width: float, narrowest: float) -> float:
    """0..1: how far a source's mouth, `width` (smile_width) against the narrowest it has shown (or
    RELAXED_WIDEST where that is wider), smiles."""
    return float(np.interp(width - min(narrowest, RELAXED_WIDEST), SMILE_WIDENING, (0.0, 1.0)))


def relaxed_neutral(shape: np.ndarray) -> np.ndarray:
    """A source's neutral head-space `shape`, its mouth drawn in (`relaxed`) as far as it is wider than any
    relaxed mouth: a source who grins from her first frame on has only grins to estimate it from, and
    against a grinning neutral her grins moved a portrait's mouth not at all."""
    share = float(np.interp(smile_width(shape) - RELAXED_WIDEST, (0.0, NEUTRAL_DRAWN_IN), (0.0, 1.0)))
    return shape if share == 0.0 else shape + share * (relaxed(shape)[0] - shape)


def corner_lift(shape: np.ndarray) -> float:
    """How far the mouth's corners sit above the middle of its outer lips, in mouth widths (y down)."""
    left, right = shape[list(MOUTH_CORNERS)]
    middle_y = (shape[0, 1] + shape[17, 1]) / 2.0  # the upper and lower lip's outer middle points
    return float((middle_y - (left[1] + right[1]) / 2.0) / (np.linalg.norm(right[:2] - left[:2]) or 1.0))


def portrait_smiling(width: float, lift: float) -> float:
    """0..1: how far a still portrait smiles, from its smile_width and corner_lift."""
    return float(min(np.interp(width, PORTRAIT_SMILE_WIDTH, (0.0, 1.0)),
                     np.interp(lift, PORTRAIT_CORNER_LIFT, (0.0, 1.0))))


def relax_share(source: float, portrait: float) -> float:
    """0..1: how far a portrait smiling `portrait` is drawn back to a relaxed mouth (`relaxed`) for a source
    smiling `source`: all the way for a source that does not smile, as soon as the portrait clearly smiles
    (half of its smiling range: the grinning targets measure 0.67-0.72); a neutral portrait stays as it is."""
    return (1.0 - source) * min(1.0, 2.0 * portrait)


def relaxed(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (478, 3) head-space `rest` shape of a smiling portrait with its smile taken out, (drawn in,
    closed): its mouth narrowed to RELAXED_WIDTH and its corners lowered to RELAXED_LIFT, the skin around
    following; and that with its lips closed over its teeth as well. A grinning photo driven by a relaxed
    or crying face grinned on throughout: the source's change from its neutral, added to the grin, cannot
    undo it."""
    shape = rest.copy()
    left, right = rest[list(MOUTH_CORNERS)]
    centre_x, centre_y = (left[0] + right[0]) / 2.0, rest[INNER_LIPS[LIP_MIDDLE], 1].mean()
    half = mouth_width(rest) / 2.0
    across, down = (rest[:, 0] - centre_x) / half, (rest[:, 1] - centre_y) / half
    beyond = np.clip(np.hypot(across / RELAX_REACH[0], down / RELAX_REACH[1]) - 1.0, 0.0, None)
    follow = np.exp(-(beyond / RELAX_REACH[1]) ** 2)  # 1 on the mouth, fading over the cheeks and chin
    follow[MESH_POINTS:] = 0.0
    narrowing = min(RELAXED_WIDTH / smile_width(rest), 1.0) - 1.0
    # closing the lips lifts their middle by half the opening, and with it the corners' lift drops
    lowering = max(corner_lift(rest) - mouth_opening(rest) / 2.0 - RELAXED_LIFT, 0.0) * 2.0 * half
    shape[:, 0] += narrowing * (rest[:, 0] - centre_x) * follow
    shape[:, 1] += lowering * np.clip(across ** 2, 0.0, 1.0) * follow  # the corners most, the middle not
    return shape, _lips_closed(shape, rest)


def _lips_closed(shape: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """`shape` with its lower lip and jaw raised onto its upper lip: each point below the mouth by the gap
    of the mouth's column above it (none past the corners). Raised by the gap at the mouth's middle all
    across, as an opening jaw drops (`set_mouth_opening`), the skin beside the corners rose past them, and
    the triangles there folded into jagged dark notches."""
    closed = shape.copy()
    gaps = closed[INNER_LIPS[:, 1]] - closed[INNER_LIPS[:, 0]]
    corners_x = closed[list(MOUTH_CORNERS), 0]
    along = np.concatenate([[corners_x.min()], closed[INNER_LIPS[:, 0], 0], [corners_x.max()]])
    order = np.argsort(along)
    profile = np.concatenate([np.zeros((1, 3)), gaps, np.zeros((1, 3))])[order]
    rise = np.stack([np.interp(closed[:, 0], along[order], profile[:, k]) for k in range(3)], axis=1)
    below = np.clip((rest[:, 1] - rest[INNER_LIPS[LIP_MIDDLE], 1].mean()) / JAW_RAMP, 0.0, 1.0)
    below[MESH_POINTS:] = 0.0
    closed -= below[:, None] * rise
    closed[INNER_LIPS[:, 1]] = closed[INNER_LIPS[:, 0]]
    keep_lip_layout(closed, rest)
    return closed


def relax_toward(rest: np.ndarray, relaxed_shapes: tuple[np.ndarray, np.ndarray], share: float
                 ) -> tuple[np.ndarray, float]:
    """(the portrait's `rest` shape with `share` of its smile taken out, the share of its own mouth interior
    its lips now cover) from its `relaxed` shapes: drawn in by `share`, its lips shut from LIPS_SHUT_BY on.
    Closed by `share` alone, a driver crying with her lips shut in a half smile (wolfgang frames 19-29,
    smiling 0.3-0.45) parted the portrait's lips over a row of its teeth."""
    drawn_in, closed = relaxed_shapes
    lips = min(1.0, share / LIPS_SHUT_BY)
    return rest + share * (drawn_in - rest) + lips * (closed - drawn_in), lips


def already_shown(source: float, portrait: float) -> float:
    """0..1: the share of the expression change to take out where a source smiling `source` drives a
    portrait smiling `portrait`: the portrait smiles on from its own level as far into what is left of
    the range as the source smiles into all of it (their levels combine as 1 - (1 - a)(1 - b)), so a
    broad smile broadens a grinning portrait's a little, and moves a neutral portrait's (or anything of a
    talking, non-smiling source) in full."""
    return source * portrait


@lru_cache(maxsize=1)
def lower_face() -> np.ndarray:
    """(478,) 0..1 per landmark: how far it belongs to what a smile moves (not the eyes, brows or irises)."""
    weights = np.interp(reference_shape()[:, 1], LOWER_FACE_RAMP, (0.0, 1.0)).astype(np.float32)
    regions = topology().regions
    weights[regions["eyes"]] = 0.0
    weights[regions["brows"]] = 0.0
    weights[MESH_POINTS:] = 0.0
    return weights


def ease_squint(ratios: np.ndarray, shown: float) -> np.ndarray:
    """Each eye's openness ratio (1: its open level) with `shown` of a narrowing taken out: a smile's
    squint, which the smiling portrait's eyes already show. A shut or nearly shut eye (a blink, a wink)
    keeps its ratio: the easing fades in from shut to SQUINT_FROM."""
    narrowing = np.clip(1.0 - ratios, 0.0, None)
    return ratios + shown * narrowing * np.clip(ratios / SQUINT_FROM, 0.0, 1.0) ** 2


def combined_opening(rest: float, driven: float, source_smiling: float) -> float:
    """The target's mouth opening for its own rest opening and the source's opening beyond its neutral
    (both in mouth widths), `source_smiling` (0..1) being how far the source's mouth is widened into a
    smile (`smiling`).
    Lips parted in a smiling portrait are drawn back, not a dropped jaw, and so are a grinning source's:
    added up, a grin on a grin opened the mouth to a tall block of teeth. As the source smiles, the two
    combine more as nearly the farther of the two, smoothly (their GRIN_NORM-norm; as their Euclidean
    norm, a grin with the teeth together still opened a band under the portrait's own teeth nearly as
    tall as they are); an opening without a smile (talking, a jaw dropping) still adds, so speech moves
    a smiling portrait's lips as much."""
    if driven <= 0.0:  # the source presses its lips past its neutral: the portrait's close as far
        return rest + driven
    added = rest + driven
    nearly_farther = (rest ** GRIN_NORM + driven ** GRIN_NORM) ** (1.0 / GRIN_NORM)
    return float(added - source_smiling * (added - nearly_farther))
