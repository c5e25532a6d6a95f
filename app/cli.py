"""The `reenact` command. User mistakes print a clear message and exit 2; failures while running
exit 1; never a traceback for either."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app import bench, soak
from app.console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, say
from app.overrides import load_runnable
from app.presets import load_preset
from app.progress import Progress
from app.runner import has_live_source, run_headless, timing_table
from app.runtime.errors import ProblemsError, ReenactError
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler

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
    scheduler = Scheduler(graph, registry)
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


# --------------------------------------------------------------------------- reenact train-refiner
def cmd_train_refiner(args: argparse.Namespace) -> int:
    from app.training.trainer import TrainConfig, train_refiner  # torch loads only for this command

    target, out = Path(args.target), Path(args.out)
    if not target.is_file():
        raise ReenactError("the target video does not exist", where=str(target), hint="check the path")
    if out.suffix != ".safetensors":
        raise ReenactError("the weights file must end in .safetensors", where=str(out))
    if args.resume and not out.exists():
        raise ReenactError("--resume needs an earlier checkpoint at --out", where=str(out),
                           hint="drop --resume to start training from scratch")
    result = train_refiner(TrainConfig(
        target=target, out=out, steps=args.steps, size=args.size, batch=args.batch, lr=args.lr,
        device=args.device, resume=args.resume, channels=args.channels, holdout=args.holdout,
        max_frames=args.max_frames, every=args.every, adversarial=args.adversarial, progress=not args.quiet))
    if not result.primary:
        return EXIT_OK
    say(f"trained {result.steps} steps ({1000 * result.seconds_per_step:.1f} ms/step); loss "
        f"{result.first_loss:.4f} -> {result.last_loss:.4f}")
    say(f"held-out frames, face region: render {result.psnr_render:.2f} dB, refined {result.psnr_refined:.2f} dB")
    say(f"weights: {out}   preview (render | refined | real): {result.preview}")
    return EXIT_OK


def _channels(text: str) -> tuple[int, ...]:
    try:
        channels = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of whole numbers") from None
    if not 1 <= len(channels) <= 6 or not all(1 <= c <= 512 for c in channels):
        raise argparse.ArgumentTypeError("1 to 6 levels of 1..512 channels, e.g. 16,32,64")
    return channels


def _float_between(low: float, high: float, exclusive: bool = False):
    """An argparse type: a number in [low, high] (or (low, high)); NaN and infinity never pass."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
        if not ((low < value < high) if exclusive else (low <= value <= high)):
            bounds = f"between {low:g} and {high:g}" + (" (exclusive)" if exclusive else "")
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {text}")
        return value
    return parse


# --------------------------------------------------------------------------- parser
def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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
    p.add_argument("--frames", type=_positive, metavar="N", help="with --screenshot: frames to run first (default 1)")
    p.add_argument("--select", metavar="NODE", help="select this node (its params show in the inspector)")
    p.add_argument("--measure", type=_positive, metavar="SECONDS", help="play that long, print UI fps, graph fps "
                   "and the preview upload time as JSON, and exit")
    p.set_defaults(func=cmd_edit)

    p = sub.add_parser("doctor", help="what this machine offers: OpenGL, EGL devices, CUDA, versions, image path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("detect", help="does an image or video carry the studio's synthetic mark? "
                       "exit 0 marked, 1 not marked, 2 error")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_detect)

    p = sub.add_parser("train-refiner", help="train the neural refiner for one target from a video of it")
    p.add_argument("--target", required=True, metavar="VIDEO", help="a video of the target person")
    p.add_argument("--out", required=True, metavar="WEIGHTS.safetensors", help="where the weights go")
    p.add_argument("--steps", type=_positive, default=2000, help="training steps (default 2000)")
    p.add_argument("--size", type=_positive, default=256, help="longest side of the training frames (default 256)")
    p.add_argument("--batch", type=_positive, default=8, help="pairs per step (default 8)")
    p.add_argument("--lr", type=_float_between(0.0, 1.0, exclusive=True), default=2e-3, help="learning rate (default 0.002)")
    p.add_argument("--channels", type=_channels, default=(16, 32, 64), help="U-Net channels per level (16,32,64)")
    p.add_argument("--holdout", type=_float_between(0.0, 1.0, exclusive=True), default=0.1, help="share of frames held out (default 0.1)")
    p.add_argument("--max-frames", type=_positive, help="use only the first N frames of the video")
    p.add_argument("--every", type=_positive, default=200, help="steps between checkpoints and previews")
    p.add_argument("--adversarial", type=_float_between(0.0, 100.0), default=0.0,
                   help="weight of the patch-discriminator loss (default 0: off)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train_refiner)

    bench.add_parser(sub, add_run_arguments)
    soak.add_parser(sub, add_run_arguments)
    return parser


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--set", action="append", default=[], metavar="NODE.PARAM=VALUE",
                   help="override a param (repeatable)")
    p.add_argument("--frames", type=_positive, metavar="N", help="number of frames (default: until the "
                   "source ends; 1 for a still graph)")


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
