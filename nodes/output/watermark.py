"""The invisible watermark on everything the studio writes, and how it is found again.

The mark (scheme reenact-wm-2) is our own, documented scheme: a fixed pseudo-random 16×16 block of ±1
cells, tiled 4×4 times into a 64×64 grid of cells, stretched smoothly over the frame and added to every
channel at ±3 levels. It is periodic on purpose: a crop keeps whole periods of it, so detection can
find the crop instead of searching for it.

Detection works in frame-relative units on a 256×256 map of the frame's luma:
1. remove the picture's own slow changes (high-pass) and weight each pixel by the inverse of its
   neighbourhood's detail energy, so textured areas, where the mark drowns, count less;
2. fold the map onto one tile at a candidate period along x and along y (every pixel to its phase in
   the tile). A crop shifts the tiles, which folding turns into a cyclic shift of the folded tile; a
   crop with rescaling, or a change of aspect, only changes the periods;
3. correlate the folded tile cyclically with the block, as it is and mirrored (a horizontal flip), at
   every cyclic offset at once by FFT. Periods are tried on a grid from the written size up to a
   crop of ~21% per side, fine enough that the fold never drifts by more than a fraction of a cell;
4. the statistic is the best correlation divided by the spread of the correlation at other offsets
   (once the block's own side lobes are taken out): 3-6.5 measured on unmarked real footage and
   portraits (the best of ~15 million tries), 11-32 on marked pictures after crops, flips and
   re-encoding. THRESHOLD (9) says where "marked" starts; its comment gives the measurements.

A video's frames share one crop, so their maps are summed before the search: the mark adds up, moving
content does not. The first scheme (reenact-wm-1, a non-periodic 64×64 grid) is still scored at its
original alignment, so files written before keep being detected (uncropped).

It survives re-encoding, resizing, a crop of up to about 20% per side (also rescaled back to another
size), and a horizontal flip; it does not survive rotation, heavy filtering, or anyone who knows the
key, which is in this file.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image as PILImage
from scipy import fft
from scipy.ndimage import uniform_filter

SCHEME = "reenact-wm-2"
LEGACY_SCHEME = "reenact-wm-1"
BLOCK = 16  # cells per tile side
TILES = 4  # tiles per frame side when written
CELLS = BLOCK * TILES
STRENGTH = 3.0  # levels of 255 added or removed
# A search statistic at least this means marked. Measured on 614 real frames (half of them cropped and
# flipped at random) and the bundled portraits: at most 6.5, mean 4.8; the tail above the 90th percentile
# falls off exponentially (mean excess 0.31), which puts the chance that an unmarked picture reaches 9 near
# 1 in a million. Marked video after 20% crops, flips and CRF 28/35 scored 10.8-14.4; marked single
# pictures cropped, flipped and saved as JPEG 14-32.
THRESHOLD = 9.0
UNMARKED_RANGE = "3-6.5"  # what unmarked pictures scored, for messages
LEGACY_THRESHOLD = 5.0  # reenact-wm-1's aligned z-value
GRID = 256  # side of the frame-relative map detection works on
BINS = BLOCK * 4  # phase bins per tile side when folding: 4 per cell
ZOOM = (0.97, 1.72)  # tile periods searched, relative to an uncropped frame's: crops of up to ~21% per side
FINALISTS = 3  # period pairs scored in full
_SEED, _LEGACY_SEED = 0x5EED_2027, 0x5EED_2026
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass(frozen=True)
class Alignment:
    """Where the mark was found: its tile period in map pixels along x and y, the cyclic offset of the
    folded tile (in bins), and whether it is mirrored left-right."""
    period_x: float
    period_y: float
    offset: tuple[int, int]
    mirrored: bool

    @property
    def shown(self) -> tuple[float, float]:
        """The share of the written frame's width and height that the checked picture shows."""
        full = GRID / TILES
        return full / self.period_x, full / self.period_y


def embed_watermark(rgb: np.ndarray) -> np.ndarray:
    """A copy of (H, W, 3) uint8 `rgb` with the pattern added, saturating at 0 and 255 (in uint8
    throughout: this runs on every written frame)."""
    up, down = _stretched_pattern(*rgb.shape[:2])
    out = np.array(rgb[..., :3])
    np.minimum(out, 255 - up, out=out)
    out += up
    np.maximum(out, down, out=out)
    out -= down
    return out


