"""`reenact edit [GRAPH]`: the node editor, or with --screenshot / --measure a scripted session."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.argtypes import float_between, positive
from app.cli.common import add_gpu_arguments, add_threads_argument, load_registry, options_of
from app.cli.console import EXIT_OK, say
from app.runtime.errors import ReenactError


def run(args: argparse.Namespace) -> int:
    import app.editor as editor  # only this command loads dearpygui

    if args.frames is not None and args.screenshot is None:
        raise ReenactError("--frames only applies with --screenshot", hint="add --screenshot PNG, or drop --frames")
    if args.max_fps is not None and not args.measure:
        raise ReenactError("--max-fps only applies with --measure", hint="add --measure SECONDS, or drop --max-fps")
    scripted = bool(args.measure or args.screenshot)  # shows the preset as saved, not an old session's autosave
    window = editor.open_window(load_registry(), options_of(args, editor=True), Path(args.graph) if args.graph else None,
                                args.select, use_autosave=not scripted)
    try:
        if args.measure:
            numbers = editor.measure(window, args.measure, args.max_fps or 0.0)
            print(json.dumps({k: round(v, 3) for k, v in numbers.items()}))
        if args.screenshot:
            editor.play_frames(window, args.frames or 1)
            say(f"screenshot written to {window.screenshot(Path(args.screenshot))}")
        if not (args.measure or args.screenshot):
            editor.run_until_quit(window)
    finally:
        window.close()
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("edit", help="open the node editor (needs a display)")
    p.add_argument("graph", metavar="GRAPH", nargs="?", help="preset to open (default: a new graph)")
    p.add_argument("--screenshot", metavar="PNG", help="play, write a screenshot of the window and exit")
    p.add_argument("--frames", type=positive, metavar="N", help="with --screenshot: frames to run first (default 1)")
    p.add_argument("--select", metavar="NODE", help="select this node (its params show in the inspector)")
    p.add_argument("--measure", type=positive, metavar="SECONDS", help="play that long, print UI fps, graph fps "
                   "and the preview upload time as JSON, and exit")
    p.add_argument("--max-fps", type=float_between(0.0, 240.0), metavar="F", help="with --measure: the graph's "
                   "frame cap, as the editor's field sets it (default 0: none, as fast as it goes). Under a cap "
                   "the window's share of a core follows the graph's headroom: measure 5 s or more")
    add_gpu_arguments(p)
    add_threads_argument(p)
    p.set_defaults(func=run)
