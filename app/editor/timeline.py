"""How long the graph's clip is (the timeline's total), whether its source loops, and where the timeline is in it.

The clip is the first source that ends by itself: a video file (`capture.video`, frames counted once
per file version) or a motion driver with a duration. Live cameras have no total.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from app.runtime.context import SourceClock
from app.runtime.errors import ReenactError
from app.runtime.graph import Graph
from app.runtime.paths import resolve_asset
from app.runtime.scheduler import Scheduler

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


class ClipPosition:
    """Where the timeline is in its clip: the graph's frames since the clip's source last started, and those
    passed over. A source re-opened by an edit (another path) starts its clip again, and the timeline with it:
    it had counted on from the graph's first frame, 'frame 44 / 240' over the clip's first. One that failed (a
    path that is not there) holds the frame it stopped at; an edit that brings it back (the path fixed, or
    Undo) has its clip sought back there (`follow`): it had started over from its first frame."""

    def __init__(self) -> None:
        self._origin = 0  # the graph's frame index where the clip's source started
        self._source: SourceClock | None = None  # the run's timed source as last seen
        self._held: int | None = None  # where a source that failed stopped

    def restart(self, scheduler: Scheduler, clip: Clip | None) -> None:
        """A graph opened afresh (a restart, a seek back); a clip's source that could not start holds frame 0."""
        self._origin, self._source = 0, scheduler.run.source
        self._held = 0 if clip is not None and clip.node_id in scheduler.failures else None

    def at(self, scheduler: Scheduler) -> int:
        """The clip's frame read next (the one shown is the one before)."""
        if self._held is not None:
            return self._held
        source = scheduler.run.source
        return scheduler.frame_index - self._origin + (source.pass_over.passed if source and source.pass_over else 0)

    def mark(self, scheduler: Scheduler, clip: Clip | None) -> tuple[int, Any]:
        """Taken before a frame or a redraw, for `follow`."""
        return self.at(scheduler), _newest(scheduler, clip)

    def follow(self, scheduler: Scheduler, clip: Clip | None, mark: tuple[int, Any]) -> int | None:
        """After a frame or a redraw (`mark` taken before it): the frame (from 0) to seek the clip back to, where
        its source failed and is back; else None."""
        source = scheduler.run.source
        if source is self._source:
            return None
        was_at, newest_before = mark
        self._source = source
        if source is None:  # the clip's source failed: the timeline holds where it stopped
            self._held = was_at
            return None
        read = _newest(scheduler, clip) is not newest_before  # the new clip read its first frame already
        self._origin = scheduler.frame_index - read
        back_to, self._held = self._held, None
        return back_to - 1 if back_to else None


def _newest(scheduler: Scheduler, clip: Clip | None) -> Any:
    """The clip's source's newest output (another one: it read a frame)."""
    node = scheduler.node(clip.node_id) if clip is not None else None
    outputs = type(node).schema.outputs if node is not None else ()
    return scheduler.output(clip.node_id, outputs[0].name) if outputs else None
