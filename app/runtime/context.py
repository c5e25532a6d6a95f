"""What a node sees: the run (once) and the frame (every frame)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from app.runtime.errors import ReenactError
from app.runtime.options import Options, resolve
from app.runtime.paths import first_free, resolve_asset, resolve_output
from app.runtime.threads import apply_process_wide

if TYPE_CHECKING:
    from app.runtime.gpu.context import GpuContext


@dataclass
class RunContext:
    """Shared by every node of one run: where relative paths start, the options and the GPU context.

    base_dir: the folder of the preset the graph came from (None for graphs built in memory).
    options: resolved where the program started (flags, then environment).
    gpu: the GpuContext; the scheduler opens it before the first node whose schema says `gpu`.
    embedded: the run lives inside the editor, which shows frames itself: nodes open no windows.
    keep_files: outputs never replace a file (the editor's recording: a take after a restart, or a second
        recording, goes beside the earlier ones; see `output`).
    frame_rate: frames per second of the run's source, once a source has said (see `source_rate`).
    sound: the file of that source's sound track, where it is a video with one (see `source_rate`).
    """

    base_dir: Path | None = None
    options: Options = field(default_factory=resolve)  # programs pass theirs; the environment by default
    gpu: GpuContext | None = None
    notices: list[str] = field(default_factory=list)
    embedded: bool = False
    keep_files: bool = False
    frame_rate: float | None = None
    sound: Path | None = None
    _gpu_error: ReenactError | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        apply_process_wide(self.options.threads)  # before the run's GL context and image work start

    def open_gpu(self) -> GpuContext:
        """The run's GPU context, made from `options.gpu` the first time. ReenactError if none can be;
        the same error again for later callers, without another attempt."""
        if self.gpu is None:
            if self._gpu_error is not None:
                raise self._gpu_error
            from app.runtime.gpu.context import GpuContext  # moderngl loads only for graphs that render

            try:
                self.gpu = GpuContext.create(self.options.gpu)
            except ReenactError as exc:
                self._gpu_error = exc
                raise
        return self.gpu

    def asset(self, path: str) -> Path:
        """Resolve an asset path param (preset folder first, then assets/)."""
        return resolve_asset(path, self.base_dir)

    def output(self, path: str) -> Path:
        """Resolve an output path param (relative to the working directory); with `keep_files`, the first free
        name beside it where something is there already, said as a notice."""
        resolved = resolve_output(path)
        if not self.keep_files:
            return resolved
        free = first_free(resolved)
        if free != resolved:
            self.notice(f"{resolved} is kept: recording to {free.name} beside it")
        return free

    def close(self) -> None:
        """Release what the run's nodes shared (the GPU context), after every node has closed."""
        if self.gpu is not None:
            self.gpu.release()
            self.gpu = None

    def source_rate(self, fps: float, sound: Path | None = None) -> None:
        """A source (video file, camera, motion driver) says at what rate its frames come, when it opens,
        and a video file its sound track. The first one sets the run's `frame_rate`, which a video output
        follows unless told a rate, so a 23.98 fps driver is written at 23.98 fps, and its `sound`, which a
        video output carries along (a talking driver's words)."""
        if self.frame_rate is None and fps > 0:
            self.frame_rate, self.sound = fps, sound

    def notice(self, message: str) -> None:
        """Record something the user should know that is not an error (e.g. 'image downscaled')."""
        self.notices.append(message)


@dataclass
class FrameContext:
    """Per-frame facts: index from 0 and the wall-clock time in seconds since the run started."""

    index: int
    time: float
    run: RunContext
