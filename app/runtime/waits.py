"""Nodes that wait for an input. A required input that holds nothing this frame (fed by an optional output
that gave none: a smoother that nothing reaches, as when its feeder is a node whose plugin is not installed)
skips its node and what it feeds, as a failure upstream does, instead of calling `process` with None."""
from __future__ import annotations

from app.runtime.context import RunContext
from app.runtime.graph import Graph
from app.runtime.plan import InputSource


class Waits:
    """The nodes that waited for an input, and why (`reasons`, until they run again); each reason is said once
    a run as a notice (the editor's message log, `reenact run`'s notes)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self._said: set[str] = set()

    def wait(self, node_id: str, source: InputSource, graph: Graph, run: RunContext) -> None:
        reached = any(link.target.node == source.node for link in graph.links)
        why = (f"'{node_id}' waits for its input '{source.input}': {source.node}.{source.port} gives nothing"
               + (" this frame" if reached else f", as nothing reaches '{source.node}' (what feeds it is not "
                                                "installed, idle or not connected: see that node)"))
        self.reasons[node_id] = why
        if why not in self._said:
            self._said.add(why)
            run.notice(why)

    def forget(self, node_id: str) -> None:
        """It ran, or left the graph: it waits no longer."""
        self.reasons.pop(node_id, None)

    def clear(self) -> None:
        self.reasons.clear()
        self._said.clear()