def detail_map(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3|4) uint8 -> (GRID, GRID) float32: the frame's high-passed luma, weighted by how quiet
    each neighbourhood is (inverse detail energy: where the picture is busy the mark is noise)."""
    luma = rgb[..., :3].astype(np.float32) @ _LUMA
    grid = np.asarray(PILImage.fromarray(luma).resize((GRID, GRID), PILImage.Resampling.BOX), np.float32)
    detail = grid - uniform_filter(grid, 9, mode="reflect")
    return detail / (uniform_filter(detail * detail, 17, mode="reflect") + 1.0)


def search(detail: np.ndarray) -> tuple[float, Alignment | None]:
    """The best statistic over tile periods, offsets and both mirror orientations of a (GRID, GRID) map
    (or a sum of several frames' maps), and where it was found; (0, None) for a flat picture.

    Every pair of periods on a grid fine enough that the folded tile never drifts by more than a
    fraction of a cell is tried (~1,800 pairs, as matrix products and one batch of small FFTs); the
    few best are then scored in full at slightly finer periods."""
    if not np.any(detail):
        return 0.0, None
    periods, binnings = _period_grid()
    across = detail @ binnings.transpose(0, 2, 1)  # (periods, GRID, BINS): folded along x at each period
    strength = np.empty((len(periods), len(periods)), np.float32)  # [y period, x period]
    for row, binning in enumerate(binnings):
        folds = binning @ across  # (periods, BINS, BINS): folded along y at this period too
        folds -= folds.mean(axis=(1, 2), keepdims=True)
        surfaces = fft.irfft2(fft.rfft2(folds)[:, None] * _half_spectra(), s=(BINS, BINS))
        strength[row] = surfaces.max(axis=(1, 2, 3)) / (np.sqrt((folds ** 2).sum(axis=(1, 2))) + 1e-12)
    best: tuple[float, Alignment | None] = (-np.inf, None)
    for index in np.argsort(strength, axis=None)[::-1][:FINALISTS]:
        row, column = np.unravel_index(index, strength.shape)
        step_x, step_y = _period_step(periods[column]) / 2, _period_step(periods[row]) / 2
        for period_x in (periods[column] - step_x, periods[column], periods[column] + step_x):
            for period_y in (periods[row] - step_y, periods[row], periods[row] + step_y):
                surface = _correlations(_fold(detail, period_x, period_y))
                peak = np.unravel_index(int(np.argmax(surface)), surface.shape)
                z = _statistic(surface, peak)
                if z > best[0]:
                    best = (z, Alignment(period_x, period_y, (int(peak[1]), int(peak[2])), bool(peak[0])))
    return best


def score_at(detail: np.ndarray, where: Alignment) -> float:
    """The statistic of one frame's map at an alignment found by `search` (no search of its own)."""
    surface = _correlations(_fold(detail, where.period_x, where.period_y))
    return _statistic(surface, (int(where.mirrored), *where.offset))


def watermark_score(rgb: np.ndarray) -> float:
    """The search statistic of one (H, W, 3|4) uint8 picture: at least THRESHOLD when marked."""
    return search(detail_map(rgb))[0]


def legacy_score(rgb: np.ndarray) -> float:
    """reenact-wm-1's z-value at its original alignment (about 0 when absent, ≥ LEGACY_THRESHOLD when
    marked): the frame's luma averaged into the 64×64 grid, high-passed and correlated with the pattern."""
    luma = rgb[..., :3].astype(np.float32) @ _LUMA
    cells = np.asarray(PILImage.fromarray(luma).resize((CELLS, CELLS), PILImage.Resampling.BOX), np.float32)
    detail = cells - uniform_filter(cells, 3, mode="reflect")
    pattern = _legacy_pattern() - uniform_filter(_legacy_pattern(), 3, mode="reflect")
    weight = 1.0 / (uniform_filter(detail ** 2, 5, mode="reflect") + 1.0)
    denominator = np.sqrt((weight * pattern ** 2).sum() * (weight * detail ** 2).sum())
    if denominator == 0:
        return 0.0  # a flat frame carries nothing
    return float((weight * detail * pattern).sum() / denominator * CELLS)


def _period_step(period: float) -> float:
    """A period error that shifts the folded tile by at most ~a third of a cell across the frame (the
    error grows by one step per tile, and there are GRID / period tiles, half on each side of the middle)."""
    return period * period / (GRID * BLOCK) * 0.7


@lru_cache(maxsize=1)
def _period_grid() -> tuple[np.ndarray, np.ndarray]:
    """The periods searched, and their (periods, BINS, GRID) binning matrices."""
    periods, period = [], GRID / TILES * ZOOM[0]
    while period <= GRID / TILES * ZOOM[1]:
        periods.append(period)
        period += _period_step(period)
    return np.array(periods), np.stack([_binning(p) for p in periods])


def _binning(period: float) -> np.ndarray:
    """(BINS, GRID) float32: row b averages the pixels whose phase in a tile of `period` falls in bin b."""
    phase = (np.floor(np.arange(GRID) % period / period * BINS).astype(np.int64)) % BINS
    matrix = np.zeros((BINS, GRID), np.float32)
    matrix[phase, np.arange(GRID)] = 1.0
    return matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1.0)


