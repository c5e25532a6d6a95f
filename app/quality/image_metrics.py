"""Self-reenactment image metrics: each output frame against the real frame it should reproduce, over
the whole frame and over the face, next to a frozen-frame baseline (the clip's first frame held still).
"""
from __future__ import annotations

import math

import numpy as np
from skimage.metrics import structural_similarity

from app.quality.finite import mean_or_none
from app.quality.sources import resize

METRICS = ("psnr", "ssim", "l1")
# Identical frames have an infinite PSNR; every per-frame PSNR is capped here so that means stay finite
# and one perfect frame does not make a whole clip "infinitely good". Real renders stay far below it.
PSNR_CAP_DB = 100.0
FACE_BOX_PADDING = 0.10  # of the landmarks' box size, on each side
SSIM_WINDOW = 7  # skimage's default window: a face box must be at least this big on each side


def psnr(real: np.ndarray, output: np.ndarray) -> float:
    """PSNR in dB of two uint8 (H, W, C) arrays of one shape, capped at PSNR_CAP_DB."""
    mse = float(np.mean((real.astype(np.float64) - output) ** 2))
    return PSNR_CAP_DB if mse == 0 else min(PSNR_CAP_DB, 10 * math.log10(255.0 ** 2 / mse))


def ssim(real: np.ndarray, output: np.ndarray) -> float:
    """Mean structural similarity of two uint8 (H, W, 3) arrays (1 = identical), channels averaged."""
    # float32 input makes skimage compute in float32: 1.6x faster than from uint8 (float64), same to 1e-6.
    return float(structural_similarity(real.astype(np.float32), output.astype(np.float32),
                                       channel_axis=2, data_range=255))


def l1(real: np.ndarray, output: np.ndarray) -> float:
    """Mean absolute difference of two uint8 arrays over 255: 0 identical, 1 black against white."""
    return float(np.mean(np.abs(real.astype(np.float64) - output)) / 255.0)


def compare(real: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """All METRICS of one uint8 (H, W, 3) output against the real array of the same shape."""
    return {"psnr": psnr(real, output), "ssim": ssim(real, output), "l1": l1(real, output)}


def face_box(points: np.ndarray, width: int, height: int) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) pixel box around (N, 2|3) landmark pixels, padded by FACE_BOX_PADDING and
    clipped to a width x height frame; None when less than SSIM_WINDOW pixels remain on a side."""
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    pad = (high - low) * FACE_BOX_PADDING
    x0, y0 = np.maximum(np.floor(low - pad), 0).astype(int)
    x1, y1 = np.minimum(np.ceil(high + pad), (width, height)).astype(int)
    if x1 - x0 < SSIM_WINDOW or y1 - y0 < SSIM_WINDOW:
        return None
    return int(x0), int(y0), int(x1), int(y1)


class ImageScores:
    """Per-frame METRICS of one stream of frames against the real frames, whole and inside the face box."""

    def __init__(self) -> None:
        self._whole: list[dict[str, float]] = []
        self._face: list[dict[str, float]] = []

    def add(self, real: np.ndarray, output: np.ndarray, box: tuple[int, int, int, int] | None) -> None:
        """real, output: uint8 (H, W, 3) of one shape; box: the real face's, None without a face."""
        self._whole.append(compare(real, output))
        if box is not None:
            x0, y0, x1, y1 = box
            self._face.append(compare(real[y0:y1, x0:x1], output[y0:y1, x0:x1]))

    def summary(self) -> dict:
        """Means over the frames added: {"whole": {metric: mean}, "face": {...}, frame counts}."""
        return {"whole": _means(self._whole), "face": _means(self._face),
                "frames": len(self._whole), "face_frames": len(self._face)}


def _means(rows: list[dict[str, float]]) -> dict[str, float | None]:
    return {metric: mean_or_none(row[metric] for row in rows) for metric in METRICS}


class SelfReenactmentScores:
    """A self-reenactment output (the clip's first frame driven by the clip) against the real clip,
    and the frozen-frame baseline a useful output must beat: the first frame against every frame."""

    def __init__(self) -> None:
        self.output, self.frozen = ImageScores(), ImageScores()
        self._first: np.ndarray | None = None

    def add(self, real: np.ndarray, output: np.ndarray, real_points: np.ndarray | None) -> None:
        """real: uint8 (H, W, 3) driver frame; output: uint8 (h, w, 3) output frame of any size (resized
        to the real one); real_points: (478, 3) landmark pixels of the real frame, None without a face."""
        if self._first is None:
            self._first = real
        height, width = real.shape[:2]
        if output.shape != real.shape:
            output = resize(output, width, height)
        box = face_box(real_points, width, height) if real_points is not None else None
        self.output.add(real, output, box)
        self.frozen.add(real, self._first, box)

    def summary(self) -> dict:
        return {"psnr_cap_db": PSNR_CAP_DB, "output": self.output.summary(),
                "frozen_baseline": self.frozen.summary()}
