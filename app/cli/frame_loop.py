"""Running a graph headless: the frame loop behind `reenact run` and `reenact bench`."""
from __future__ import annotations

import signal
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator

from app.runtime.budget import FrameBudget
from app.runtime.progress import Progress
from app.runtime.context import RunContext
from app.runtime.errors import EndOfStream, NodeFailure, ReenactError
from app.runtime.graph import Graph
from app.runtime.options import Options
from app.runtime.pacing import Pacer
from app.runtime.pipeline import PipelinedRun
from app.runtime.registry import Registry
from app.runtime.runner import FrameRunner
from app.runtime.scheduler import Scheduler
from app.runtime.signals import StopRequest, stop_on_signals
from app.runtime.waits import WaitTally


FAILED_FROM_THE_START = 10  # frames a node may fail on from the start of a measuring run before it stops


@dataclass
class RunResult:
    frames: int = 0
    seconds: float = 0.0
    ended: bool = False  # a source ran out of frames
    signal: int = 0  # the signal that stopped the run: SIGINT (Ctrl-C) or SIGTERM; 0 if none did
    not_started: list[NodeFailure] = field(default_factory=list)  # nodes that could not start: no frame ran
    # failures on an input that never changes, first met after the first frame (a node upstream of it was not
    # ready before: a camera that connected late): they would recur on every frame, so the run stopped there;
    # in a measuring run also a node that failed on each of its first frames
    lasting: list[NodeFailure] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)  # node id -> frames failed
    last_failure: dict[str, NodeFailure] = field(default_factory=dict)
    close_problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # less the waits': `waits` counts them, `Verdict` judges
    waits: WaitTally = field(default_factory=WaitTally)

    @property
    def interrupted(self) -> bool:
        return self.signal != 0

    @property
    def ok(self) -> bool:
        return not self.not_started and not self.failures and not self.close_problems


def has_live_source(graph: Graph, registry: Registry) -> bool:
    """Whether any frame can differ from the first: a volatile node with no inputs (camera, video,
    clock). Without one, every frame would be the same picture."""
    fed = {link.target.node for link in graph.links}
    return any(registry.require(spec.type).schema.volatile and node_id not in fed
               for node_id, spec in graph.nodes.items())


def still_inputs(graph: Graph, registry: Registry) -> frozenset[tuple[str, str]]:
    """(node id, input port) pairs fed by a node whose output never changes over a run: nothing upstream of
    it is volatile (a portrait image and what is computed from it alone). A node that fails on such an
    input's value fails every frame (`ReenactError.from_input`)."""
    feeders: dict[str, list[str]] = {}
    for link in graph.links:
        feeders.setdefault(link.target.node, []).append(link.source.node)
    constant: dict[str, bool] = {}

    def unchanging(node_id: str) -> bool:
        if node_id not in constant:
            constant[node_id] = False  # a cycle (which planning refuses) reads as changing
            constant[node_id] = (not registry.require(graph.nodes[node_id].type).schema.volatile
                                 and all(map(unchanging, feeders.get(node_id, ()))))
        return constant[node_id]

    return frozenset((link.target.node, link.target.port) for link in graph.links if unchanging(link.source.node))


def pacer_for(runner: FrameRunner, graph: Graph, registry: Registry, realtime: str) -> Pacer | None:
    """For `--realtime`: 'on' holds the frames to the source's own rate; 'auto' does while a node shows
    them as they are made (a window that opened, a virtual camera: `Node.shows_frames`), not for a render
    to a file; 'off' never. A clip held to its rate keeps its time: frames a slow graph has no time for are
    passed over."""
    live = [node_id for node_id, spec in graph.nodes.items() if registry.require(spec.type).schema.live]
    if realtime == "off" or (realtime == "auto" and not live):
        return None

    def rate() -> float | None:
        showing = realtime == "on" or any(node.shows_frames() for node in map(runner.node, live) if node)
        return runner.run.pace_rate if showing else None

    def pass_over() -> Callable[[int], int] | None:
        return runner.run.source.pass_over if runner.run.source is not None else None

    return Pacer(rate, pass_over=pass_over, duration=lambda: runner.run.frame_duration())


def make_runner(graph: Graph, registry: Registry, pipeline: str | None, options: Options,
                timing_window: int = 120) -> FrameRunner:
    """A Scheduler, or with --pipeline a PipelinedRun: both drive the same frame loop."""
    run = RunContext(base_dir=graph.base_dir, options=options)
    if pipeline is None:
        return Scheduler(graph, registry, run, timing_window=timing_window)
    return PipelinedRun(graph, registry, run, timing_window=timing_window, just_in_time=pipeline == "latency",
                        even=pipeline == "even")


def frame_budget(target_fps: float | None, graph: Graph, registry: Registry,
                 runner: FrameRunner) -> FrameBudget | None:
    """The run's frame budget when a target rate was asked for; offline renders never degrade otherwise."""
    return FrameBudget(target_fps, graph, registry, runner) if target_fps else None


