"""The part of an edited graph that can run now.

While a user edits, the graph is often incomplete: a new node with nothing connected, or a node from
a plugin that is not installed. Those nodes, and everything downstream of them, idle with a reason
shown on their badge; the rest keeps running.
"""
from __future__ import annotations

from app.runtime.graph import Graph
from app.runtime.plan import build_plan
from app.runtime.registry import Registry


NOT_RECORDING = "not recording: switch Record on, or use Run > Render to file"


def runnable_part(graph: Graph, registry: Registry, record: bool = True) -> tuple[Graph, dict[str, str]]:
    """Returns (the graph without idle nodes, {idle node id: why it idles}). Without `record`, sinks
    (category "output": files, windows, devices) idle, so playing in the editor overwrites nothing."""
    idle: dict[str, str] = {}
    fed = {(l.target.node, l.target.port) for l in graph.links}
    for node_id, spec in graph.nodes.items():
        node_class = registry.get(spec.type)
        if node_class is None:
            idle[node_id] = f"'{spec.type}' is not installed (params kept)"
            continue
        if not record and node_class.schema.category == "output":
            idle[node_id] = NOT_RECORDING
            continue
        unfed = [p.name for p in node_class.schema.inputs if not p.optional and (node_id, p.name) not in fed]
        if unfed:
            idle[node_id] = f"input {', '.join(unfed)} not connected"
    changed = True
    while changed:  # downstream of an idle node idles too
        changed = False
        for link in graph.links:
            if link.source.node in idle and link.target.node not in idle and not _optional(link, graph, registry):
                idle[link.target.node] = f"waits for '{link.source.node}'"
                changed = True
    part = graph.copy()
    for node_id in idle:
        part.remove(node_id)
    return part, idle


def cached_nodes(runnable: Graph, registry: Registry) -> set[str]:
    """The nodes of a runnable part that run only when a param or an input changes (the scheduler
    reuses their outputs in between): not volatile, and nothing volatile upstream."""
    every_frame: set[str] = set()
    for step in build_plan(runnable).steps:
        if registry.require(runnable.nodes[step.node_id].type).schema.volatile or \
                any(source.node in every_frame for source in step.sources):
            every_frame.add(step.node_id)
    return set(runnable.nodes) - every_frame


def _optional(link, graph: Graph, registry: Registry) -> bool:
    """Whether the link ends at an optional input (its node runs without it)."""
    node_class = registry.get(graph.nodes[link.target.node].type)
    port = node_class.schema.input(link.target.port) if node_class else None
    return bool(port and port.optional)
