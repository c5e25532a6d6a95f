"""What the waits of a run come to (`app.runtime.waits`: a node whose required input held nothing is
skipped, with all it feeds). A node an output depends on that waited on every frame left that output without a
single frame, though nothing failed: the run failed. Waits on some frames only, or of a node no output depends on,
are notes with their counts."""
from __future__ import annotations

from typing import Callable

from app.runtime.errors import ReenactError
from app.runtime.graph import Graph
from app.runtime.registry import Registry
from app.runtime.waits import Wait, WaitTally


class Verdict:
    """Judges the waits a run of `graph` counted (a `WaitTally`): `reenact run`, bench, soak, Render to file."""

    def __init__(self, graph: Graph, registry: Registry):
        self._graph, self._registry = graph, registry

    def judge(self, waits: WaitTally, frames: int) -> tuple[list[str], list[str]]:
        """(errors, notes) of a run of `frames` frames: a line to say for each node that waited."""
        errors, notes = [], []
        for node_id, count in waits.counts.items():
            wait, outputs = waits.last[node_id], self._outputs_fed(node_id)
            missed = "it" if outputs == [node_id] else _named(outputs)
            if count == frames and outputs:
                every = "the one frame run" if count == 1 else f"all {count} frames"
                errors.append(f"'{node_id}' waited for its input '{wait.input}' on {every}, so {missed} got no "
                              f"frame: {self._cause(node_id, wait)}")
            else:
                notes.append(f"'{node_id}' waited for its input '{wait.input}' in {count} of {frames} frames, "
                             f"as {wait.source} gave nothing then" + (f": {missed} got none of those" if outputs
                                                                     else " (no output depends on it)"))
        return errors, notes

    def measured(self, waits: WaitTally, frames: int, interrupted: bool, say: Callable[[str], None]) -> None:
        """For bench and soak: says the lines; ReenactError where an output got no frame, as the figures of a graph
        that skipped its work would mean nothing (a run cut short by a signal is said as such instead)."""
        errors, notes = self.judge(waits, frames)
        for line in notes:
            say(f"note: {line}")
        for line in errors:
            say(f"error: {line}")
        if errors and not interrupted:
            raise ReenactError("nothing was measured: the output(s) above got no frame")

    def _outputs_fed(self, node_id: str) -> list[str]:
        """The output nodes (files, windows, devices) that `node_id` is or feeds, directly or not."""
        seen, todo = set(), [node_id]
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += [link.target.node for link in self._graph.links if link.source.node == current]
        return [n for n, spec in self._graph.nodes.items()
                if n in seen and self._registry.require(spec.type).schema.category == "output"]

    def _cause(self, node_id: str, wait: Wait) -> str:
        """Why its source gave nothing, and what to do: an input of the source's that would carry what it gives
        (one of that type) with nothing connected to it, else what feeds the source."""
        source = wait.source
        schema = self._registry.require(self._graph.nodes[source.node].type).schema
        fed = {link.target.port for link in self._graph.links if link.target.node == source.node}
        kind = schema.output(source.port).type
        free = next((port.name for port in schema.inputs if port.type == kind and port.name not in fed), None)
        instead = f"link another node's output to '{node_id}' input '{wait.input}'"
        if free is not None:
            return (f"{source} gave nothing, as nothing is connected to the input '{free}' of '{source.node}'; "
                    f"connect one there, or {instead}")
        return f"{source} gave nothing on any frame; see what feeds '{source.node}', or {instead}"


def _named(outputs: list[str]) -> str:
    return ("the output " if len(outputs) == 1 else "the outputs ") + ", ".join(f"'{n}'" for n in outputs)
