"""`reenact run GRAPH`: a preset rendered headless."""
from __future__ import annotations

import argparse
import signal
from typing import Any

from app.cli.common import add_budget_argument, add_run_arguments, load_registry, options_of
from app.cli.console import EXIT_FAILED, EXIT_INVALID, EXIT_OK, say
from app.cli.frame_loop import (frame_budget, has_live_source, make_runner, pacer_for, run_headless, still_inputs,
                                timing_table)
from app.cli.overrides import load_runnable
from app.runtime.verdict import Verdict
from app.runtime.progress import Progress


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    graph = load_runnable(args.graph, args.set, registry).graph
    if not graph.nodes:
        say(f"error: {args.graph}: the graph has no nodes, so there is nothing to run")
        return EXIT_INVALID
    if not any(registry.require(spec.type).schema.category == "output" for spec in graph.nodes.values()):
        say("note: no output node (a video file, an image sequence, a window, a virtual camera): the frames "
            "are computed, then dropped")
    frames = args.frames
    if frames is None and not has_live_source(graph, registry):
        frames = 1
        say("note: this graph has no live source (camera, video, clock), so it renders 1 frame; "
            "use --frames N for more")
    looping = [spec.id for spec in graph.nodes.values() if spec.params.get("loop") is True]
    if frames is None and looping:  # else it looks like a render that never ends
        say(f"note: {', '.join(looping)} loop{'s' if len(looping) == 1 else ''} (loop=true), so this run goes on "
            "until Ctrl-C (the output is finalized) or --frames N; --set NODE.loop=false ends it with the clip")
    runner = make_runner(graph, registry, args.pipeline, options_of(args))
    budget = frame_budget(args.target_fps, graph, registry, runner)
    pacer = pacer_for(runner, graph, registry, args.realtime)
    result = run_headless(runner, frames, Progress(frames, enabled=not args.quiet), say, budget=budget, pacer=pacer,
                          still=still_inputs(graph, registry))
    if result.not_started:
        say("stopped before the first frame: fix the node(s) above, then run again")
        return EXIT_FAILED
    if result.lasting:
        say(f"stopped at frame {result.frames - 1}: the node(s) above would fail on every frame; fix them, then "
            "run again")
        return EXIT_FAILED
    errors, notes = Verdict(graph, registry).judge(result.waits, result.frames)
    for notice in result.notices + notes:
        say(f"note: {notice}")
    if args.timings:
        print(timing_table(runner, graph))
    fps = result.frames / result.seconds if result.seconds else 0.0
    say(f"{result.frames} frame{'' if result.frames == 1 else 's'} in {result.seconds:.2f} s ({fps:.1f} fps)"
        + (", source ended" if result.ended else ""))
    if pacer is not None and pacer.paced_at:
        passed = runner.run.source.pass_over.passed if runner.run.source.pass_over is not None else 0
        say(f"paced to the source's {pacer.paced_at:g} fps" + (
            f"; {pacer.late} of {result.frames} frames came later than that rate (the graph ran slower there)"
            if pacer.late else "") + (
            f"; {passed} of the clip's frames were passed over to keep its time (keep_time=false on its video "
            "node shows every one, slower)" if passed else "") + " (--realtime off renders as fast as it can)")
    if budget is not None:
        say(f"frame budget {args.target_fps:g} fps: " + (", ".join(budget.active) + " taken at the end"
                                                         if budget.active else "nothing taken at the end"))
    for problem in result.close_problems:
        say(f"error: {problem}")
    for node_id, count in result.failures.items():
        say(f"error: node '{node_id}' failed in {count} of {result.frames} frames; last: "
            f"{result.last_failure[node_id].message}")
    for error in errors:
        say(f"error: {error}")
    if result.interrupted:
        how = "terminated (SIGTERM)" if result.signal == signal.SIGTERM else "interrupted"
        say(f"{how}: nodes closed" + ("" if result.close_problems else " and outputs finalized"))
        return 128 + result.signal  # the shell's convention: 130 for Ctrl-C, 143 for SIGTERM
    return EXIT_OK if result.ok and not errors else EXIT_FAILED


def add_parser(sub: Any) -> None:
    p = sub.add_parser("run", help="run a preset headless")
    p.add_argument("graph", metavar="GRAPH")
    add_run_arguments(p)
    add_budget_argument(p)
    p.add_argument("--realtime", choices=("auto", "on", "off"), default="auto",
                   help="play the source at its own frame rate: auto (default) does where the graph shows "
                        "frames live (a window, a virtual camera), not for a render to a file")
    p.add_argument("--timings", action="store_true", help="print per-node times at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
