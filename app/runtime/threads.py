"""The thread budget: how many cores a run may use and how they are split between the libraries that
start worker threads of their own (PyTorch, Mesa's software rasterizer, ffmpeg, OpenCV).

Left alone, each library sizes its pool to the whole machine, and where two of them work at the same
moment they fight over the cores. Each pool may use every core the run has; measured on 2 cores:
- one refiner thread instead of two made the refined chain 30% slower when quiet and gained nothing
  beside a busy process, and one rasterizer thread instead of two halved the render's share of the CPU
  beside one;
- a pipelined run, whose two stages overlap, was slower with each pool halved (unrefined 38.0 against
  39.9 fps, refined 10.8 against 13.9); its tracking stage runs on MediaPipe's own single threads.
ffmpeg runs beside us in its own process and gets half; the editor keeps a core for its window; NumPy's
BLAS pool gets one thread (app.launcher sets it before NumPy starts: its idle threads spun beside the
rasterizer's, which lost 3 ms a frame to them). The
budget is resolved once where the program starts (`options.resolve`) and applied where each library
is first used.
"""
from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass

from app.runtime.errors import ReenactError

RASTERIZER_ENV = "LP_NUM_THREADS"  # Mesa llvmpipe reads it when a GL context is created
MEDIAPIPE_THREADS = 1  # each mp.solutions graph runs its models on one thread (measured: CPU time = wall time)


@dataclass(frozen=True)
class ThreadBudget:
    """cores: cores the run may use, of `machine_cores` this process may run on.
    torch_intra / torch_interop: PyTorch's intra-op and inter-op pools (the refiner).
    rasterizer: Mesa llvmpipe's worker threads (software GL only; an `LP_NUM_THREADS` already set wins).
    codec: threads of each ffmpeg encoder and decoder. opencv: OpenCV's pool (image resampling).
    ui: cores left to the editor's window (0 headless). source: where `cores` came from."""

    cores: int
    machine_cores: int
    torch_intra: int
    torch_interop: int
    rasterizer: int
    codec: int
    opencv: int
    ui: int
    source: str

    def describe(self) -> dict:
        """JSON-ready, for `doctor --json` and the bench report."""
        return {**asdict(self), "mediapipe": MEDIAPIPE_THREADS}

    def summary(self) -> str:
        return (f"{self.cores} of {self.machine_cores} cores ({self.source}): torch {self.torch_intra}+"
                f"{self.torch_interop} inter-op, rasterizer {self.rasterizer}, codec {self.codec}, "
                f"OpenCV {self.opencv}, MediaPipe {MEDIAPIPE_THREADS} per tracker"
                + (f", {self.ui} left to the editor's window" if self.ui else ""))


def machine_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def plan_budget(available: int, requested: int | None = None, editor: bool = False,
                source: str = "", rasterizer: int | None = None) -> ThreadBudget:
    """Split the run's cores (see the module's docstring). rasterizer: the count the user exported in
    LP_NUM_THREADS, which stays theirs."""
    ui = 1 if editor and available > 1 else 0
    if requested is not None:
        if requested < 1:
            raise ReenactError(f"{source or 'threads'}={requested} is not a number of cores",
                               hint="give a whole number of 1 or more")
        cores = min(requested, available)
        source = f"{source}={requested}" + (f", only {available} available" if requested > available else "")
    else:
        cores, source = max(1, available - ui), "all cores" + (" but one for the editor's window" if ui else "")
    return ThreadBudget(cores=cores, machine_cores=available, torch_intra=cores, torch_interop=1,
                        rasterizer=cores if rasterizer is None else rasterizer, codec=max(1, cores // 2),
                        opencv=cores, ui=ui, source=source)


def apply_process_wide(budget: ThreadBudget) -> None:
    """What can be set before a library starts its pool: the rasterizer (read at GL context creation)
    and OpenCV. Idempotent."""
    os.environ[RASTERIZER_ENV] = str(budget.rasterizer)
    cv2 = sys.modules.get("cv2")
    if cv2 is not None:
        cv2.setNumThreads(budget.opencv)


def use_threads(count: int) -> None:
    """PyTorch's intra-op pool at `count` threads from now on (cheap when it already is)."""
    import torch

    if torch.get_num_threads() != count:
        torch.set_num_threads(count)


def apply_torch(budget: ThreadBudget) -> None:
    """PyTorch's pools, before the first tensor work of the run (the refiner calls it when it loads).
    The inter-op pool can be sized only once per process; a later call keeps the first size."""
    import torch

    use_threads(budget.torch_intra)
    if torch.get_num_interop_threads() != budget.torch_interop:
        try:
            torch.set_num_interop_threads(budget.torch_interop)
        except RuntimeError:  # already started by earlier work in this process: it keeps its size
            pass
