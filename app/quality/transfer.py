"""Motion-transfer metrics: how well an output's face follows its driver's, frame by frame.

Series are (T,) float arrays over the same frames, NaN where a frame has no face; each comparison
uses the frames where both have one. Results are plain floats or None, never NaN.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.quality.features import FEATURES, feature_series
from app.quality.finite import finite_or_none, mean_or_none

MIN_FRAMES = 3  # fewer paired frames say nothing about a relation
MIN_STD = 1e-6  # a series flatter than this does not move: there is nothing to correlate with
CLOSED_FRACTION = 0.35  # an eye is closed below this fraction of its own open level...
OPEN_PERCENTILE = 90  # ...which is this percentile of its openness (each face has its own eye shape)
TRACKER_SHUT = 0.09  # the face tracker reads a shut eye at about 0.08-0.10 of its width (lashes and lid edge)
EYES = (("right", "right_eye_openness"), ("left", "left_eye_openness"))
SERIES_DIGITS = 4  # per-frame values in the report, rounded: the tracker is not finer


def _paired(driver: np.ndarray, output: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = np.isfinite(driver) & np.isfinite(output)
    return driver[both], output[both]


def pearson(driver: np.ndarray, output: np.ndarray) -> float | None:
    """Pearson correlation of two (T,) series; None when either does not move or too few frames pair."""
    d, o = _paired(driver, output)
    if len(d) < MIN_FRAMES or d.std() < MIN_STD or o.std() < MIN_STD:
        return None
    return finite_or_none(np.corrcoef(d, o)[0, 1])


def gain(driver: np.ndarray, output: np.ndarray) -> float | None:
    """Least-squares slope through the origin of (output - its median) on (driver - its median): 1 when
    the output moves as far from its rest as the driver from its own, 0.5 for half as far, 0 when it
    stays still. Chosen over the ratio of standard deviations, which would count unrelated noise as
    motion. None when the driver does not move or too few frames pair."""
    d, o = _paired(driver, output)
    if len(d) < MIN_FRAMES or d.std() < MIN_STD:
        return None
    d, o = d - np.median(d), o - np.median(o)
    return finite_or_none(d @ o / (d @ d))


def closed(openness: np.ndarray, open_level: float | None = None) -> np.ndarray:
    """(T,) bool: frames whose eye openness is under CLOSED_FRACTION of the open level (by default the
    series' own OPEN_PERCENTILE-th percentile)."""
    if open_level is None:
        open_level = float(np.percentile(openness, OPEN_PERCENTILE)) if len(openness) else 0.0
    return openness < CLOSED_FRACTION * open_level


def closed_eye_agreement(driver: np.ndarray, output: np.ndarray,
                         output_open_level: float | None = None) -> dict:
    """Of the frames where the driver's eye is closed, the share where the output's is closed too.

    driver, output: (T,) openness of one eye; output_open_level: the output face's open level when
    known (the target's), else its own percentile. agreement is None when the driver never closes it.
    """
    d, o = _paired(driver, output)
    driver_closed, output_closed = closed(d), closed(o, output_open_level)
    count = int(driver_closed.sum())
    return {"driver_closed_frames": count, "output_closed_frames": int(output_closed.sum()),
            "agreement": float((driver_closed & output_closed).sum() / count) if count else None}


def jitter(tracks: Sequence[np.ndarray | None]) -> float | None:
    """Mean length of the landmarks' second difference in the image (x, y), in face widths: how much the
    (478, 3) landmark pixels shake from frame to frame. Over each three consecutive frames with a face;
    None when there are none."""
    shakes = []
    for before, now, after in zip(tracks, tracks[1:], tracks[2:], strict=False):  # triples in a row
        if before is None or now is None or after is None:
            continue
        second_difference = after[:, :2] - 2 * now[:, :2] + before[:, :2]
        face_width = max(float(np.ptp(now[:, 0])), 1.0)
        shakes.append(float(np.linalg.norm(second_difference, axis=1).mean()) / face_width)
    return mean_or_none(shakes)


def motion_transfer(driver_tracks: Sequence[np.ndarray | None], output_tracks: Sequence[np.ndarray | None],
                    target_features: np.ndarray | None = None) -> dict:
    """All motion-transfer metrics of two equally long sequences of (478, 3) landmark pixels (None where
    a frame has no face). target_features: frame_features of the target at rest, when known: its eyes'
    openness is then the output's open level (else each output eye's own percentile).

    Returns {"frames_with_both_faces": n, "features": {feature: {"correlation", "gain"}},
    "closed_eyes": {"right"|"left": closed_eye_agreement(...)}, "jitter": {"driver", "output", "ratio"},
    "series": {"driver"|"output": {feature: per-frame values, None where a frame has no face}}}: the series
    let a reader find the frames behind a number.
    """
    driver, output = feature_series(driver_tracks), feature_series(output_tracks)
    features = {name: {"correlation": pearson(driver[:, i], output[:, i]),
                       "gain": gain(driver[:, i], output[:, i])} for i, name in enumerate(FEATURES)}
    eyes = {}
    for side, name in EYES:
        i = FEATURES.index(name)
        open_level = None if target_features is None else float(target_features[i])
        eyes[side] = closed_eye_agreement(driver[:, i], output[:, i], open_level)
    driver_jitter, output_jitter = jitter(driver_tracks), jitter(output_tracks)
    ratio = output_jitter / driver_jitter if driver_jitter and output_jitter is not None else None
    return {"frames_with_both_faces": int((np.isfinite(driver[:, 0]) & np.isfinite(output[:, 0])).sum()),
            "features": features, "closed_eyes": eyes,
            "jitter": {"driver": driver_jitter, "output": output_jitter, "ratio": ratio},
            "series": {"driver": _per_frame(driver), "output": _per_frame(output)}}


def _per_frame(series: np.ndarray) -> dict[str, list[float | None]]:
    return {name: [None if np.isnan(value) else round(float(value), SERIES_DIGITS) for value in series[:, i]]
            for i, name in enumerate(FEATURES)}


def narrow_eyes(target_features: np.ndarray) -> list[str]:
    """Notes on the target's eyes so narrow that CLOSED_FRACTION of their open level is under what the tracker
    reads for a shut eye: the output's shut eyes are then counted as open, and their agreement reads low."""
    notes = []
    for side, name in EYES:
        open_level = float(target_features[FEATURES.index(name)])
        if CLOSED_FRACTION * open_level < TRACKER_SHUT:
            notes.append(f"the target's {side} eye is narrow (open {open_level:.2f} of its width): the tracker "
                         f"reads a shut eye at about {TRACKER_SHUT:.2f}, over this eye's closed threshold "
                         f"({CLOSED_FRACTION * open_level:.2f}), so its shut-eye agreement reads low; look at the "
                         "frames (--sheet, or the per-frame series in --json)")
    return notes
