"""The plan: the graph's nodes in dependency order, built once per graph change."""
from __future__ import annotations

from dataclasses import dataclass

from app.runtime.errors import GraphError
from app.runtime.graph import Graph


@dataclass(frozen=True)
class InputSource:
    input: str
    node: str
    port: str


@dataclass(frozen=True)
class Step:
    node_id: str
    sources: tuple[InputSource, ...]


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    @property
    def order(self) -> list[str]:
        return [s.node_id for s in self.steps]


def find_cycle(graph: Graph) -> list[str] | None:
    """One cycle as a list of node ids (first id repeated at the end), or None."""
    successors: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for link in graph.links:
        if link.source.node in successors and link.target.node in successors:
            successors[link.source.node].append(link.target.node)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in successors[node]:
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in graph.nodes:
        if start not in state and (found := visit(start)):
            return found
    return None


def build_plan(graph: Graph) -> Plan:
    """Topological order that keeps the graph's own node order where dependencies allow it."""
    cycle = find_cycle(graph)
    if cycle:
        raise GraphError(f"the graph has a cycle: {' -> '.join(cycle)}",
                         hint="remove one of these links so data flows one way")
    sources: dict[str, list[InputSource]] = {n: [] for n in graph.nodes}
    indegree = {n: 0 for n in graph.nodes}
    for link in graph.links:
        sources[link.target.node].append(InputSource(link.target.port, link.source.node, link.source.port))
        indegree[link.target.node] += 1
    order: list[str] = []
    ready = [n for n in graph.nodes if indegree[n] == 0]
    while ready:
        node = ready.pop(0)
        order.append(node)
        for link in graph.links:
            if link.source.node == node:
                indegree[link.target.node] -= 1
                if indegree[link.target.node] == 0:
                    ready.append(link.target.node)
    return Plan(tuple(Step(n, tuple(sources[n])) for n in order))
