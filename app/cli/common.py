"""What several `reenact` subcommands share: the node registry, options and the run arguments."""
from __future__ import annotations

import argparse

from app.cli.argtypes import float_between, non_negative, positive
from app.cli.console import say
from app.runtime.context import RunContext
from app.runtime.graph import Graph
from app.runtime.options import IMAGE_ROUTES, Options, resolve
from app.runtime.registry import Registry
from nodes import default_registry


def load_registry() -> Registry:
    """The installed node families and plugins; load problems are warnings, never fatal."""
    registry = default_registry()
    for problem in registry.problems:
        say(f"warning: {problem}")
    return registry


def add_gpu_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gpu-route", choices=IMAGE_ROUTES, help="how frames move between GL and the network: "
                   "force read-back through host memory or CUDA-GL sharing (default: sharing where it works; "
                   "environment: REENACT_IMAGE_PATH)")
    p.add_argument("--egl-device", type=non_negative, metavar="N", help="the EGL device for headless GL "
                   "(default: the CUDA GPU's, else the first; environment: GLCONTEXT_DEVICE_INDEX)")


def add_threads_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=positive, metavar="N", help="cores the run may use, split between the "
                   "refiner, the rasterizer, the video codecs and OpenCV (default: all, but one for the editor's "
                   "window; environment: REENACT_THREADS); `reenact doctor` shows the split")


def add_budget_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target-fps", type=float_between(1.0, 240.0), metavar="F", help="hold this frame rate by "
                   "taking the cheaper settings nodes declare when frames run late (smaller multisampling, "
                   "refining every other frame, ...) and giving them back when there is headroom; each change "
                   "is logged. Without it nothing degrades")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                   help="override a param (repeatable)")
    p.add_argument("--frames", type=positive, metavar="N", help="number of frames (default: until the "
                   "source ends; 1 for a still graph)")
    p.add_argument("--pipeline", nargs="?", const="throughput", choices=("throughput", "latency", "even"),
                   help="overlap capture and tracking of the next frame with rendering of this one: "
                        "'throughput' (default) starts the next capture at once, 'latency' just in time, "
                        "'even' as throughput but shows the frames evenly spaced (steadier beside a busy "
                        "program, up to 1.5%% fewer frames)")
    add_gpu_arguments(p)
    add_threads_argument(p)


def options_of(args: argparse.Namespace, editor: bool = False) -> Options:
    """The program's options: these flags first, then the environment."""
    return resolve(gpu_route=getattr(args, "gpu_route", None), egl_device=getattr(args, "egl_device", None),
                   threads=getattr(args, "threads", None), editor=editor)


def run_context(graph: Graph, options: Options) -> RunContext:
    return RunContext(base_dir=graph.base_dir, options=options)


def problem_lines(problems) -> str:
    return "\n".join(f"  {p}" for p in problems)
