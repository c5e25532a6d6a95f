"""`reenact soak`: a long headless run that samples memory and frame time, to catch leaks and drift."""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from app.cli.argtypes import non_negative, whole_number_from
from app.cli.common import add_run_arguments, load_registry, options_of
from app.cli.console import EXIT_FAILED, EXIT_INVALID, EXIT_OK, Interrupted, say
from app.cli.overrides import load_runnable
from app.cli.report_file import file_problem, write_whole
from app.runtime.progress import Progress
from app.cli.frame_loop import make_runner, refuse_unmeasured, run_headless, still_inputs
from app.runtime.verdict import Verdict
from app.runtime.errors import ReenactError
from app.runtime.runner import FrameRunner

MAX_RSS_GROWTH = 0.05  # resident memory may grow by less than this after warm-up
MAX_DRIFT = 0.25  # the last quarter's frame time may differ from the first's by less than this


def resident_mb() -> float:
    """Current resident memory of this process (not the peak), from /proc."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def soak(scheduler: FrameRunner, frames: int, warmup: int, samples: int, progress: Progress,
         report: Callable[[str], None], still: frozenset[tuple[str, str]] = frozenset(),
         verdict: Verdict | None = None) -> dict[str, Any]:
    """Run warm-up + `frames` frames; sample RSS and the mean frame time `samples` times after warm-up. verdict:
    what the nodes that waited for an input come to, said."""
    every = max(1, frames // samples)
    points: list[tuple[int, float, float]] = []  # (frame, rss MB, mean frame ms of the window)
    window_start = [0.0]

    def before_frame(index: int) -> None:
        now = time.perf_counter()
        done = index - warmup
        if done == 0:
            window_start[0] = now
        elif done > 0 and done % every == 0:
            points.append((index, resident_mb(), (now - window_start[0]) / every * 1000.0))
            window_start[0] = now

    # the call after the last frame takes the sample that closes the last window, before the nodes close
    result = run_headless(scheduler, warmup + frames, progress, report, before_frame, still=still, measuring=True)
    refuse_unmeasured(result)
    if verdict is not None:
        verdict.measured(result.waits, result.frames, result.interrupted, report)
    if result.interrupted:  # its samples would pass a leak that the frames not run would have shown
        raise Interrupted(result.signal, f"soak stopped after {result.frames} of {warmup + frames} frames: "
                                         "no verdict (a soak cut short proves nothing)")
    if len(points) < 4:
        raise ReenactError(f"only {len(points)} samples were taken" + (
            f": the source ended after {result.frames} frames" if result.ended else ""),
            hint="loop a clip (--set NODE.loop=true)" if result.ended else "run more --frames or ask for more --samples")
    rss = np.array([p[1] for p in points])
    frame_ms = np.array([p[2] for p in points])
    quarter = max(1, len(points) // 4)
    first, last = np.median(frame_ms[:quarter]), np.median(frame_ms[-quarter:])
    growth = (rss[-1] - rss[0]) / rss[0]
    drift = (last - first) / first
    return {
        "frames": result.frames - warmup, "warmup": warmup,
        "rss_after_warmup_mb": float(rss[0]), "rss_end_mb": float(rss[-1]), "rss_max_mb": float(rss.max()),
        "rss_growth_pct": 100.0 * float(growth),
        "frame_ms_first_quarter": float(first), "frame_ms_last_quarter": float(last),
        "frame_time_drift_pct": 100.0 * float(drift),
        "ok": bool(growth < MAX_RSS_GROWTH and abs(drift) < MAX_DRIFT and result.ok),
        "failures": dict(result.failures),
        "waited": dict(result.waits.counts),  # node id -> frames it waited for an input in (warm-up included)
        "source_ended": result.ended and result.frames < warmup + frames,  # before the frames asked for
        "samples": [{"frame": f, "rss_mb": r, "frame_ms": m} for f, r, m in points],
    }


def run(args: argparse.Namespace) -> int:
    problem = file_problem("--json", args.json, "soak.json") if args.json else ""
    if problem:  # before the measurement, not after it
        say(f"error: {problem}")
        return EXIT_INVALID
    registry = load_registry()
    graph = load_runnable(args.graph, args.set, registry).graph
    frames = args.frames or 10_000
    warmup = args.warmup if args.warmup is not None else max(100, frames // 10)
    scheduler = make_runner(graph, registry, args.pipeline, options_of(args))
    report = soak(scheduler, frames, warmup, args.samples, Progress(warmup + frames, enabled=not args.quiet), say,
                  still_inputs(graph, registry), Verdict(graph, registry))
    say(f"{report['frames']} frames after {warmup} warm-up: RSS {report['rss_after_warmup_mb']:.0f} -> "
        f"{report['rss_end_mb']:.0f} MB ({report['rss_growth_pct']:+.2f}%, limit +{100 * MAX_RSS_GROWTH:.0f}%); "
        f"frame time {report['frame_ms_first_quarter']:.2f} -> {report['frame_ms_last_quarter']:.2f} ms "
        f"({report['frame_time_drift_pct']:+.1f}%, limit ±{100 * MAX_DRIFT:.0f}%): "
        + ("OK" if report["ok"] else "FAILED"))
    if report["source_ended"]:
        say(f"note: the source ended after {report['frames']} of the {frames} frames asked for; the verdict covers "
            "those (a clip loops with --set NODE.loop=true)")
    if args.json:
        write_whole(Path(args.json), lambda partial: partial.write_text(json.dumps(report, indent=2) + "\n"))
    return EXIT_OK if report["ok"] else EXIT_FAILED


def add_parser(sub: Any) -> None:
    p = sub.add_parser("soak", help="a long run that checks memory growth and frame-time drift")
    p.add_argument("graph", metavar="GRAPH")
    add_run_arguments(p)
    p.add_argument("--warmup", type=non_negative, metavar="W", help="frames before sampling (default: 10%%, at least 100)")
    p.add_argument("--samples", type=whole_number_from(4), default=40,
                   help="memory/time samples after warm-up (default 40, at least 4)")
    p.add_argument("--json", metavar="PATH", help="also write the report, with every sample, as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
