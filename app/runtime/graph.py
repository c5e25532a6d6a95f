"""The graph model: nodes with stable ids and typed links. No UI state, no running instances."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Endpoint:
    node: str
    port: str

    def __str__(self) -> str:
        return f"{self.node}.{self.port}"


@dataclass(frozen=True)
class Link:
    source: Endpoint  # an output port
    target: Endpoint  # an input port
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # unknown preset keys


@dataclass
class NodeSpec:
    """One node of a graph as saved: its type, params by name, and keys this version doesn't know."""

    id: str
    type: str
    type_version: int = 1
    params: dict[str, Any] = field(default_factory=dict)
    bypassed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """Nodes in insertion order and links. `base_dir` is where relative asset paths start."""

    nodes: dict[str, NodeSpec] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    base_dir: Path | None = None

    def add(self, spec: NodeSpec) -> NodeSpec:
        if spec.id in self.nodes:
            raise ValueError(f"a node with id '{spec.id}' already exists")
        self.nodes[spec.id] = spec
        return spec

    def remove(self, node_id: str) -> None:
        del self.nodes[node_id]
        self.links = [l for l in self.links if node_id not in (l.source.node, l.target.node)]

    def rename(self, node_id: str, new_id: str) -> None:
        """Give a node another id, in its place in the order, with its links."""
        if new_id in self.nodes:
            raise ValueError(f"a node with id '{new_id}' already exists")
        self.nodes = {new_id if n == node_id else n: spec for n, spec in self.nodes.items()}
        self.nodes[new_id].id = new_id
        moved = lambda e: Endpoint(new_id, e.port) if e.node == node_id else e  # noqa: E731
        self.links = [Link(moved(l.source), moved(l.target), l.extra) for l in self.links]

    def connect(self, source_node: str, source_port: str, target_node: str, target_port: str) -> Link:
        """Link an output to an input; an input has one source, so an old link there is replaced."""
        link = Link(Endpoint(source_node, source_port), Endpoint(target_node, target_port))
        self.links = [l for l in self.links if l.target != link.target] + [link]
        return link

    def copy(self) -> Graph:
        return copy.deepcopy(self)
