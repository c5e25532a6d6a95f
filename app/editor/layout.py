"""Automatic layout for graphs that come without positions (presets written by hand or by scripts):
columns by depth along the links, so data flows left to right and no node hides another."""
from __future__ import annotations

from collections import defaultdict

from app.runtime.errors import GraphError
from app.runtime.graph import Graph
from app.runtime.plan import build_plan

COLUMN, ROW, MARGIN = 300.0, 200.0, 40.0
Position = tuple[float, float]


def layered_layout(graph: Graph, node_ids: list[str], top: float = MARGIN) -> dict[str, Position]:
    """Positions for `node_ids`: column = the longest chain of links leading to the node, rows in
    running order from `top` down."""
    try:
        order = list(build_plan(graph).order)
    except GraphError:  # a cycle (reported elsewhere): file order will do
        order = list(graph.nodes)
    feeds = defaultdict(set)
    for link in graph.links:
        feeds[link.target.node].add(link.source.node)
    depth: dict[str, int] = {}
    for node_id in order:
        depth[node_id] = max((depth[s] + 1 for s in feeds[node_id] if s in depth), default=0)
    rows: dict[int, int] = defaultdict(int)
    placed = {}
    for node_id in (n for n in order if n in node_ids):
        column = depth[node_id]
        placed[node_id] = (MARGIN + COLUMN * column, top + ROW * rows[column])
        rows[column] += 1
    return placed
