"""Eye openness and mouth opening as ratios of each face's own range, in head space (y down).

Openings are measured on matched (upper, lower) landmark pairs across each opening. An eye opens and
closes mostly by its upper lid; a mouth opens by its lower lip and jaw, the upper lip staying.
"""
from __future__ import annotations

import numpy as np

from nodes.track.face_model import LEFT_EYE_CORNERS, MESH_POINTS, MOUTH_CORNERS, RIGHT_EYE_CORNERS

# (upper, lower) lid pairs from the outer to the inner corner: the two chains of mediapipe's
# FACEMESH_RIGHT_EYE / FACEMESH_LEFT_EYE between the corners (tests check them against mediapipe).
RIGHT_EYE_LIDS = np.array([(246, 7), (161, 163), (160, 144), (159, 145), (158, 153), (157, 154), (173, 155)])
LEFT_EYE_LIDS = np.array([(466, 249), (388, 390), (387, 373), (386, 374), (385, 380), (384, 381), (398, 382)])
EYES = ((RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS), (LEFT_EYE_LIDS, LEFT_EYE_CORNERS))
# (upper, lower) inner-lip pairs from corner 78 to corner 308 (FACEMESH_LIPS); the middle one is (13, 14)
INNER_LIPS = np.array([(191, 95), (80, 88), (81, 178), (82, 87), (13, 14), (312, 317), (311, 402), (310, 318),
                       (415, 324)])
LIP_MIDDLE = 4
# Each lip's four rings from the mouth opening outward (MediaPipe's lips inner, semi-inner, semi-outer and
# outer loops), corner 78/61 to corner 308/291; the same column in every ring runs across the lip.
UPPER_LIP_RINGS = np.array([[78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308],
                            [62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292],
                            [76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306],
                            [61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291]])
LOWER_LIP_RINGS = np.array([[78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308],
                            [62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292],
                            [76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306],
                            [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291]])
LIP_THINNEST = 0.6  # a lip thins to at most this share of its rest thickness (inner to outer ring)
# ...and thickens to at most this share. Lips parted round, the driver's fingers at her mouth
# (wolfgang_expressions.mp4, frames 206-224) thickened the grinning smile_teeth.jpg's upper lip to 1.4x
# its own: a swollen roll over her teeth under a squashed philtrum. Held to 1.1, a self-reenactment of
# single_face.mp4 lost 0.35 dB on the face (its lips do thicken that much); to 1.2, nothing.
LIP_THICKEST = 1.2
# of a lid pair's change in gap, the share the upper lid makes (the rest, the lower lid): a blink is the
# upper lid coming down onto the lower one, which stays where the expression puts it (a smile's cheeks
# raise it). Shut about their midpoint, the lids met in a line arched like an upper lid half-way down the
# eye, which the tracker reads as a narrowed eye, not a shut one. Measured on the smiling target's eyes
# (right/left, shut in the driver's shut-eye frames): 0.5 37/15%, 0.8 39/16%, 1.0 44/18%; but from 0.9
# the astronaut's left eye, shut, reads as a slit (its lid skin stretched down over the whole eye).
UPPER_LID_SHARE = 0.8
CHIN_RISE = 0.05  # head-space units the chin may rise against the lower lip (a pout, tracker noise) as it is
CHIN_RAMP = 0.15  # head-space units below the lower lip's outer edge over which the chin comes to follow it
JAW_RAMP = 0.08  # head-space units below the mouth line over which the face comes to follow the jaw fully


