"""How long the graph's clip is: the timeline's total, and whether its source loops.

The clip is the first source that ends by itself: a video file (`capture.video`, frames counted once
per file version) or a motion driver with a duration. Live cameras have no total.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.runtime.errors import ReenactError
from app.runtime.graph import Graph
from app.runtime.paths import resolve_asset

DECODE_ERRORS = (OSError, RuntimeError, ValueError)  # what imageio-ffmpeg raises on a file it cannot read


@dataclass(frozen=True)
class Clip:
    node_id: str  # the source the timeline follows
    frames: int | None  # None: unknown (unreadable file)
    loops: bool | None  # None: the source has no loop switch


def find_clip(graph: Graph) -> Clip | None:
    for node_id, spec in graph.nodes.items():
        if spec.type == "capture.video":
            return Clip(node_id, _video_frames(spec.params.get("path", ""), graph.base_dir),
                        bool(spec.params.get("loop", False)))
        if spec.type == "capture.motion" and spec.params.get("duration", 0.0) > 0:
            fps = spec.params.get("fps", 30.0)
            return Clip(node_id, max(1, round(spec.params["duration"] * fps)), None)
    return None


def _video_frames(path: str, base_dir: Path | None) -> int | None:
    try:
        resolved = resolve_asset(path, base_dir)
        stat = resolved.stat()
    except (ReenactError, OSError):
        return None
    return _count(resolved, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=32)
def _count(path: Path, _mtime: int, _size: int) -> int | None:
    """Frames in a video (ffmpeg decodes it once; cached while the file stays the same)."""
    import imageio_ffmpeg

    try:
        frames, _ = imageio_ffmpeg.count_frames_and_secs(str(path))
    except DECODE_ERRORS:
        return None
    return frames or None
