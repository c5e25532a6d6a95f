"""The `reenact` command: one module per subcommand, each with `add_parser(sub)` and `run(args)`.
User mistakes print a clear message and exit 2; failures while running exit 1; never a traceback."""
from __future__ import annotations

import argparse

from app.cli import bench, catalog, detect, doctor, edit, run, score, soak, train_refiner, validate
from app.cli.common import problem_lines
from app.cli.console import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK, Interrupted, say
from app.runtime.errors import ProblemsError, ReenactError

SUBCOMMANDS = (catalog, validate, run, edit, bench, soak, score, doctor, detect, train_refiner)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reenact", description="Reenact Studio: real-time portrait "
                                     "reenactment as a node graph.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in SUBCOMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ProblemsError as exc:
        say(f"{exc.source}: invalid\n{problem_lines(exc.problems)}")
        return EXIT_INVALID
    except ReenactError as exc:
        say(f"error: {exc.message}")
        return EXIT_FAILED
    except Interrupted as exc:
        say(exc.message)
        return 128 + exc.signum
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK

