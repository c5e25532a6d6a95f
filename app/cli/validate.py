"""`reenact validate GRAPH...`: every problem of every preset, exit 0 only if all are valid."""
from __future__ import annotations

import argparse
from typing import Any

from app.cli.common import load_registry, problem_lines
from app.cli.console import EXIT_INVALID, EXIT_OK, say
from app.presets import load_preset
from app.runtime.errors import Problem, ProblemsError, ReenactError
from app.runtime.graph import Graph
from app.runtime.paths import resolve_asset
from app.runtime.registry import Registry
from app.runtime.schema import ParamKind, PathRole


def run(args: argparse.Namespace) -> int:
    registry = load_registry()
    status = EXIT_OK
    for path in args.graphs:
        try:
            preset = load_preset(path, registry)
        except ProblemsError as exc:
            say(f"{path}: invalid\n{problem_lines(exc.problems)}")
            status = EXIT_INVALID
            continue
        if preset.problems:
            say(f"{path}: invalid\n{problem_lines(preset.problems)}")
            status = EXIT_INVALID
        else:
            note = f" (migrated from format_version {preset.migrated_from})" if preset.migrated_from is not None else ""
            print(f"{path}: valid, {len(preset.graph.nodes)} nodes, {len(preset.graph.links)} links{note}")
            for problem in missing_inputs(preset.graph, registry):
                say(f"warning: {path}: {problem}")
    return status


def missing_inputs(graph: Graph, registry: Registry) -> list[Problem]:
    """Input files the preset names that are not there now. A warning, not invalid: `run --set` may
    name others, and the files may arrive before the run."""
    problems = []
    for i, spec in enumerate(graph.nodes.values()):
        schema = registry.require(spec.type).schema
        for name, value in {**schema.defaults(), **spec.params}.items():
            param = schema.param(name)
            if param.kind is not ParamKind.PATH or param.role is not PathRole.ASSET or not value:
                continue
            try:
                resolve_asset(value, graph.base_dir)
            except ReenactError as exc:
                problems.append(Problem(f"nodes[{i}].params.{name}", exc.what))
    return problems


def add_parser(sub: Any) -> None:
    p = sub.add_parser("validate", help="check presets; exit 0 if all are valid, 2 otherwise")
    p.add_argument("graphs", nargs="+", metavar="GRAPH")
    p.set_defaults(func=run)
