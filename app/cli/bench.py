"""`reenact bench`: frame rate, per-node times, latency, memory and scheduler overhead."""
from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from app.cli.argtypes import non_negative, positive, whole_number_from
from app.cli.common import add_budget_argument, add_run_arguments, load_registry, options_of
from app.cli.console import EXIT_FAILED, EXIT_INVALID, EXIT_OK, Interrupted, say
from app.cli.frame_loop import frame_budget, make_runner, refuse_unmeasured, run_headless, still_inputs, timing_table
from app.cli.load import competing_load
from app.cli.overrides import load_runnable
from app.cli.report_file import file_problem, write_whole
from app.runtime.progress import Progress
from app.cli.transfer_bench import measure_transfers
from app.runtime.verdict import Verdict
from app.runtime.errors import ReenactError
from app.runtime.gpu.bridge import transfers
from app.runtime.gpu.context import GpuContext
from app.runtime.graph import Graph, NodeSpec
from app.runtime.budget import FrameBudget
from app.runtime.options import Options
from app.runtime.registry import Registry
from app.runtime.runner import FrameRunner
from app.runtime.schema import ParamKind, PathRole


MAX_LOAD = 16  # competing processes; more only thrashes the machine
MIN_SETTLED = 100  # frames after the budget's last change below which no held rate is claimed


def chain_graph(length: int) -> Graph:
    """A clock feeding `length - 1` trivial scale nodes: every node runs every frame, so the time
    beyond the nodes' own work is the scheduler's overhead."""
    graph = Graph(meta={"name": f"scheduler overhead chain ({length} nodes)"})
    graph.add(NodeSpec("n0", "util.clock"))
    for i in range(1, length):
        graph.add(NodeSpec(f"n{i}", "util.scale", params={"gain": 1.0}))
        graph.connect(f"n{i - 1}", "seconds" if i == 1 else "value", f"n{i}", "value")
    return graph


def measure(runner: FrameRunner, frames: int, warmup: int, say: Callable[[str], None],
            progress: Progress, budget: FrameBudget | None = None,
            still: frozenset[tuple[str, str]] = frozenset(), verdict: Verdict | None = None) -> dict[str, Any]:
    """Run warm-up + measured frames; returns the report dictionary (JSON keys of the bench). verdict: what the
    nodes that waited for an input come to, said (the baseline's run of the same graph leaves it out)."""
    path = {"path": "none", "path_reason": "the graph has no GL node: frames never leave host memory"}

    def before_frame(index: int) -> None:
        if index == warmup:
            runner.reset_timings()
            transfers.reset()
            if runner.run.gpu is not None:  # the route the run's context chose, while it is open
                path.update(path=runner.run.gpu.bridge.name, path_reason=runner.run.gpu.path_reason)

    result = run_headless(runner, warmup + frames, progress, say, before_frame, budget, still=still, measuring=True)
    refuse_unmeasured(result)
    if verdict is not None:
        verdict.measured(result.waits, result.frames, result.interrupted, say)
    if result.frames <= warmup and result.signal:  # its figures would be the warm-up's, read as measured
        raise Interrupted(result.signal, f"bench interrupted during the warm-up ({result.frames} of {warmup} "
                                         "frames): nothing was measured")
    if result.frames <= warmup:  # what would be shown is warm-up cost
        raise ReenactError(f"nothing was measured: the source ended after {result.frames} frame(s), within the "
                           f"{warmup} warm-up frames", hint="use a longer clip, loop it with --set NODE.loop=true, "
                           "or lower --warmup")
    steps = runner.step_times.stats()
    nodes = {node_id: {"mean_ms": s.mean_ms, "p50_ms": s.p50_ms, "p95_ms": s.p95_ms, "runs": s.samples}
             for node_id, s in runner.node_timings().items()}
    count = steps.samples
    total = steps.mean_ms * count / 1000.0
    node_total = sum(n["mean_ms"] * n["runs"] for n in nodes.values()) / 1000.0
    return {
        "frames": count,
        "fps": count / total if total else 0.0,
        "frame_ms": {"mean": steps.mean_ms, "p50": steps.p50_ms, "p95": steps.p95_ms},
        "latency_ms": runner.latency.stats().mean_ms,
        "latency_p95_ms": runner.latency.stats().p95_ms,
        "threads": runner.run.options.threads.describe(),
        "budget": budget.report() if budget is not None else None,
        "settled": settled_figures(runner, result.frames, warmup, budget),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "scheduler_overhead_us_per_node": ((total - node_total) / (count * len(nodes)) * 1e6
                                           if count and nodes and not runner.pipelined else None),
        "failures": dict(result.failures),
        "waited": dict(result.waits.counts),  # node id -> frames it waited for an input in (warm-up included)
        "signal": result.signal,  # the Ctrl-C (2) or SIGTERM (15) that cut the measurement short; 0: none
        "source_ended": result.ended and result.frames < warmup + frames,  # before the frames asked for
        "pipelined": runner.pipelined,
        **path,
        "transfers": transfers.report(count),  # conversions between host, texture and tensor per frame
        "gpu_memory_mb": _gpu_memory_mb(),
        "nodes": nodes,
    }