def run_headless(scheduler: FrameRunner, frames: int | None, progress: Progress,
                 report: Callable[[str], None], before_frame: Callable[[int], None] | None = None,
                 budget: FrameBudget | None = None, pacer: Pacer | None = None,
                 still: frozenset[tuple[str, str]] = frozenset(), measuring: bool = False) -> RunResult:
    """Open, step until `frames` (or the end of the stream, or Ctrl-C / SIGTERM), always close.

    A node that cannot start stops the run before its first frame: without it nothing (or not what was
    asked for) would be rendered, and a source that cannot start would leave the loop spinning on
    empty frames; so does a still source (an image file) that fails on the first frame, and a node that fails
    on the first frame because of what an input in `still` (`still_inputs`) holds. A node failure
    while running is reported the first time it appears and again when its message changes; the graph
    keeps running, except when `measuring` (bench, soak) and a node has failed on each of the first
    `FAILED_FROM_THE_START` frames: figures for frames that all failed would mean nothing, and each failed frame
    may take long (a render retrying its plate). `before_frame(i)` lets a benchmark act between frames: it
    is called before each frame i, and once more after the last one (before the nodes are closed).
    A frame budget, when given, sees each frame's duration and its changes are reported as they happen;
    a pacer, when given, holds the frames to the source's own rate (its waits are not in their durations).
    Nodes that waited for an input are counted per frame (`waited`), their notices left out of `notices`.
    """
    result = RunResult()
    shown: dict[str, str] = {}
    started = time.perf_counter()
    with stop_on_signals() as stop, _closing(scheduler, result, progress, started, stop):
        result.not_started = scheduler.open()
        for failure in result.not_started:
            report(f"error: node '{failure.node_id}' ({failure.node_type}) {failure.message}")
        while not result.not_started and (frames is None or result.frames < frames):
            if stop.signum:
                report("stopping: finalizing the outputs (a second Ctrl-C abandons what is not finalized yet)")
                break
            if before_frame:
                before_frame(result.frames)
            if pacer is not None:
                pacer.wait(lambda: bool(stop.signum))
                if stop.signum:
                    continue  # stopped while waiting: no frame is started after Ctrl-C
            step_started = time.perf_counter()
            try:
                failures = scheduler.step()
            except EndOfStream:
                result.ended = True
                break
            if budget is not None:
                change = budget.observe(time.perf_counter() - step_started)
                if change is not None:
                    report(change.describe())
            for failure in failures:
                if shown.get(failure.node_id) != failure.message:
                    shown[failure.node_id] = failure.message
                    report(f"error: {failure}")
            recurring = [f for f in failures if _fails_every_frame(scheduler, f, still)]
            if recurring and result.frames == 0:
                result.not_started = recurring
                break
            for failure in failures:
                result.failures[failure.node_id] += 1
                result.last_failure[failure.node_id] = failure
            result.waits.add(scheduler.waited())
            result.frames += 1
            progress.update(result.frames, scheduler.fps)
            if measuring and result.frames == FAILED_FROM_THE_START:
                recurring = recurring or [result.last_failure[node_id] for node_id, count in result.failures.items()
                                          if count == result.frames]
            if recurring:
                result.lasting = recurring
                break
        if before_frame and not result.not_started:
            before_frame(result.frames)  # after the last frame, while the nodes are still open
    result.notices = result.waits.other_notices(result.notices)
    return result


def refuse_unmeasured(result: RunResult) -> None:
    """For the measuring commands (bench, soak): ReenactError where a node could not start or would fail on
    every frame (each was reported), rather than figures for frames that did not render."""
    if result.not_started or result.lasting:
        raise ReenactError("nothing was measured: the node(s) above cannot run")


def _fails_every_frame(scheduler: FrameRunner, failure: NodeFailure, still: frozenset[tuple[str, str]]) -> bool:
    """A still source (no inputs, not volatile: an image file) has nothing that changes in a headless
    run, so failing once it fails every frame: like a node that cannot start, it stops the run. So does a
    node that failed on what an input that never changes holds (a target portrait with no face)."""
    if (failure.node_id, failure.from_input) in still:
        return True
    node = scheduler.node(failure.node_id)
    return node is not None and not node.schema.inputs and not node.schema.volatile


@contextmanager
def _closing(scheduler: FrameRunner, result: RunResult, progress: Progress, started: float,
             stop: StopRequest) -> Iterator[None]:
    """Always close the nodes and record how the run ended, also after a second signal."""
    try:
        yield
    except KeyboardInterrupt:
        result.signal = stop.signum or signal.SIGINT
    finally:
        result.seconds = time.perf_counter() - started
        progress.finish(result.frames, result.frames / result.seconds if result.seconds else 0.0)
        result.signal = result.signal or stop.signum
        try:
            result.close_problems = scheduler.close()
        except KeyboardInterrupt:
            result.close_problems = ["interrupted while closing: outputs not yet finalized were removed"]
            result.signal = result.signal or signal.SIGINT
        result.notices = list(scheduler.run.notices)


def timing_table(scheduler: FrameRunner, graph: Graph) -> str:
    """Per-node mean / p50 / p95 milliseconds over the timing window, in plan order."""
    rows = [("node", "type", "mean ms", "p50 ms", "p95 ms", "samples")]
    for node_id, stats in scheduler.node_timings().items():
        rows.append((node_id, graph.nodes[node_id].type, f"{stats.mean_ms:.3f}", f"{stats.p50_ms:.3f}",
                     f"{stats.p95_ms:.3f}", str(stats.samples)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    return "\n".join(lines)
