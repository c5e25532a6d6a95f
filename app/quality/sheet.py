"""Contact sheets: rows of frames taken at the same moments from several videos, side by side, so a
viewer can judge an output next to its driver (and the real frames, where there are any)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw

from app.quality.in_time import half_frame, shown_at
from app.quality.sources import Video, resize
from app.runtime.errors import ReenactError
from nodes.output.folders import write_atomically

CELL_HEIGHT = 240
SHEET_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
LABEL_HEIGHT = 22


def contact_sheet(columns: list[tuple[str, Path | np.ndarray]], out: Path, rows: int = 4) -> Path:
    """columns: (label, video) pairs, or (label, uint8 (H, W, 3) image) for a still shown in every row (the
    target portrait as it is); `rows` moments (at most one a frame) spread evenly over the shortest video,
    each video's frame shown then in its column. Each cell is scaled to
    CELL_HEIGHT pixels high. Writes a PNG or JPEG (by suffix) and returns its path."""
    videos = {path: _timing(path) for _, path in columns if not isinstance(path, np.ndarray)}  # a first pass
    times, _, half = next(iter(videos.values()))  # moments are the first video's frames that every one shows
    shown = [(i, moment) for i, moment in enumerate(times)
             if all(moment + half < end for _, end, _ in videos.values())]
    rows = min(rows, len(shown))  # no moment shown twice
    picks = [shown[k] for k in np.linspace(0, len(shown) - 1, rows).round().astype(int)]
    indices = {path: [shown_at(video_times, end, moment + half) for _, moment in picks]
               for path, (video_times, end, _) in videos.items()}
    cells = [_picked(source, indices[source]) if not isinstance(source, np.ndarray)
             else [_scaled(source)] * rows for _, source in columns]
    grid = [[cells[c][r] for c in range(len(columns))] for r in range(rows)]
    widths = [max(row[c].shape[1] for row in grid) for c in range(len(columns))]
    sheet = PILImage.new("RGB", (sum(widths), LABEL_HEIGHT + rows * CELL_HEIGHT), (20, 20, 24))
    draw = ImageDraw.Draw(sheet)
    x = 0
    for c, (label, _) in enumerate(columns):
        draw.text((x + 6, 4), label, fill=(235, 235, 235))
        for r, row in enumerate(grid):
            sheet.paste(PILImage.fromarray(row[c]), (x, LABEL_HEIGHT + r * CELL_HEIGHT))
        x += widths[c]
    for r, (index, _) in enumerate(picks):
        draw.text((6, LABEL_HEIGHT + r * CELL_HEIGHT + 4), f"frame {index}", fill=(255, 220, 80))
    _save_whole(sheet, out)
    return out


def _save_whole(sheet: PILImage.Image, out: Path) -> None:
    """Saved under a partial name, then renamed: a failed save never leaves a broken sheet under `out`."""
    image_format = SHEET_FORMATS.get(out.suffix.lower())
    if image_format is None:
        raise ReenactError(f"a contact sheet is written as PNG or JPEG, not '{out.suffix}'", where=str(out),
                           hint="name a .png, .jpg or .jpeg file")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(out, lambda partial: sheet.save(partial, format=image_format,
                                                         **({"quality": 88} if image_format == "JPEG" else {})))
    except OSError as exc:
        raise ReenactError(f"cannot write the contact sheet: {exc.strerror or exc}", where=str(out),
                           hint="choose a place you can write to") from None


def _timing(path: Path) -> tuple[list[float], float, float]:
    """A video's frame times, when its last frame ends, and half a frame at its rate."""
    video = Video(path)
    times = [moment for moment, _ in video.timed_frames()]
    return times, video.end, half_frame(video)


def _picked(path: Path, wanted: list[int]) -> list[np.ndarray]:
    """The wanted frames of a video (in order, repeats allowed), scaled, read in one streaming pass (long
    clips stay out of memory)."""
    unique = set(wanted)
    kept = {i: _scaled(frame) for i, frame in enumerate(Video(path).frames()) if i in unique}
    return [kept[i] for i in wanted]


def _scaled(frame: np.ndarray) -> np.ndarray:
    height, width = frame.shape[:2]
    return resize(frame, max(1, round(width * CELL_HEIGHT / height)), CELL_HEIGHT)
