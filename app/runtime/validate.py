"""Graph validation against a registry: every problem at once, each with where and what."""
from __future__ import annotations

from typing import Any

from app.runtime.errors import ParamError, Problem
from app.runtime.graph import Endpoint, Graph, Link, NodeSpec
from app.runtime.paths import asset_path_problem, output_path_problem
from app.runtime.plan import find_cycle
from app.runtime.ports import PortTypes
from app.runtime.registry import Registry
from app.runtime.schema import NodeSchema, ParamKind, PathRole


def missing_types(graph: Graph, registry: Registry) -> list[str]:
    """Node types the graph uses that no installed module or plugin provides."""
    return sorted({spec.type for spec in graph.nodes.values() if spec.type not in registry})


def check_params(schema: NodeSchema, params: dict[str, Any], where: str,
                 graph: Graph, check_paths: bool, node_id: str = "NODE") -> tuple[dict[str, Any], list[Problem]]:
    """Coerce params by their schema; returns (canonical params, problems). A path a preset may not hold
    is said with what to do instead, for the node `node_id`."""
    problems: list[Problem] = []
    clean: dict[str, Any] = {}
    for name, value in params.items():
        try:
            clean[name] = schema.check_param(name, value)
        except ParamError as exc:
            problems.append(Problem(f"{where}.params.{name}", exc.message))
            continue
        param = schema.param(name)
        if check_paths and param.kind is ParamKind.PATH:
            if param.role is PathRole.ASSET:
                why = asset_path_problem(value, graph.base_dir)
                instead = "copy the file beside the preset or into assets/, or"
            else:
                why, instead = output_path_problem(value), "or"
            if why:
                problems.append(Problem(f"{where}.params.{name}", f"{why} (node '{node_id}': {instead} give the "
                                                                  f"path with --set {node_id}.{name}=...)"))
    return clean, problems


def validate_graph(graph: Graph, registry: Registry, check_paths: bool = True) -> list[Problem]:
    """All problems that keep `graph` from running. Unknown types are listed once each.

    check_paths: apply the preset rule that asset paths stay inside the preset's folder or assets/
    (off for graphs whose paths came from the command line).
    """
    problems: list[Problem] = []
    index = {node_id: i for i, node_id in enumerate(graph.nodes)}
    for node_id, spec in graph.nodes.items():
        problems += _check_node(spec, f"nodes[{index[node_id]}]", graph, registry, check_paths)
    return problems + link_problems(graph, registry) + _unconnected_inputs(graph, registry, index)


def link_problems(graph: Graph, registry: Registry) -> list[Problem]:
    """Links no graph can hold: to a node or port that is not there, between different port types, a
    second one into an input, or round a cycle. The editor refuses to make any of them and the scheduler
    could not run them; ports of node types that are not installed cannot be checked and pass."""
    problems: list[Problem] = []
    fed: dict[Endpoint, int] = {}
    for i, link in enumerate(graph.links):
        problems += _check_link(link, f"links[{i}]", graph, registry)
        if link.target in fed:
            problems.append(Problem(f"links[{i}]", f"input {link.target} already has a source "
                                                   f"(links[{fed[link.target]}]): remove one of the two"))
        fed.setdefault(link.target, i)
    cycle = find_cycle(graph)
    if cycle:
        steps = set(zip(cycle, cycle[1:]))
        closing = [f"links[{i}] {l.source} -> {l.target}" for i, l in enumerate(graph.links)
                   if (l.source.node, l.target.node) in steps]
        problems.append(Problem("links", f"cycle through nodes {' -> '.join(cycle)}: a graph runs once per frame "
                                         f"and cannot feed itself; remove one of {', '.join(closing)}"))
    return problems


def _check_node(spec: NodeSpec, where: str, graph: Graph, registry: Registry,
                check_paths: bool) -> list[Problem]:
    node_class = registry.get(spec.type)
    if node_class is None:
        return [Problem(f"{where}.type", f"unknown node type '{spec.type}' (node '{spec.id}'): "
                                         "not installed; install its plugin or remove the node")]
    schema = node_class.schema
    if spec.type_version > schema.type_version:
        return [Problem(f"{where}.type_version",
                        f"{spec.type} version {spec.type_version} is newer than the installed "
                        f"version {schema.type_version}; upgrade Reenact Studio")]
    _, problems = check_params(schema, spec.params, where, graph, check_paths, spec.id)
    return problems


def _check_link(link: Link, where: str, graph: Graph, registry: Registry) -> list[Problem]:
    problems: list[Problem] = []
    ports = []
    for end, role in ((link.source, "from"), (link.target, "to")):
        if end.node not in graph.nodes:
            problems.append(Problem(f"{where}.{role}", f"node '{end.node}' does not exist: add it, or remove "
                                                       "the link"))
            continue
        node_class = registry.get(graph.nodes[end.node].type)
        if node_class is None:
            continue  # reported as an unknown type
        schema = node_class.schema
        port = schema.output(end.port) if role == "from" else schema.input(end.port)
        if port is None:
            names = [p.name for p in (schema.outputs if role == "from" else schema.inputs)]
            kind = "output" if role == "from" else "input"
            problems.append(Problem(f"{where}.{role}", f"'{end.node}' ({schema.type_id}) has no {kind} "
                                    f"'{end.port}' (its {kind}s: {', '.join(names) or 'none'}): link one of those, "
                                    f"or remove the link"))
            continue
        ports.append(port)
    mismatch = (PortTypes.link_problem(ports[0].type, ports[1].type, link.source, link.target)
                if len(ports) == 2 else None)
    return problems + ([Problem(where, mismatch)] if mismatch else [])


def _unconnected_inputs(graph: Graph, registry: Registry, index: dict[str, int]) -> list[Problem]:
    fed = {(link.target.node, link.target.port) for link in graph.links}
    problems: list[Problem] = []
    for node_id, spec in graph.nodes.items():
        node_class = registry.get(spec.type)
        for port in node_class.schema.inputs if node_class else ():
            if not port.optional and (node_id, port.name) not in fed:
                problems.append(Problem(f"nodes[{index[node_id]}]",
                                        f"input '{port.name}' of '{node_id}' ({spec.type}) is not connected"))
    return problems