def settled_figures(runner: FrameRunner, frames_run: int, warmup: int, budget: FrameBudget | None) -> dict | None:
    """With a frame budget: the rate it holds, over the measured frames after its last change (the ones
    before were timed with settings it then changed, so the whole run's figures understate it). None
    without a budget."""
    if budget is None:
        return None
    since = max((change.frame for change in budget.changes), default=0)
    count = min(frames_run - since, frames_run - warmup)
    figures: dict[str, Any] = {"from_frame": max(since, warmup), "frames": count}
    if count < MIN_SETTLED:
        return {**figures, "why": f"under {MIN_SETTLED} frames measured after the budget's last change: measure "
                                  "more frames (--frames; a clip may loop: --set NODE.loop=true)"}
    steps = runner.step_times.stats(last=count)
    return {**figures, "fps": 1000.0 / steps.mean_ms if steps.mean_ms else 0.0,
            "frame_ms": {"mean": steps.mean_ms, "p50": steps.p50_ms, "p95": steps.p95_ms}}


def _gpu_memory_mb() -> float | None:
    """PyTorch's peak CUDA memory, or None where no CUDA was used (torch not even imported)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.max_memory_allocated() / 2 ** 20


def cpu_warp_baseline(scheduler: FrameRunner, graph: Graph, report: dict[str, Any], repeats: int = 3) -> dict[str, Any]:
    """The first render.portrait node's last frame warped on the CPU (scikit-image piecewise affine of
    the same face mesh) instead of by GL: its time and how many times slower than the GL node it is."""
    from nodes.render.cpu_warp import cpu_warp

    render_id = next((n for n, spec in graph.nodes.items() if spec.type == "render.portrait"), None)
    if render_id is None or render_id not in report["nodes"]:
        return {"why": "the graph has no render.portrait node"}
    inputs = {l.target.port: scheduler.output(l.source.node, l.source.port) for l in graph.links
              if l.target.node == render_id}
    image, track, motion = inputs.get("image"), inputs.get("track"), inputs.get("motion")
    if image is None or track is None or motion is None or not (track.valid and motion.valid):
        return {"why": "the render node had no valid inputs in the last frame"}
    started = time.perf_counter()
    for _ in range(repeats):
        cpu_warp(image.rgb(), track.landmarks, motion.landmarks)
    cpu_ms = (time.perf_counter() - started) / repeats * 1000.0
    gl_ms = report["nodes"][render_id]["mean_ms"]
    if not gl_ms:  # a node whose work all ran beside the timed call (seen on a GPU machine)
        return {"node": render_id, "cpu_warp_ms": cpu_ms, "why": "the GL render node's own time was not measured"}
    return {"node": render_id, "gl_ms": gl_ms, "cpu_warp_ms": cpu_ms, "cpu_over_gl": cpu_ms / gl_ms}


def readback_baseline(graph: Graph, registry: Registry, args: argparse.Namespace, options: Options,
                      report: dict[str, Any]) -> dict[str, Any]:
    """Where frames are shared between GL and CUDA, the same run with the read-back route forced."""
    if report["path"] != "cuda-gl":
        return {"why": f"not measured: the run itself uses {report['path']} ({report['path_reason']})"}
    forced = replace(options, gpu=options.gpu.with_route("read-back", "the bench's baseline"))
    runner = make_runner(graph, registry, args.pipeline, forced, timing_window=report["frames"])
    again = measure(runner, report["frames"], args.warmup, say, Progress(0, enabled=False))
    return {"fps": again["fps"], "latency_ms": again["latency_ms"], "transfers": again["transfers"],
            "sharing_speedup": report["fps"] / again["fps"] if again["fps"] else None}


def transfer_timings(options: Options) -> dict[str, Any]:
    """One frame moved by each route this machine offers, at 512² and 1024² (a fresh context)."""
    try:
        gpu = GpuContext.create(options.gpu)
    except ReenactError as exc:
        return {"why": f"not measured: {exc.message}"}
    try:
        return measure_transfers(gpu)
    finally:
        gpu.release()


def outputs_elsewhere(graph: Graph, registry: Registry, folder: Path) -> Graph:
    """A copy of `graph` whose output nodes write into `folder` (same file names): the bench measures
    writing too, but must not overwrite the preset's own renders."""
    graph = graph.copy()
    for spec in graph.nodes.values():
        node_class = registry.get(spec.type)
        for param in node_class.schema.params if node_class else ():
            if param.kind is ParamKind.PATH and param.role is PathRole.OUTPUT:
                spec.params[param.name] = str(folder / Path(spec.params.get(param.name, param.default)).name)
    return graph


