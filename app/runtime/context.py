"""What a node sees: the run (once) and the frame (every frame)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from app.runtime.errors import ReenactError
from app.runtime.late_pass import PassCalendar
from app.runtime.options import Options, resolve
from app.runtime.paths import first_free, resolve_asset, resolve_output
from app.runtime.threads import apply_process_wide

if TYPE_CHECKING:
    from app.runtime.gpu.context import GpuContext


@dataclass(frozen=True)
class SourceClock:
    """What a run's timed source (a video file, a camera, the motion driver) says of its frames' times.

    rate: frames per second; a video output follows it unless told a rate (a 23.98 fps driver is written at
        23.98 fps);
    pace: frames per second over the whole source, which live playback (a window, a virtual camera, the
        editor) is held to, a frame at a time: a phone's clip recorded at 30 fps with frames left out
        averages 26.4, and played at 30 it ran 14% fast (None: `rate`).
    live: a camera: its frames' times are the wall clock's, so a pause between two frames (the editor
        paused) is not part of what it recorded.
    sound: a video file's sound track, which a video output carries along (a talking driver's words);
    sound_from: seconds into that file (from its start, as ffmpeg seeks) where the frames' time 0 lies: a
        clip's video may start after its sound;
    sound_period: a looping clip's: its length in seconds once it has started again, else None (its sound
        repeats with its frames, whose times run on);
    pass_over: a recording's (`PassOver`): frames a live run whose graph fell behind has it pass over, so the
        clip keeps its own time (`Pacer`, the editor's playback); None: a camera hands out its newest frame
        anyway.
    frame_duration: a recording's: how long the frame it handed out last is shown, in seconds, which a
        variable-rate clip's live playback holds it for (`Pacer`); None: every frame lasts 1 / pace.
    frame_time: a recording's: when the frame it handed out last is shown, in seconds from its first (the
        editor's clock keeps a variable-rate clip's time by it: `ClipClock`); None: frame n at n / pace.
    """

    rate: float
    pace: float | None = None
    live: bool = False
    sound: Path | None = None
    sound_from: float = 0.0
    sound_period: Callable[[], float | None] | None = None
    pass_over: PassOver | None = None
    frame_duration: Callable[[], float] | None = None
    frame_time: Callable[[], float] | None = None


class PassOver:
    """A recording's frames to pass over: asked for on the run's thread, taken on the thread that reads the
    recording, before its next frame. `passed`: how many it has passed over (the reader counts them: a clip
    that ends on the way passes fewer than asked)."""

    def __init__(self, allowed: Callable[[], bool]):
        self._allowed = allowed  # whether the recording passes frames over at all (else it shows every one)
        self._lock = threading.Lock()
        self._asked = 0
        self.passed = 0

    def __call__(self, frames: int) -> int:
        """Ask for the next `frames` to be passed over; how many are asked for (0: it shows every frame)."""
        if not self._allowed():
            return 0
        with self._lock:
            self._asked += frames
        return frames

    def take(self) -> int:
        """The frames asked for since the last take."""
        with self._lock:
            asked, self._asked = self._asked, 0
        return asked


@dataclass
class RunContext:
    """Shared by every node of one run: where relative paths start, the options and the GPU context.

    base_dir: the folder of the preset the graph came from (None for graphs built in memory).
    options: resolved where the program started (flags, then environment).
    gpu: the GpuContext; the scheduler opens it before the first node whose schema says `gpu`.
    embedded: the run lives inside the editor, which shows frames itself: nodes open no windows.
    keep_files: outputs never replace a file (the editor's recording: a take after a restart, or a second
        recording, goes beside the earlier ones; see `output`).
    source: the run's timed source's clock, once one has said (see `timed_source`).
    passes: when nodes start their passes beside the graph (see `PassCalendar`).
    """

    base_dir: Path | None = None
    options: Options = field(default_factory=resolve)  # programs pass theirs; the environment by default
    gpu: GpuContext | None = None
    notices: list[str] = field(default_factory=list)
    embedded: bool = False
    keep_files: bool = False
    source: SourceClock | None = None
    passes: PassCalendar = field(default_factory=PassCalendar)
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

    def timed_source(self, clock: SourceClock) -> None:
        """A source says how its frames are timed, when it opens; the first one with a rate is the run's."""
        if self.source is None and clock.rate > 0:
            self.source = clock

    def untimed_source(self, clock: SourceClock) -> None:
        """A source's clock stops timing the run (its node opens another clip, whose own clock then may)."""
        if self.source is clock:
            self.source = None

    @property
    def frame_rate(self) -> float | None:
        """Frames per second of the run's timed source, None while none has said."""
        return self.source.rate if self.source is not None else None

    @property
    def pace_rate(self) -> float | None:
        """The rate live playback holds the run's frames to (`SourceClock.pace`), None while no source has said."""
        return (self.source.pace or self.source.rate) if self.source is not None else None

    def frame_duration(self) -> float | None:
        """How long the run's timed source shows the frame it handed out last (`SourceClock.frame_duration`),
        None where it does not say."""
        source = self.source
        return source.frame_duration() if source is not None and source.frame_duration is not None else None

    def notice(self, message: str) -> None:
        """Record something the user should know that is not an error (e.g. 'image downscaled')."""
        self.notices.append(message)


@dataclass
class FrameContext:
    """Per-frame facts: index from 0 and the wall-clock time in seconds since the run started."""

    index: int
    time: float
    run: RunContext
