"""Nodes that wait for an input. A required input that holds nothing this frame (fed by an optional output
that gave none: a smoother that nothing reaches, as when its feeder is a node whose plugin is not installed)
skips its node and what it feeds, as a failure upstream does, instead of calling `process` with None."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.runtime.context import RunContext
from app.runtime.graph import Endpoint, Graph
from app.runtime.plan import InputSource


@dataclass(frozen=True)
class Wait:
    """A node's wait in one frame: its `input` held nothing, as `source` gave nothing; `why` as it was said."""

    input: str
    source: Endpoint
    why: str


class Waits:
    """The nodes that waited for an input, and why (`reasons`, until they run again); each reason is said once
    a run as a notice (the editor's message log, `reenact run`'s notes). `now`: those that waited in the frame
    run last, which a headless run counts."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}
        self.now: dict[str, Wait] = {}
        self._said: set[str] = set()
        self._handed: dict[Endpoint, Endpoint] = {}
        self._whole: Graph | None = None

    def across(self, handed: dict[Endpoint, Endpoint], whole: Graph) -> None:
        """A pipelined run's render stage reads the capture stage's outputs through ports of its own (`handed`: each
        such port -> the output it carries): its waits name those outputs, and what reaches them in `whole`."""
        self._handed, self._whole = handed, whole

    def begin_frame(self) -> None:
        self.now = {}  # a new dict: the one handed on with the frame before stays as it was

    def wait(self, node_id: str, source: InputSource, graph: Graph, run: RunContext) -> None:
        given = Endpoint(source.node, source.port)
        if given in self._handed:
            given, graph = self._handed[given], self._whole or graph
        reached = any(link.target.node == given.node for link in graph.links)
        why = (f"'{node_id}' waits for its input '{source.input}': {given} gives nothing"
               + (" this frame" if reached else f", as nothing reaches '{given.node}' (what feeds it is not "
                                                "installed, idle or not connected: see that node)"))
        self.reasons[node_id] = why
        self.now[node_id] = Wait(source.input, given, why)
        if why not in self._said:
            self._said.add(why)
            run.notice(why)

    def forget(self, node_id: str) -> None:
        """It ran, or left the graph: it waits no longer."""
        self.reasons.pop(node_id, None)

    def clear(self) -> None:
        self.reasons.clear()
        self._said.clear()
        self.now = {}


@dataclass
class WaitTally:
    """A run's waits: how many frames each node waited for an input in (`counts`), and its last wait."""

    counts: Counter = field(default_factory=Counter)
    last: dict[str, Wait] = field(default_factory=dict)
    said: set[str] = field(default_factory=set)  # every wait's notice met

    def add(self, waited: dict[str, Wait]) -> None:
        """One frame's waits (`Waits.now`, or a pipelined run's `waited()`)."""
        for node_id, wait in waited.items():
            self.counts[node_id] += 1
            self.last[node_id] = wait
            self.said.add(wait.why)

    def other_notices(self, notices: list[str]) -> list[str]:
        """A run's notices less the waits' own, which are said with their counts instead (`Verdict`)."""
        return [notice for notice in notices if notice not in self.said]