def _fold(detail: np.ndarray, period_x: float, period_y: float) -> np.ndarray:
    """(GRID, GRID) -> (BINS, BINS): the mean of the map's pixels at each phase of the tile."""
    folded = _binning(period_y) @ detail @ _binning(period_x).T
    return folded - folded.mean()


def _correlations(folded: np.ndarray) -> np.ndarray:
    """(2, BINS, BINS): cyclic correlation of the folded tile with the block as is [0] and mirrored [1]."""
    spectrum = np.fft.fft2(folded)
    return np.fft.ifft2(spectrum[None] * _template_spectra().conj()).real


def _statistic(surface: np.ndarray, peak: tuple[int, int, int]) -> float:
    """The correlation at `peak` over the spread of the others, once the block's own side lobes (what a
    perfect mark at `peak` would leave at the other offsets) are taken out."""
    value = surface[peak]
    lobes = _side_lobes(peak[0])
    residual = surface - value / lobes[peak[0], 0, 0] * np.roll(lobes, peak[1:], axis=(1, 2))
    others = np.ones(surface.shape, bool)  # leave out the peak's own neighbourhood (a cell and a bit)
    rows = np.arange(peak[1] - 5, peak[1] + 6) % BINS
    cols = np.arange(peak[2] - 5, peak[2] + 6) % BINS
    others[peak[0]][np.ix_(rows, cols)] = False
    spread = residual[others].std()
    return float(value / spread) if spread > 0 else 0.0


@lru_cache(maxsize=2)
def _side_lobes(mirrored: int) -> np.ndarray:
    """(2, BINS, BINS): the correlation surfaces of a perfect, unshifted mark in orientation `mirrored`."""
    return np.fft.ifft2(_template_spectra()[mirrored][None] * _template_spectra().conj()).real


@lru_cache(maxsize=1)
def _template_spectra() -> np.ndarray:
    """(2, BINS, BINS) complex: the spectra of the block drawn at BINS per side (cells smoothed as the
    bilinear stretch smooths them), as is and mirrored left-right."""
    tile = uniform_filter(np.kron(_block(), np.ones((BINS // BLOCK,) * 2, np.float32)), BINS // BLOCK, mode="wrap")
    tile -= tile.mean()
    return np.stack([np.fft.fft2(tile), np.fft.fft2(tile[:, ::-1])])


@lru_cache(maxsize=1)
def _half_spectra() -> np.ndarray:
    """(2, BINS, BINS // 2 + 1) complex64: the conjugate template spectra as rfft2 gives them."""
    return np.ascontiguousarray(_template_spectra()[..., :BINS // 2 + 1].conj()).astype(np.complex64)


@lru_cache(maxsize=1)
def _block() -> np.ndarray:
    return np.random.default_rng(_SEED).choice([-1.0, 1.0], size=(BLOCK, BLOCK)).astype(np.float32)


@lru_cache(maxsize=1)
def _legacy_pattern() -> np.ndarray:
    return np.random.default_rng(_LEGACY_SEED).choice([-1.0, 1.0], size=(CELLS, CELLS)).astype(np.float32)


@lru_cache(maxsize=8)
def _stretched_pattern(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The tiled cell pattern stretched smoothly over the frame, times the strength, split into what is
    added and what is taken away: two (H, W, 3) uint8 arrays (contiguous, which numpy adds fastest)."""
    pattern = np.tile(_block(), (TILES, TILES))
    stretched = PILImage.fromarray(pattern).resize((width, height), PILImage.Resampling.BILINEAR)
    levels = np.round(np.asarray(stretched, np.float32) * STRENGTH).astype(np.int16)[..., None]
    levels = np.ascontiguousarray(np.repeat(levels, 3, axis=2))
    return np.maximum(levels, 0).astype(np.uint8), np.maximum(-levels, 0).astype(np.uint8)
