"""Contact sheets: rows of frames taken at the same moments from several videos, side by side, so a
viewer can judge an output next to its driver (and the real frames, where there are any)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from app.quality.sources import Video, resize

CELL_HEIGHT = 240
LABEL_HEIGHT = 22


def contact_sheet(columns: list[tuple[str, Path]], out: Path, rows: int = 4) -> Path:
    """columns: (label, video) pairs; `rows` moments spread evenly over the shortest video. Each cell is
    scaled to CELL_HEIGHT pixels high. Writes a PNG or JPEG (by suffix) and returns its path."""
    length = min(sum(1 for _ in Video(path).frames()) for _, path in columns)  # a first pass only counts
    picks = np.linspace(0, length - 1, rows).round().astype(int)
    cells = [_picked(path, set(picks.tolist())) for _, path in columns]
    grid = [[cells[c][i] for c in range(len(columns))] for i in picks]
    widths = [max(row[c].shape[1] for row in grid) for c in range(len(columns))]
    sheet = PILImage.new("RGB", (sum(widths), LABEL_HEIGHT + rows * CELL_HEIGHT), (20, 20, 24))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for c, (label, _) in enumerate(columns):
        draw.text((x + 6, 4), label, fill=(235, 235, 235))
        for r, row in enumerate(grid):
            sheet.paste(PILImage.fromarray(row[c]), (x, LABEL_HEIGHT + r * CELL_HEIGHT))
        x += widths[c]
    for r, index in enumerate(picks):
        draw.text((6, LABEL_HEIGHT + r * CELL_HEIGHT + 4), f"frame {index}", fill=(255, 220, 80))
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88) if out.suffix.lower() in (".jpg", ".jpeg") else sheet.save(out)
    return out


def _picked(path: Path, wanted: set[int]) -> dict[int, np.ndarray]:
    """The wanted frames of a video, scaled, read in one streaming pass (long clips stay out of memory)."""
    return {i: _scaled(frame) for i, frame in enumerate(Video(path).frames()) if i in wanted}


def _scaled(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return resize(frame, max(1, round(width * CELL_HEIGHT / height)), CELL_HEIGHT)