def run(args: argparse.Namespace) -> int:
    problem = file_problem("--json", args.json, "bench.json") if args.json else ""
    if problem:  # before the measurement, not after it
        say(f"error: {problem}")
        return EXIT_INVALID
    registry = load_registry()
    options = options_of(args)
    if args.chain:
        graph = chain_graph(args.chain)
    elif args.graph:
        graph = load_runnable(args.graph, args.set, registry).graph
    else:
        say("reenact bench: give a GRAPH or --chain N")
        return EXIT_INVALID
    scratch = tempfile.TemporaryDirectory(prefix="reenact-bench-")  # removed when the bench exits
    graph = outputs_elsewhere(graph, registry, Path(scratch.name))
    frames = args.frames or 300
    scheduler = make_runner(graph, registry, args.pipeline, options, timing_window=frames)
    budget = frame_budget(args.target_fps, graph, registry, scheduler)
    with competing_load(args.load):
        report = measure(scheduler, frames, args.warmup, say, Progress(args.warmup + frames, enabled=not args.quiet),
                         budget, still_inputs(graph, registry), Verdict(graph, registry))
    report["load"] = args.load
    report["pipeline"] = args.pipeline  # None (serial), throughput, latency or even
    if report["signal"]:  # what was measured is shown; the baselines would take seconds more
        report["baselines"] = report["transfer_timings_ms"] = {"why": "not measured: the bench was interrupted"}
    else:
        report["baselines"] = {
            "cpu_warp": cpu_warp_baseline(scheduler, graph, report),
            "readback_instead_of_sharing": readback_baseline(graph, registry, args, options, report),
        }
        report["transfer_timings_ms"] = transfer_timings(options)
    print(timing_table(scheduler, graph))
    print(f"fps {report['fps']:.1f}  frame p95 {report['frame_ms']['p95']:.1f} ms  latency {report['latency_ms']:.3f} ms "
          f"(p95 {report['latency_p95_ms']:.1f})  peak RSS {report['peak_rss_mb']:.0f} MB"
          + (f"  scheduler overhead {report['scheduler_overhead_us_per_node']:.2f} µs/node/frame"
             if report["scheduler_overhead_us_per_node"] is not None
             else f"  (pipelined, {args.pipeline}: stages overlap)"))
    if report["source_ended"]:
        print(f"note: the source ended after {report['frames']} measured frames of the {frames} asked for; the "
              "figures cover those (a clip loops with --set NODE.loop=true)")
    print(f"image path: {report['path']} ({report['path_reason']})")
    print(f"threads: {scheduler.run.options.threads.summary()}" + (f"; {args.load} competing busy process(es)"
                                                                    if args.load else ""))
    if budget is not None:
        print(f"frame budget {args.target_fps:g} fps: {len(budget.changes)} change(s); at the end "
              + (", ".join(budget.active) or "nothing taken"))
        settled = report["settled"]
        print(f"  held from frame {settled['from_frame']}: " + (settled["why"] if "why" in settled else
              f"{settled['fps']:.1f} fps, frame p95 {settled['frame_ms']['p95']:.1f} ms over {settled['frames']} frames"))
    for kind, figures in report["transfers"].items():
        print(f"  {kind}: {figures['per_frame']:.2f} per frame, {figures['mean_ms']:.3f} ms each")
    sharing = report["baselines"].get("readback_instead_of_sharing", {})
    if "sharing_speedup" in sharing:
        print(f"baseline: with read-back instead of sharing {sharing['fps']:.1f} fps "
              f"(sharing is {sharing['sharing_speedup']:.2f}x)")
    warp = report["baselines"].get("cpu_warp", {})
    if "cpu_over_gl" in warp:
        print(f"baseline: a CPU warp of the same mesh (scikit-image) takes {warp['cpu_warp_ms']:.1f} ms, "
              f"{warp['cpu_over_gl']:.1f}x the GL render node's {warp['gl_ms']:.1f} ms")
    if args.json:
        write_whole(Path(args.json), lambda partial: partial.write_text(json.dumps(report, indent=2) + "\n"))
    if report["signal"]:
        raise Interrupted(report["signal"], f"bench interrupted: the figures above cover only the {report['frames']} "
                                            "frames measured before it")
    return EXIT_FAILED if report["failures"] else EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("bench", help="measure frame rate, per-node times, memory, scheduler overhead")
    p.add_argument("graph", nargs="?", metavar="GRAPH")
    add_run_arguments(p)
    p.add_argument("--warmup", type=non_negative, default=20, metavar="W", help="frames run before measuring")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--chain", type=positive, metavar="N", help="instead of a graph: a chain of N trivial "
                   "nodes, to measure the scheduler's own overhead")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--load", type=whole_number_from(0, MAX_LOAD), default=0, metavar="N", help="measure beside N competing busy "
                   "processes (one core each), started for the run and stopped with it")
    add_budget_argument(p)
    p.set_defaults(func=run)
