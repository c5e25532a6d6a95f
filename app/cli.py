"""The `reenact` command. User mistakes print a clear message and exit 2; failures while running
exit 1; never a traceback for either."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import bench, soak
from app.argtypes import positive
from app.training import command as train_command
from app.console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, say
from app.overrides import load_runnable
from app.presets import load_preset
from app.progress import Progress
from app.runner import has_live_source, make_runner, run_headless, timing_table
from app.runtime.errors import ProblemsError, ReenactError
from app.runtime.registry import Registry

def _registry() -> Registry:
    registry = Registry.default()
    for problem in registry.problems:
        say(f"warning: {problem}")
    return registry


# --------------------------------------------------------------------------- reenact nodes
def cmd_nodes(args: argparse.Namespace) -> int:
    registry = _registry()
    catalog = [t.schema.describe() for t in registry.types()]
    if args.json:
        print(json.dumps(catalog, indent=2))
        return EXIT_OK
    for entry in catalog:
        print(f"{entry['type']}  —  {entry['title']} [{entry['category']}]{'  (volatile)' if entry['volatile'] else ''}")
        print(f"    {entry['help']}")
        for port in entry["inputs"]:
            print(f"    in   {port['name']}: {port['type']}{' (optional)' if port['optional'] else ''}")
        for port in entry["outputs"]:
            print(f"    out  {port['name']}: {port['type']}")
        for param in entry["params"]:
            bounds = ""
            if "minimum" in param or "maximum" in param:
                bounds = f" [{param.get('minimum', '')}..{param.get('maximum', '')}]"
            if "choices" in param:
                bounds = f" {{{', '.join(param['choices'])}}}"
            print(f"    param {param['name']}: {param['kind']} = {json.dumps(param['default'])}{bounds}  "
                  f"{param['help']}")
        for action in entry["actions"]:
            print(f"    action {action['name']}: {action['help']}")
        print()
    return EXIT_OK


# --------------------------------------------------------------------------- reenact validate
def cmd_validate(args: argparse.Namespace) -> int:
    registry = _registry()
    status = EXIT_OK
    for path in args.graphs:
        try:
            preset = load_preset(path, registry)
        except ProblemsError as exc:
            say(f"{path}: invalid\n{_problem_lines(exc.problems)}")
            status = EXIT_INVALID
            continue
        if preset.problems:
            say(f"{path}: invalid\n{_problem_lines(preset.problems)}")
            status = EXIT_INVALID
        else:
            note = f" (migrated from format_version {preset.migrated_from})" if preset.migrated_from is not None else ""
            print(f"{path}: valid, {len(preset.graph.nodes)} nodes, {len(preset.graph.links)} links{note}")
    return status


def _problem_lines(problems) -> str:
    return "\n".join(f"  {p}" for p in problems)


# --------------------------------------------------------------------------- reenact run
def cmd_run(args: argparse.Namespace) -> int:
    registry = _registry()
    preset = load_runnable(args.graph, args.set, registry)
    graph = preset.graph
    frames = args.frames
    if frames is None and not has_live_source(graph, registry):
        frames = 1
        say("note: this graph has no live source (camera, video, clock), so it renders 1 frame; "
             "use --frames N for more")
    scheduler = make_runner(graph, registry, args.pipeline)
    result = run_headless(scheduler, frames, Progress(frames, enabled=not args.quiet), say)
    for notice in result.notices:
        say(f"note: {notice}")
    if args.timings:
        print(timing_table(scheduler, graph))
    fps = result.frames / result.seconds if result.seconds else 0.0
    say(f"{result.frames} frames in {result.seconds:.2f} s ({fps:.1f} fps)"
         + (", source ended" if result.ended else ""))
    for problem in result.close_problems:
        say(f"error: {problem}")
    for node_id, count in result.failures.items():
        say(f"error: node '{node_id}' failed in {count} of {result.frames} frames; last: "
             f"{result.last_failure[node_id].message}")
    if result.interrupted:
        say("interrupted: nodes closed and outputs finalized")
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED


# --------------------------------------------------------------------------- reenact edit
def cmd_edit(args: argparse.Namespace) -> int:
    import app.editor as editor  # only this command loads dearpygui

    if args.frames is not None and args.screenshot is None:
        raise ReenactError("--frames only applies with --screenshot", hint="add --screenshot PNG, or drop --frames")
    window = editor.open_window(_registry(), Path(args.graph) if args.graph else None, args.select)
    try:
        if args.measure:
            numbers = editor.measure(window, args.measure)
            print(json.dumps({k: round(v, 3) for k, v in numbers.items()}))
        if args.screenshot:
            editor.play_frames(window, args.frames or 1)
            say(f"screenshot written to {window.screenshot(Path(args.screenshot))}")
        if not (args.measure or args.screenshot):
            editor.run_until_quit(window)
    finally:
        window.close()
    return EXIT_OK


# --------------------------------------------------------------------------- reenact doctor
def cmd_doctor(args: argparse.Namespace) -> int:
    from app.environment import report

    found = report()
    if args.json:
        print(json.dumps(found, indent=2))
        return EXIT_OK if "error" not in found["gl"] else EXIT_FAILED
    gl = found["gl"]
    described = gl.get("error") or f"{gl['renderer']} ({gl['vendor']}), {gl['version']}, via {gl['backend']}"
    print(f"OpenGL:      {described}")
    devices = found["egl_devices"]
    print("EGL devices: " + ("; ".join(devices) if isinstance(devices, list) else devices))
    cuda = found["cuda"]
    print("CUDA:        " + (cuda if isinstance(cuda, str) else
                             f"{cuda['name']} (sm {cuda['capability']}, {cuda['memory_gb']} GB, CUDA {cuda['torch_cuda']})"))
    print(f"display:     {found['display']}")
    print(f"image path:  {found['image_path']}: {found['image_path_reason']}")
    print("packages:    " + ", ".join(f"{k} {v}" for k, v in found["versions"].items()))
    return EXIT_OK if "error" not in gl else EXIT_FAILED


# --------------------------------------------------------------------------- reenact detect
def cmd_detect(args: argparse.Namespace) -> int:
    from app.detect import detect_file

    try:
        found = detect_file(Path(args.file))
    except ReenactError as exc:  # 1 means "not marked" here, so errors get 2
        say(f"error: {exc.message}")
        return EXIT_INVALID
    verdict = "MARKED as synthetic" if found.marked else "not marked"
    print(f"{args.file}: {verdict} (confidence {found.confidence:.0%}: watermark in {found.frames_marked} of "
          f"{found.frames_scored} frames checked, median score {found.median_z:.1f}, threshold 5)")
    print(f"  metadata tag: {found.tag or 'none'}")
    return EXIT_OK if found.marked else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reenact", description="Reenact Studio: real-time portrait "
                                     "reenactment as a node graph.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("nodes", help="list the node catalog: types, ports, params")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_nodes)

    p = sub.add_parser("validate", help="check presets; exit 0 if all are valid, 2 otherwise")
    p.add_argument("graphs", nargs="+", metavar="GRAPH")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("run", help="run a preset headless")
    p.add_argument("graph", metavar="GRAPH")
    add_run_arguments(p)
    p.add_argument("--timings", action="store_true", help="print per-node times at the end")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("edit", help="open the node editor (needs a display)")
    p.add_argument("graph", metavar="GRAPH", nargs="?", help="preset to open (default: a new graph)")
    p.add_argument("--screenshot", metavar="PNG", help="play, write a screenshot of the window and exit")
    p.add_argument("--frames", type=positive, metavar="N", help="with --screenshot: frames to run first (default 1)")
    p.add_argument("--select", metavar="NODE", help="select this node (its params show in the inspector)")
    p.add_argument("--measure", type=positive, metavar="SECONDS", help="play that long, print UI fps, graph fps "
                   "and the preview upload time as JSON, and exit")
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("doctor", help="what this machine offers: OpenGL, EGL devices, CUDA, versions, image path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("detect", help="does an image or video carry the studio's synthetic mark? "
                       "exit 0 marked, 1 not marked, 2 error")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_detect)

    train_command.add_parser(sub)
    bench.add_parser(sub, add_run_arguments)
    soak.add_parser(sub, add_run_arguments)
    return parser


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                   help="override a param (repeatable)")
    p.add_argument("--frames", type=positive, metavar="N", help="number of frames (default: until the "
                   "source ends; 1 for a still graph)")
    p.add_argument("--pipeline", nargs="?", const="throughput", choices=("throughput", "latency"),
                   help="overlap capture and tracking of the next frame with rendering of this one: "
                        "'throughput' (default) starts the next capture at once, 'latency' just in time")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ProblemsError as exc:
        say(f"{exc.source}: invalid\n{_problem_lines(exc.problems)}")
        return EXIT_INVALID
    except ReenactError as exc:
        say(f"error: {exc.message}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
