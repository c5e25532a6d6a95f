"""`reenact score DRIVER OUTPUT`: how well an output follows the driver that drove it (app/quality)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.argtypes import positive
from app.cli.console import EXIT_OK, say


def run(args: argparse.Namespace) -> int:
    from app.quality import format_report, score  # the tracker and scikit-image load only for this command

    result = score(args.driver, args.output, args.target, self_reenactment=args.self_reenactment,
                   image_stride=args.image_stride)
    print(format_report(result))
    if args.sheet:
        from app.quality.sheet import contact_sheet

        columns = [("driver", Path(args.driver)), ("output", Path(args.output))]
        say(f"contact sheet written to {contact_sheet(columns, Path(args.sheet), rows=args.sheet_rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        say(f"report written to {args.json}")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("score", help="measure an output against its driver: motion transfer by re-tracking, "
                       "and with --self image similarity to the real frames")
    p.add_argument("driver", metavar="DRIVER", help="the driving video")
    p.add_argument("output", metavar="OUTPUT", help="the rendered video")
    p.add_argument("--target", metavar="T", help="the target portrait (its own eye openness is the output's open level)")
    p.add_argument("--self", dest="self_reenactment", action="store_true",
                   help="self-reenactment: the output is the driver's first frame driven by the driver; also "
                        "compare it with the real frames (PSNR/SSIM/L1, whole frame and face box, next to a "
                        "frozen first frame)")
    p.add_argument("--image-stride", type=positive, default=1, metavar="K",
                   help="image metrics on every K-th frame only (SSIM is slow on a CPU)")
    p.add_argument("--json", metavar="P", help="also write the full report as JSON")
    p.add_argument("--sheet", metavar="IMAGE", help="also write a contact sheet (driver | output) as PNG or JPEG")
    p.add_argument("--sheet-rows", type=positive, default=4, metavar="N", help="moments on the sheet (default 4)")
    p.set_defaults(func=run)
