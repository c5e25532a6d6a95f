"""What a node sees: the run (once) and the frame (every frame)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.runtime.paths import resolve_asset, resolve_output


@dataclass
class RunContext:
    """Shared by every node of one run: where relative paths start and the GPU context, if any.

    base_dir: the folder of the preset the graph came from (None for graphs built in memory).
    gpu: the GpuContext, created on first use by the nodes that need it.
    embedded: the run lives inside the editor, which shows frames itself: nodes open no windows.
    """

    base_dir: Path | None = None
    gpu: object | None = None
    notices: list[str] = field(default_factory=list)
    embedded: bool = False

    def asset(self, path: str) -> Path:
        """Resolve an asset path param (preset folder first, then assets/)."""
        return resolve_asset(path, self.base_dir)

    def output(self, path: str) -> Path:
        """Resolve an output path param (relative to the working directory)."""
        return resolve_output(path)

    def close(self) -> None:
        """Release what the run's nodes shared (the GPU context), after every node has closed."""
        if self.gpu is not None:
            self.gpu.release()
            self.gpu = None

    def notice(self, message: str) -> None:
        """Record something the user should know that is not an error (e.g. 'image downscaled')."""
        self.notices.append(message)


@dataclass
class FrameContext:
    """Per-frame facts: index from 0 and the wall-clock time in seconds since the run started."""

    index: int
    time: float
    run: RunContext
