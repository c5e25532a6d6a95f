"""The `reenact train-refiner` command: arguments and the summary it prints."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli.argtypes import channels, float_between, positive
from app.cli.console import EXIT_OK, say
from app.runtime.errors import ReenactError
from app.runtime.options import resolve
from nodes.output.folders import prepare_output_dir


def run(args: argparse.Namespace) -> int:
    from app.training.trainer import TrainConfig, train_refiner  # torch loads only for this command

    target, out = Path(args.target), Path(args.out)
    if not target.is_file():
        raise ReenactError("the target video does not exist", where=str(target), hint="check the path")
    if out.suffix != ".safetensors":
        raise ReenactError("the weights file must end in .safetensors", where=str(out))
    if args.resume and not out.exists():
        raise ReenactError("--resume needs an earlier checkpoint at --out", where=str(out),
                           hint="drop --resume to start training from scratch")
    prepare_output_dir(out.absolute().parent)  # now, not after minutes of tracking
    options = resolve()
    try:
        result = train_refiner(TrainConfig(
            target=target, out=out, steps=args.steps, size=args.size, batch=args.batch, lr=args.lr,
            device=args.device, resume=args.resume, channels=args.channels, holdout=args.holdout,
            max_frames=args.max_frames, every=args.every, adversarial=args.adversarial, progress=not args.quiet,
            distributed=options.distributed, state_dir=options.state_dir))
    except OSError as exc:  # the folder filled up (or went away) while training; files are written whole or not at all
        raise ReenactError(f"cannot write the training files: {exc.strerror or exc}", where=str(out.parent),
                           hint="free some space or choose another --out folder") from None
    if not result.primary:
        return EXIT_OK
    say(f"trained {result.steps} steps ({1000 * result.seconds_per_step:.1f} ms/step); loss "
        f"{result.first_loss:.4f} -> {result.last_loss:.4f}")
    say(f"held-out frames, face region: render {result.psnr_render:.2f} dB, refined {result.psnr_refined:.2f} dB")
    say(f"weights: {out}   preview (render | refined | real): {result.preview}")
    return EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser("train-refiner", help="train the neural refiner for one target from a video of it")
    p.add_argument("--target", required=True, metavar="VIDEO", help="a video of the target person")
    p.add_argument("--out", required=True, metavar="WEIGHTS.safetensors", help="where the weights go")
    p.add_argument("--steps", type=positive, default=2000, help="training steps (default 2000)")
    p.add_argument("--size", type=positive, default=256, help="longest side of the training frames (default 256)")
    p.add_argument("--batch", type=positive, default=8, help="pairs per step (default 8)")
    p.add_argument("--lr", type=float_between(0.0, 1.0, exclusive=True), default=2e-3,
                   help="learning rate (default 0.002)")
    p.add_argument("--channels", type=channels, default=(16, 32, 64), help="U-Net channels per level (16,32,64)")
    p.add_argument("--holdout", type=float_between(0.0, 1.0, exclusive=True), default=0.1,
                   help="share of frames held out (default 0.1)")
    p.add_argument("--max-frames", type=positive, help="use only the first N frames of the video")
    p.add_argument("--every", type=positive, default=200, help="steps between checkpoints and previews")
    p.add_argument("--adversarial", type=float_between(0.0, 100.0), default=0.0,
                   help="weight of the patch-discriminator loss (default 0: off)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
