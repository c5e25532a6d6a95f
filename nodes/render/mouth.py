"""The mouth layer: a strip of columns between the upper and the lower inner lip.

The portrait's own mouth interior is split between the jaws where its pixels say (teeth.py): its upper
teeth ride under the upper lip and its lower teeth (or the lower lip's inner edge) over the lower lip,
neither stretched. Between them, where the posed mouth opens wider than the portrait's, the gap is filled
from the chosen source: the driver's own mouth interior at the same place (its tongue, shadow and lower
teeth) or a drawn cavity; opened no wider than the portrait's, it is the portrait's own.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nodes.render.ramps import smoothstep
from nodes.render.teeth import HALVES, JawSplit
from nodes.retarget.ranges import LOWER_LIP_RINGS, UPPER_LIP_RINGS

# Inner-lip points from one mouth corner (78) to the other (308): upper and lower, paired by column.
UPPER_INNER, LOWER_INNER = UPPER_LIP_RINGS[0], LOWER_LIP_RINGS[0]
MIDDLE_COLUMN = len(UPPER_INNER) // 2
BEHIND_LIPS = 0.01  # depth offset: the interior sits behind the lips
DRIVER_LIPS = 0.12  # the share at either edge of the driver's interior that is still its lips
NEW_GAP_FULL = 0.5  # the gap shows only the chosen source once this share of it is wider than the portrait's


@dataclass(frozen=True)
class DriverMouth:
    """The driver's mouth interior: columns (11, 2, 2) per inner-lip column its upper and lower point in
    0..1 frame coordinates; size (width, height) of its frame in pixels."""

    columns: np.ndarray
    size: tuple[int, int]

    @staticmethod
    def of(landmarks: np.ndarray, size: tuple[int, int]) -> DriverMouth:
        scale = np.array(size, np.float64)
        return DriverMouth(np.stack([landmarks[UPPER_INNER, :2], landmarks[LOWER_INNER, :2]], axis=1) / scale, size)


def mouth_strip(src: np.ndarray, dst: np.ndarray, scale: np.ndarray, depth: np.ndarray,
                driver_mouth: DriverMouth | None, split: JawSplit = HALVES) -> list[tuple]:
    """The mouth as (positions (K, 2), depths (K,), portrait uvs (K, 2), layer coords (K, 2), own)
    triangle lists, own the share of the band drawn from the portrait itself: 1 for the jaws' own bands,
    less for the gap between them as it opens wider than the portrait's. Gap coords are driver 0..1
    coordinates when `driver_mouth` is given, else mouth coordinates (u across, v from the upper to the
    lower lip)."""
    su, sl, du, dl = src[UPPER_INNER, :2], src[LOWER_INNER, :2], dst[UPPER_INNER, :2], dst[LOWER_INNER, :2]
    kept = np.linalg.norm(sl - su, axis=1)  # the portrait's own interior height per column
    opened = np.maximum(np.linalg.norm(dl - du, axis=1), 1e-6)
    squeeze = np.minimum(1.0, opened / np.maximum(kept, 1e-6))  # a mouth closing squeezes the jaws' bands
    top = np.minimum(split.upper * kept * squeeze / opened, 1.0)
    bottom = np.maximum(1.0 - (1.0 - split.lower) * kept * squeeze / opened, top)
    # Four rows per column: upper lip, end of the upper jaw's band, start of the lower jaw's, lower lip.
    fractions = np.stack([np.zeros_like(top), top, bottom, np.ones_like(top)], axis=1)
    rows = du[:, None, :] + (dl - du)[:, None, :] * fractions[:, :, None]
    shares = np.stack([np.zeros_like(top), split.upper, split.lower, np.ones_like(top)], axis=1)
    uv_rows = (su[:, None, :] + (sl - su)[:, None, :] * shares[:, :, None]) / scale
    lip_depth = (depth[UPPER_INNER] + depth[LOWER_INNER]) / 2 + BEHIND_LIPS
    gap = (bottom - top) * opened
    if driver_mouth is not None:
        first, last = _driver_span(driver_mouth, dst, gap, split, top, bottom)
        driver_fractions = np.stack([np.zeros_like(top), first, last, np.ones_like(top)], axis=1)
        upper, lower = driver_mouth.columns[:, 0, None, :], driver_mouth.columns[:, 1, None, :]
        gap_coords = upper + (lower - upper) * driver_fractions[:, :, None]
    else:
        columns = np.linspace(0.0, 1.0, len(UPPER_INNER))
        gap_coords = np.stack([np.broadcast_to(columns[:, None], fractions.shape), fractions], axis=2)
    wider = np.maximum(opened - kept, 0.0)  # what the portrait's own interior cannot show
    own = 1.0 - float(smoothstep(0.0, NEW_GAP_FULL, wider[MIDDLE_COLUMN] / max(gap[MIDDLE_COLUMN], 1e-6)))
    layers = []
    for share, first_row, last_row in ((1.0, 0, 1), (own, 1, 2), (1.0, 2, 3)):
        coords = gap_coords if share < 1.0 else np.zeros_like(gap_coords)
        layers.append((*_quads(rows, uv_rows, coords, lip_depth, first_row, last_row), share))
    return layers


def _driver_span(driver: DriverMouth, dst: np.ndarray, gap: np.ndarray, split: JawSplit, top: np.ndarray,
                 bottom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column, the shares of the driver's interior (0 its upper lip, 1 its lower) the gap shows. Next to
    the portrait's own teeth the driver's interior is shown at its own scale (in mouth widths), from the
    lip opposite them: a portrait smiling with its upper teeth gets the driver's tongue and lower teeth
    under them, not a second row of upper teeth or a stretched strip of one."""
    size = np.array(driver.size, np.float64)
    height = np.linalg.norm((driver.columns[:, 1] - driver.columns[:, 0]) * size, axis=1)
    widths = np.linalg.norm((driver.columns[-1, 0] - driver.columns[0, 0]) * size), \
        np.linalg.norm(dst[UPPER_INNER[-1], :2] - dst[UPPER_INNER[0], :2])
    span = gap * (widths[0] / max(widths[1], 1e-6)) / np.maximum(height, 1e-6)
    low, high = DRIVER_LIPS, 1.0 - DRIVER_LIPS
    if split.upper_teeth and split.lower_teeth:
        return np.maximum(0.5 - span / 2, low), np.minimum(0.5 + span / 2, high)
    if split.upper_teeth:
        return np.maximum(high - span, low), np.full_like(span, high)
    if split.lower_teeth:
        return np.full_like(span, low), np.minimum(low + span, high)
    return top, bottom


def _quads(rows, uv_rows, coords, lip_depth, top: int, bottom: int) -> tuple[np.ndarray, ...]:
    """Two triangles per pair of neighbouring columns, between rows `top` and `bottom`."""
    a, b = np.arange(len(rows) - 1), np.arange(1, len(rows))
    corners = [(a, top), (b, top), (b, bottom), (a, top), (b, bottom), (a, bottom)]
    order = lambda values: np.stack([values[c, r] for c, r in corners], axis=1).reshape(-1, *values.shape[2:])  # noqa: E731
    depths = np.stack([lip_depth[c] for c, _ in corners], axis=1).reshape(-1)
    return order(rows), depths, order(uv_rows), order(coords)
