"""`reenact bench`: frame rate, per-node times, latency, memory and scheduler overhead."""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path
from typing import Any, Callable

from app.console import EXIT_FAILED, EXIT_INVALID, EXIT_OK, say
from app.overrides import load_runnable
from app.progress import Progress
from app.runner import run_headless, timing_table
from app.runtime.graph import Graph, NodeSpec
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler


def chain_graph(length: int) -> Graph:
    """A clock feeding `length - 1` trivial scale nodes: every node runs every frame, so the time
    beyond the nodes' own work is the scheduler's overhead."""
    graph = Graph(meta={"name": f"scheduler overhead chain ({length} nodes)"})
    graph.add(NodeSpec("n0", "util.clock"))
    for i in range(1, length):
        graph.add(NodeSpec(f"n{i}", "util.scale", params={"gain": 1.0}))
        graph.connect(f"n{i - 1}", "seconds" if i == 1 else "value", f"n{i}", "value")
    return graph


def measure(scheduler: Scheduler, frames: int, warmup: int, say: Callable[[str], None],
            progress: Progress) -> dict[str, Any]:
    """Run warm-up + measured frames; returns the report dictionary (JSON keys of the bench)."""
    step_seconds: list[float] = []
    original_step = scheduler.step

    def timed_step():
        started = time.perf_counter()
        try:
            return original_step()
        finally:
            step_seconds.append(time.perf_counter() - started)

    def before_frame(index: int) -> None:
        if index == warmup:
            scheduler.reset_timings()
            step_seconds.clear()

    scheduler.step = timed_step  # type: ignore[method-assign]
    result = run_headless(scheduler, warmup + frames, progress, say, before_frame)
    measured = step_seconds[-frames:] if len(step_seconds) >= frames else step_seconds
    nodes = {node_id: {"mean_ms": s.mean_ms, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "runs": s.samples}
             for node_id, s in scheduler.node_timings().items()}
    total = sum(measured)
    node_total = sum(n["mean_ms"] * n["runs"] for n in nodes.values()) / 1000.0
    count = len(measured)
    return {
        "frames": count,
        "fps": count / total if total else 0.0,
        "latency_ms": total / count * 1000.0 if count else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "path": "host",  # images live in host memory; the GPU bridge is not in this build yet
        "scheduler_overhead_us_per_node": ((total - node_total) / (count * len(nodes)) * 1e6
                                           if count and nodes else 0.0),
        "failures": dict(result.failures),
        "nodes": nodes,
    }


def cmd_bench(args: argparse.Namespace) -> int:
    registry = Registry.default()
    if args.chain:
        graph = chain_graph(args.chain)
    elif args.graph:
        graph = load_runnable(args.graph, args.set, registry).graph
    else:
        say("reenact bench: give a GRAPH or --chain N")
        return EXIT_INVALID
    frames = args.frames or 300
    scheduler = Scheduler(graph, registry, timing_window=frames)
    report = measure(scheduler, frames, args.warmup, say, Progress(args.warmup + frames, enabled=not args.quiet))
    print(timing_table(scheduler, graph))
    print(f"fps {report['fps']:.1f}  latency {report['latency_ms']:.3f} ms  peak RSS {report['peak_rss_mb']:.0f} MB"
          f"  scheduler overhead {report['scheduler_overhead_us_per_node']:.2f} µs/node/frame  "
          f"path {report['path']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return EXIT_FAILED if report["failures"] else EXIT_OK


def add_parser(sub: Any, add_run_arguments: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("bench", help="measure frame rate, per-node times, memory, scheduler overhead")
    p.add_argument("graph", nargs="?", metavar="GRAPH")
    add_run_arguments(p)
    p.add_argument("--warmup", type=int, default=20, metavar="W", help="frames run before measuring")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--chain", type=int, metavar="N", help="instead of a graph: a chain of N trivial "
                   "nodes, to measure the scheduler's own overhead")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_bench)