def _gaps(shape: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """(n, 3) lower minus upper point of each pair."""
    return shape[pairs[:, 1]] - shape[pairs[:, 0]]


def _length(shape: np.ndarray, a: int, b: int) -> float:
    """Frontal (x, y) distance of two landmarks, never 0."""
    return float(np.linalg.norm(shape[b, :2] - shape[a, :2])) or 1e-9


def eye_openness(shape: np.ndarray) -> np.ndarray:
    """(2,) mean lid gap over eye width, right and left eye (about 0.35 open, near 0 shut)."""
    return np.array([np.linalg.norm(_gaps(shape, lids)[:, :2], axis=1).mean() / _length(shape, *corners)
                     for lids, corners in EYES])


def mouth_width(shape: np.ndarray) -> float:
    return _length(shape, *MOUTH_CORNERS)


def _place(shape: np.ndarray, pairs: np.ndarray, gaps: np.ndarray, upper_share: float) -> None:
    """Move each pair apart or together so that lower - upper = gaps, the upper point making upper_share
    of the change (in place)."""
    change = gaps - _gaps(shape, pairs)
    shape[pairs[:, 0]] -= upper_share * change
    shape[pairs[:, 1]] += (1.0 - upper_share) * change


def set_eye_openness(shape: np.ndarray, rest: np.ndarray, ratios: np.ndarray) -> None:
    """Set each eye of `shape` to `ratios` (2,) times the openness it has in `rest` (in place): every lid
    pair gets its rest gap scaled, so 0 shuts the eye whatever its size, the upper lid moving most, and
    the eye's corners (which may have moved) set the scale."""
    for (lids, corners), ratio in zip(EYES, ratios, strict=True):
        widening = _length(shape, *corners) / _length(rest, *corners)
        _place(shape, lids, ratio * widening * _gaps(rest, lids), UPPER_LID_SHARE)


def jaw_weights(rest: np.ndarray) -> np.ndarray:
    """(478,) how far each point follows the lower lip when the mouth opens: 1 on the chin below the
    mouth, 0 above the lips, fading sideways (the irises never)."""
    x, y = rest[:, 0], rest[:, 1]
    mouth_x, mouth_y = rest[list(MOUTH_CORNERS), 0].mean(), rest[INNER_LIPS[LIP_MIDDLE], 1].mean()
    weights = np.clip((y - mouth_y) / JAW_RAMP, 0.0, 1.0) * np.exp(-(((x - mouth_x) / mouth_width(rest)) ** 2))
    weights[MESH_POINTS:] = 0.0
    return weights


def chin_with_lower_lip(change: np.ndarray, rest: np.ndarray) -> None:
    """Keep the chin below the lower lip in a (478, 3) expression change from rising against the lower
    lip's outer middle point by more than CHIN_RISE (in place): it may drop further (a jaw opening swings
    the chin most), not less. The tracker's chin barely moves in head space as a laugh drops the jaw, and
    drifts with the head's pitch, so its own change squashed the target's chin under a lower lip moved down
    (a round "moon face"). Only the chin proper, below the lip's outer edge in the `rest` shape: the skin
    beside the mouth's corners, moved down with the lip's middle, hooked the corners of a neutral mouth."""
    lip = LOWER_LIP_RINGS[-1, LOWER_LIP_RINGS.shape[1] // 2]
    x, y = rest[:, 0], rest[:, 1]
    weights = (np.clip((y - rest[lip, 1]) / CHIN_RAMP, 0.0, 1.0)
               * np.exp(-(((x - rest[lip, 0]) / mouth_width(rest)) ** 2)))
    weights[MESH_POINTS:] = 0.0
    change[:, 1] += weights * np.maximum(change[lip, 1] - change[:, 1] - CHIN_RISE, 0.0)


def set_mouth_opening(shape: np.ndarray, rest: np.ndarray, source: np.ndarray, opening: float) -> None:
    """Set the inner-lip gap of `shape` to `opening` mouth widths at the middle (in place). The gap's
    profile along the lips is the target's own at rest plus the source's current one, scaled to the
    target's mouth width, so an opening mouth takes the source's shape."""
    profile = _gaps(rest, INNER_LIPS) + _gaps(source, INNER_LIPS) * (mouth_width(shape) / mouth_width(source))
    middle = float(np.linalg.norm(profile[LIP_MIDDLE, :2]))
    if middle <= 1e-9:  # both are shut, and so is the result
        return
    gaps = profile * (max(opening, 0.0) * mouth_width(shape) / middle)
    further = gaps[LIP_MIDDLE] - _gaps(shape, INNER_LIPS)[LIP_MIDDLE]
    shape += jaw_weights(rest)[:, None] * further  # the lower lip keeps its thickness, the chin follows
    shape[INNER_LIPS[:, 1]] = shape[INNER_LIPS[:, 0]] + gaps
    keep_lip_layout(shape, rest)


def keep_lip_layout(shape: np.ndarray, rest: np.ndarray) -> None:
    """Keep each lip between LIP_THINNEST and LIP_THICKEST of its rest thickness (its outer ring moved) and
    its middle rings where they sit across it at rest (in place). A driver's lips roll and thin as they
    open; added to a target whose mouth is already open, that motion would push the inner ring past the
    middle ones and fold the lip over itself (a swollen lip over the teeth)."""
    for rings in (UPPER_LIP_RINGS, LOWER_LIP_RINGS):
        inner, outer = rings[0], rings[-1]
        rest_span = rest[outer] - rest[inner]
        rest_length = np.maximum(np.linalg.norm(rest_span[:, :2], axis=1), 1e-9)
        outward = rest_span[:, :2] / rest_length[:, None]
        span = shape[outer] - shape[inner]
        across = (span[:, :2] * outward).sum(axis=1)
        kept = np.clip(across, LIP_THINNEST * rest_length, LIP_THICKEST * rest_length)
        shape[outer, :2] += (kept - across)[:, None] * outward
        span = shape[outer] - shape[inner]
        # each middle ring in the column's own frame (along the lip, across it), carried by a similarity
        turn = np.stack([span[:, 0] * outward[:, 0] + span[:, 1] * outward[:, 1],
                         span[:, 1] * outward[:, 0] - span[:, 0] * outward[:, 1]], axis=1) / rest_length[:, None]
        for ring in rings[1:-1]:
            offset = rest[ring] - rest[inner]
            along = (offset[:, :2] * outward).sum(axis=1)
            aside = offset[:, 1] * outward[:, 0] - offset[:, 0] * outward[:, 1]
            local = np.stack([along, aside], axis=1)  # in the rest column's frame
            rotated = np.stack([local[:, 0] * turn[:, 0] - local[:, 1] * turn[:, 1],
                                local[:, 0] * turn[:, 1] + local[:, 1] * turn[:, 0]], axis=1)
            shape[ring, 0] = shape[inner, 0] + rotated[:, 0] * outward[:, 0] - rotated[:, 1] * outward[:, 1]
            shape[ring, 1] = shape[inner, 1] + rotated[:, 0] * outward[:, 1] + rotated[:, 1] * outward[:, 0]
            share = along / rest_length
            shape[ring, 2] = shape[inner, 2] + share * span[:, 2] + (offset[:, 2] - share * rest_span[:, 2])
