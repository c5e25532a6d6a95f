"""`reenact score DRIVER OUTPUT`: how well an output follows the driver that drove it (app/quality)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.argtypes import positive
from app.cli.console import EXIT_INVALID, EXIT_OK, say
from app.cli.report_file import file_problem, write_whole

SHEET_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_SHEET_ROWS = 64  # 240 px each: a taller sheet is no longer something to look at


def run(args: argparse.Namespace) -> int:
    problem = _output_problem(args)
    if problem:  # before the slow part: a wrong --json or --sheet must not cost the whole score
        say(f"error: {problem}")
        return EXIT_INVALID

    from app.quality import format_report, score  # the tracker and scikit-image load only for this command

    result = score(args.driver, args.output, args.target, self_reenactment=args.self_reenactment,
                   image_stride=args.image_stride)
    print(format_report(result), flush=True)  # on screen before any file is written: a failed write loses little
    if args.json:  # first: it is cheap, and the sheet reads both videos again
        write_whole(Path(args.json), lambda partial: partial.write_text(json.dumps(result, indent=2) + "\n"))
        say(f"report written to {args.json}")
    if args.sheet:
        from app.quality.sheet import contact_sheet
        from app.quality.sources import read_target

        columns = [("driver", Path(args.driver)), ("output", Path(args.output))]
        if args.target:  # the portrait as it is, beside what was made of it
            columns.append(("target as it is", read_target(Path(args.target))))
        say(f"contact sheet written to {contact_sheet(columns, Path(args.sheet), rows=args.sheet_rows)}")
    return EXIT_OK


def _output_problem(args: argparse.Namespace) -> str:
    """Why --json or --sheet cannot be written (a folder, one of the inputs, a place that cannot hold a
    file), or ''. Nothing is created: a folder that is missing is made only when there is something to write."""
    inputs = {_same_file_key(Path(p)): p for p in (args.driver, args.output, args.target) if p}
    wanted = [(flag, value) for flag, value in (("--json", args.json), ("--sheet", args.sheet)) if value]
    if len(wanted) == 2 and _same_file_key(Path(args.json)) == _same_file_key(Path(args.sheet)):
        return f"--json and --sheet name the same file ({args.json}): give them different names"
    for flag, value in wanted:
        if _same_file_key(Path(value)) in inputs:
            return f"{flag} {value}: that is one of the files being scored; writing there would destroy it " \
                   "(name a new file)"
        problem = file_problem(flag, value, "score.json" if flag == "--json" else "score.png")
        if problem:
            return problem
    return ""


def _same_file_key(path: Path) -> Path:
    return path.expanduser().resolve()


def sheet_file(text: str) -> str:
    """An argparse type: a contact sheet's file name, whose suffix says PNG or JPEG."""
    if Path(text).suffix.lower() not in SHEET_SUFFIXES:
        raise argparse.ArgumentTypeError(f"'{text}' does not end in {', '.join(SHEET_SUFFIXES)}: the suffix says "
                                         "whether the sheet is written as PNG or JPEG")
    return text


def sheet_rows(text: str) -> int:
    value = positive(text)
    if value > MAX_SHEET_ROWS:
        raise argparse.ArgumentTypeError(f"at most {MAX_SHEET_ROWS} rows, got {value}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser("score", help="measure an output against its driver: motion transfer by re-tracking, "
                       "and with --self image similarity to the real frames")
    p.add_argument("driver", metavar="DRIVER", help="the driving video")
    p.add_argument("output", metavar="OUTPUT", help="the rendered video")
    p.add_argument("--target", metavar="T",
                   help="the target portrait (its own eye openness is the output's open level)")
    p.add_argument("--self", dest="self_reenactment", action="store_true",
                   help="self-reenactment: the output is the driver's first frame driven by the driver; also "
                        "compare it with the real frames (PSNR/SSIM/L1, whole frame and face box, next to a "
                        "frozen first frame)")
    p.add_argument("--image-stride", type=positive, default=1, metavar="K",
                   help="image metrics on every K-th frame only (SSIM is slow on a CPU)")
    p.add_argument("--json", metavar="P", help="also write the full report as JSON")
    p.add_argument("--sheet", type=sheet_file, metavar="IMAGE",
                   help="also write a contact sheet (driver | output): a .png, .jpg or .jpeg file")
    p.add_argument("--sheet-rows", type=sheet_rows, default=4, metavar="N",
                   help=f"moments on the sheet (default 4, at most {MAX_SHEET_ROWS})")
    p.set_defaults(func=run)
