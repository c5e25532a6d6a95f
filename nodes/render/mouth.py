"""The mouth layer: a strip of columns between the upper and the lower inner lip.

The portrait's own mouth interior (its teeth, where it smiles with them) is split between the jaws:
the upper half rides under the upper lip and the lower half over the lower lip, neither stretched. Where
the posed mouth opens wider than the portrait's, the gap between them is filled from the chosen source:
the driver's own mouth interior at the same place (its teeth, tongue and shadow) or a drawn cavity.
"""
from __future__ import annotations

import numpy as np

# Inner-lip points from one mouth corner (78) to the other (308): upper and lower, paired by column.
UPPER_INNER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
LOWER_INNER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
BEHIND_LIPS = 0.01  # depth offset: the interior sits behind the lips
OWN_TEETH = 0.05  # a portrait's interior taller than this share of its mouth width shows its own teeth


def mouth_strip(src: np.ndarray, dst: np.ndarray, scale: np.ndarray, depth: np.ndarray,
                driver_mouth: np.ndarray | None) -> list[tuple]:
    """The mouth as (positions (K, 2), depths (K,), portrait uvs (K, 2), layer coords (K, 2), band)
    triangle lists, band in ("teeth", "gap"). Gap coords are driver 0..1 coordinates when
    `driver_mouth` ((11, 2, 2) per column the driver's upper and lower inner-lip uv, see `driver_columns`)
    is given, else mouth coordinates (u across, v from the upper to the lower lip)."""
    su, sl, du, dl = src[UPPER_INNER, :2], src[LOWER_INNER, :2], dst[UPPER_INNER, :2], dst[LOWER_INNER, :2]
    kept = np.linalg.norm(sl - su, axis=1)  # the portrait's own interior height per column
    opened = np.linalg.norm(dl - du, axis=1)
    band = np.where(opened > 1e-6, np.minimum(0.5, 0.5 * kept / np.maximum(opened, 1e-6)), 0.5)
    mid = (su + sl) / 2
    # Four rows per column: upper lip, end of the upper teeth, start of the lower teeth, lower lip.
    rows = np.stack([du, du + (dl - du) * band[:, None], dl - (dl - du) * band[:, None], dl], axis=1)
    fractions = np.stack([np.zeros_like(band), band, 1.0 - band, np.ones_like(band)], axis=1)
    uv_rows = np.stack([su, mid, mid, sl], axis=1) / scale
    lip_depth = (depth[UPPER_INNER] + depth[LOWER_INNER]) / 2 + BEHIND_LIPS
    columns = np.linspace(0.0, 1.0, len(UPPER_INNER))
    if driver_mouth is not None:
        # between the portrait's own teeth only the middle of the driver's mouth (its tongue and shadow),
        # or its teeth would show as a second row
        own_teeth = (kept > OWN_TEETH * np.linalg.norm(su[-1] - su[0]))[:, None]
        driver_fractions = np.where(own_teeth, [[0.0, 1 / 3, 2 / 3, 1.0]], fractions)
        gap_coords = driver_mouth[:, 0, None, :] + (driver_mouth[:, 1, None, :] - driver_mouth[:, 0, None, :]) \
            * driver_fractions[:, :, None]
    else:
        gap_coords = np.stack([np.broadcast_to(columns[:, None], fractions.shape), fractions], axis=2)
    layers = []
    for name, top, bottom in (("teeth", 0, 1), ("gap", 1, 2), ("teeth", 2, 3)):
        coords = gap_coords if name == "gap" else np.zeros_like(gap_coords)
        layers.append((*_quads(rows, uv_rows, coords, lip_depth, top, bottom), name))
    return layers


def driver_columns(driver_landmarks: np.ndarray, driver_size: tuple[int, int]) -> np.ndarray:
    """(11, 2, 2): per mouth column the driver's upper and lower inner-lip point in 0..1 coordinates."""
    scale = np.array(driver_size, np.float64)
    return np.stack([driver_landmarks[UPPER_INNER, :2], driver_landmarks[LOWER_INNER, :2]], axis=1) / scale


def _quads(rows, uv_rows, coords, lip_depth, top: int, bottom: int) -> tuple[np.ndarray, ...]:
    """Two triangles per pair of neighbouring columns, between rows `top` and `bottom`."""
    a, b = np.arange(len(rows) - 1), np.arange(1, len(rows))
    corners = [(a, top), (b, top), (b, bottom), (a, top), (b, bottom), (a, bottom)]
    order = lambda values: np.stack([values[c, r] for c, r in corners], axis=1).reshape(-1, *values.shape[2:])  # noqa: E731
    depths = np.stack([lip_depth[c] for c, _ in corners], axis=1).reshape(-1)
    return order(rows), depths, order(uv_rows), order(coords)
