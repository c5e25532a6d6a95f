"""Running a graph headless: the frame loop behind `reenact run` and `reenact bench`."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from app.progress import Progress
from app.runtime.errors import EndOfStream, NodeFailure
from app.runtime.graph import Graph
from app.runtime.registry import Registry
from app.runtime.pipeline import PipelinedRun
from app.runtime.scheduler import Scheduler


@dataclass
class RunResult:
    frames: int = 0
    seconds: float = 0.0
    ended: bool = False  # a source ran out of frames
    interrupted: bool = False  # Ctrl-C
    failures: Counter = field(default_factory=Counter)  # node id -> frames failed
    last_failure: dict[str, NodeFailure] = field(default_factory=dict)
    close_problems: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures and not self.close_problems


def has_live_source(graph: Graph, registry: Registry) -> bool:
    """Whether any frame can differ from the first: a volatile node with no inputs (camera, video,
    clock). Without one, every frame would be the same picture."""
    fed = {link.target.node for link in graph.links}
    return any(registry.require(spec.type).schema.volatile and node_id not in fed
               for node_id, spec in graph.nodes.items())


def make_runner(graph, registry: Registry, pipeline: str | None, timing_window: int = 120):
    """A Scheduler, or with --pipeline a PipelinedRun: both drive the same frame loop."""
    if pipeline is None:
        return Scheduler(graph, registry, timing_window=timing_window)
    return PipelinedRun(graph, registry, timing_window=timing_window, just_in_time=pipeline == "latency")


def run_headless(scheduler: Scheduler, frames: int | None, progress: Progress,
                 report: Callable[[str], None], before_frame: Callable[[int], None] | None = None) -> RunResult:
    """Open, step until `frames` (or the end of the stream, or Ctrl-C), always close.

    A node failure is reported the first time it appears and again when its message changes;
    the graph keeps running. `before_frame(i)` lets a benchmark act between frames.
    """
    result = RunResult()
    shown: dict[str, str] = {}
    started = time.perf_counter()
    try:
        scheduler.open()
        while frames is None or result.frames < frames:
            if before_frame:
                before_frame(result.frames)
            try:
                failures = scheduler.step()
            except EndOfStream:
                result.ended = True
                break
            for failure in failures:
                result.failures[failure.node_id] += 1
                result.last_failure[failure.node_id] = failure
                if shown.get(failure.node_id) != failure.message:
                    shown[failure.node_id] = failure.message
                    report(f"error: {failure}")
            result.frames += 1
            progress.update(result.frames, scheduler.fps)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        result.seconds = time.perf_counter() - started
        progress.finish(result.frames, result.frames / result.seconds if result.seconds else 0.0)
        result.close_problems = scheduler.close()
        result.notices = list(scheduler.run.notices)
    return result


def timing_table(scheduler: Scheduler, graph: Graph) -> str:
    """Per-node mean / p50 / p95 milliseconds over the timing window, in plan order."""
    rows = [("node", "type", "mean ms", "p50 ms", "p95 ms", "samples")]
    for node_id, stats in scheduler.node_timings().items():
        rows.append((node_id, graph.nodes[node_id].type, f"{stats.mean_ms:.3f}", f"{stats.p50_ms:.3f}",
                     f"{stats.p95_ms:.3f}", str(stats.samples)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    return "\n".join(lines)
