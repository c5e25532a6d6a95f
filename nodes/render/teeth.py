"""Which part of a portrait's open mouth belongs to which jaw, read once from its pixels.

Between the inner lips a smiling portrait shows its upper teeth, perhaps a dark cavity, perhaps its
lower teeth, and at either edge a little of the lips themselves. When the mouth opens wider, what is above
the split must ride with the upper lip and what is below it with the lower lip and jaw; a fixed half and
half split would carry the lower half of the upper teeth down with the jaw (and read as a swollen lip).

Along each of the middle columns from the upper to the lower inner lip, a few samples are classed by
their colour against the face's own lips: teeth are brighter than the lips and far greyer, the cavity far
darker, anything else is lip. A driver's are classed through its light's balance as last known, and may
also be far less red than its lips (green / red, which a light's colour scales alike in both): under a
tungsten bulb or a green tube teeth are not greyer than the lips, nor a webcam's soft yellowish ones; read
only now and then, under a green tube with a hand at the lips, they made the gap blink. A portrait's are
told by greyness alone: the soft teeth of a target video's webcam frames, found by the looser test, were
kept and stretched into a murky striped slab.
Each column is split on its own (teeth follow the curve of a smile), then the splits are smoothed across
columns and carried out to the corners.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from nodes.retarget.ranges import LOWER_LIP_RINGS, UPPER_LIP_RINGS

ROWS = 20  # rows sampled across the interior
MIDDLE = slice(2, 9)  # of the 11 columns: next to the corners the interior is too thin to read
TEETH_CHROMA, TEETH_LUMA = 0.7, 0.9  # teeth: chroma below this share of the lips', luma above this share
TEETH_GREENER = 1.2  # a driver's, or green / red above this share of the lips' (1.2-1.7 times on the four faces
TEETH_MOST_CHROMA = 0.75  # here), and yet (max - min) / max under this: under a tungsten bulb teeth measure 0.63;
# paint, a sweet or a coloured gum shield in the mouth is not teeth
CAVITY_LUMA = 0.6  # the cavity: luma below this share of the lips'
READABLE_PX = 4.0  # a narrower interior (at its middle column) is read as no interior at all
TEETH, CAVITY, LIP = 0, 1, 2
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass(frozen=True)
class JawSplit:
    """Per inner-lip column (11, corner to corner): upper, the interior from the upper inner lip down to
    this share rides with the upper lip; lower, from this share down to the lower inner lip, with the
    lower lip (upper <= lower; between them is the portrait's own cavity). upper_teeth, lower_teeth:
    whether most columns show teeth there; teeth_colour: (3,) 0..255 the teeth's lit colour (the mean of
    the brighter half of the samples read as teeth), None when none were."""

    upper: np.ndarray
    lower: np.ndarray
    upper_teeth: bool
    lower_teeth: bool
    teeth_colour: np.ndarray | None = None


COLUMNS = len(UPPER_LIP_RINGS[0])
HALVES = JawSplit(np.full(COLUMNS, 0.5), np.full(COLUMNS, 0.5), False, False)  # unreadable, or no pixels


def jaw_split(rgb: np.ndarray, landmarks: np.ndarray, driver_light: np.ndarray | None = None) -> JawSplit:
    """rgb: (H, W, 3) uint8 portrait; landmarks: (478, 2|3) its face track in pixels. A driver's gives
    driver_light, (3,) gains that take its light's colour out as far as it is known (light_balance.py; 1
    where it is not): its pixels are classed so balanced, and teeth far less red than its lips count too;
    teeth_colour is as lit."""
    upper, lower = landmarks[UPPER_LIP_RINGS[0], :2], landmarks[LOWER_LIP_RINGS[0], :2]
    if np.linalg.norm(lower[5] - upper[5]) < READABLE_PX:
        return HALVES
    shares = (np.arange(ROWS) + 0.5) / ROWS
    points = upper[MIDDLE, None, :] + (lower - upper)[MIDDLE, None, :] * shares[None, :, None]
    lips = np.concatenate([(landmarks[rings[1], :2] + landmarks[rings[2], :2])[MIDDLE] / 2
                           for rings in (UPPER_LIP_RINGS, LOWER_LIP_RINGS)])
    colours, lip = _sample(rgb, points), np.median(_sample(rgb, lips[None]), axis=(0, 1))
    if driver_light is None:
        classes = _classes(colours, lip, any_light=False)
    else:
        classes = _classes(colours * driver_light, lip * driver_light, any_light=True)
    splits = np.array([_split(column) for column in classes])  # (columns, 4)
    smooth = np.array([np.median(splits[max(0, c - 1):c + 2, :2], axis=0) for c in range(len(splits))])
    ends = MIDDLE.start, COLUMNS - MIDDLE.stop
    upper, lower = (np.pad(smooth[:, k], ends, mode="edge") for k in range(2))
    teeth = splits[:, 2:].mean(axis=0) >= 0.5
    lit = _lit_colour(colours[classes == TEETH]) if teeth.any() else None
    return JawSplit(upper, np.maximum(lower, upper), bool(teeth[0]), bool(teeth[1]), lit)


def _sample(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(..., 3) float colours at (..., 2) pixel positions, bilinearly interpolated."""
    flat = points.reshape(1, -1, 2).astype(np.float32)
    colours = cv2.remap(np.ascontiguousarray(rgb[:, :, :3]), flat[..., 0], flat[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
    return colours.reshape(*points.shape[:-1], 3).astype(np.float64)


def _classes(colours: np.ndarray, lip: np.ndarray, any_light: bool) -> np.ndarray:
    """(columns, ROWS) TEETH, CAVITY or LIP per sample of (columns, ROWS, 3) colours."""
    luma, chroma = colours @ LUMA, colours.max(axis=-1) - colours.min(axis=-1)
    lip_luma, lip_chroma = float(lip @ LUMA), max(float(lip.max() - lip.min()), 1.0)
    teeth = chroma < TEETH_CHROMA * lip_chroma
    if any_light:
        green_share = colours[..., 1] / np.maximum(colours[..., 0], 1.0)
        teeth |= ((green_share > TEETH_GREENER * lip[1] / max(float(lip[0]), 1.0))
                  & (chroma < TEETH_MOST_CHROMA * np.maximum(colours.max(axis=-1), 1.0)))
    teeth &= luma > TEETH_LUMA * lip_luma
    return np.where(teeth, TEETH, np.where(luma < CAVITY_LUMA * lip_luma, CAVITY, LIP))


def _lit_colour(colours: np.ndarray) -> np.ndarray | None:
    """(3,) the mean of the brighter half of (N, 3) teeth colours, None for none: the darker half is the
    teeth's edges and the gaps between them, which vary with how far the mouth is open."""
    if len(colours) == 0:
        return None
    luma = colours @ LUMA
    return colours[luma >= np.median(luma)].mean(axis=0)


def _split(classes: np.ndarray) -> tuple[float, float, bool, bool]:
    """One column's (upper, lower, upper teeth, lower teeth). From the top: the upper lip's edge, then the
    upper teeth (if any) ride with the upper lip. From the bottom: the lower lip's edge, then the lower
    teeth (if any, and not the upper run) with the lower lip."""
    runs = _runs(classes)
    if len(runs) == 1 and runs[0][0] == LIP:  # only lip: the two lips' edges, half each
        return 0.5, 0.5, False, False
    top = 1 if runs[0][0] == LIP and len(runs) > 1 else 0
    upper_teeth = runs[top][0] == TEETH
    upper_end = runs[top][2] if upper_teeth else runs[0][2] if top else 0
    bottom = len(runs) - 2 if runs[-1][0] == LIP and len(runs) > 1 else len(runs) - 1
    lower_teeth = runs[bottom][0] == TEETH and runs[bottom][1] >= upper_end
    lower_start = runs[bottom][1] if lower_teeth else runs[-1][1] if runs[-1][0] == LIP else ROWS
    lower_start = max(lower_start, upper_end)
    return upper_end / ROWS, lower_start / ROWS, upper_teeth, lower_teeth


def _runs(classes: np.ndarray) -> list[tuple[int, int, int]]:
    """(class, first row, row after the last) of each run of equal classes, top to bottom."""
    edges = [0, *(np.flatnonzero(np.diff(classes)) + 1).tolist(), len(classes)]
    return [(int(classes[a]), a, b) for a, b in zip(edges[:-1], edges[1:])]
