"""`--set NODE.PARAM=VALUE` from the command line: parsed and checked by the param's own type."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.presets import Preset, load_preset
from app.runtime.errors import ParamError, Problem, ProblemsError
from app.runtime.graph import Graph
from app.runtime.registry import Registry
from app.runtime.paths import output_path_problem
from app.runtime.schema import ParamKind, PathRole


@dataclass(frozen=True)
class Override:
    node_id: str
    param: str
    value: Any
    where: str  # the preset location it replaces, e.g. nodes[1].params.path


def parse_overrides(items: list[str], graph: Graph, registry: Registry) -> tuple[list[Override], list[Problem]]:
    """Path values from the command line are the user's own: they resolve against the working
    directory and are not held to the preset's folder rule; output paths keep the rule against '..'."""
    overrides, problems = [], []
    index = {node_id: i for i, node_id in enumerate(graph.nodes)}
    for item in items:
        where = f"--set {item}"
        target, sep, text = item.partition("=")
        node_id, dot, name = target.rpartition(".")
        if not sep or not dot:
            problems.append(Problem(where, "expected NODE.PARAM=VALUE, e.g. --set retarget.mouth_gain=1.5"))
            continue
        spec = graph.nodes.get(node_id)
        if spec is None:
            problems.append(Problem(where, f"no node '{node_id}' (nodes: {', '.join(graph.nodes)})"))
            continue
        node_class = registry.get(spec.type)
        if node_class is None:
            problems.append(Problem(where, f"'{node_id}' is a {spec.type}, which is not installed"))
            continue
        try:
            value = node_class.schema.check_param(name, text, from_text=True)
        except ParamError as exc:
            problems.append(Problem(where, f"'{node_id}': {exc.message}"))
            continue
        param = node_class.schema.param(name)
        why = output_path_problem(value, from_command_line=True) if param.role is PathRole.OUTPUT else None
        if why:
            problems.append(Problem(where, f"'{node_id}': {why}"))
            continue
        if param.kind is ParamKind.PATH and value:
            value = str(Path(value).expanduser().absolute())
        overrides.append(Override(node_id, name, value, f"nodes[{index[node_id]}].params.{name}"))
    return overrides, problems


def apply_overrides(graph: Graph, overrides: list[Override], problems: list[Problem]) -> list[Problem]:
    """Set the values in the graph; returns the preset's problems minus those the overrides replaced."""
    for override in overrides:
        graph.nodes[override.node_id].params[override.param] = override.value
    replaced = {o.where for o in overrides}
    return [p for p in problems if p.where not in replaced]


def load_runnable(path: str, overrides: list[str], registry: Registry) -> Preset:
    """Load a preset, apply `--set` overrides, and raise ProblemsError unless it can run."""
    preset = load_preset(path, registry)
    parsed, problems = parse_overrides(overrides, preset.graph, registry)
    remaining = apply_overrides(preset.graph, parsed, preset.problems)
    if problems or remaining:
        raise ProblemsError(path, remaining + problems)
    return preset
