"""What the frame loop drives: a Scheduler, or a PipelinedRun that overlaps two of them."""
from __future__ import annotations

from typing import Any, Protocol

from app.runtime.context import RunContext
from app.runtime.errors import NodeFailure
from app.runtime.node import Node
from app.runtime.timing import TimingStats, TimingWindow
from app.runtime.waits import Wait


class FrameRunner(Protocol):
    """step_times: each `step`'s own duration. latency: from the start of a frame's capture to the end
    of its render (a serial step's own duration). Both are cleared by `reset_timings`."""

    run: RunContext
    pipelined: bool
    step_times: TimingWindow
    latency: TimingWindow

    def open(self) -> list[NodeFailure]: ...
    def step(self) -> list[NodeFailure]: ...
    def waited(self) -> dict[str, Wait]: ...  # the nodes that waited for an input in the frame `step` returned
    def close(self) -> list[str]: ...
    def output(self, node_id: str, port: str) -> Any: ...
    def node_timings(self) -> dict[str, TimingStats]: ...
    def reset_timings(self) -> None: ...
    def node(self, node_id: str) -> Node | None: ...
    def set_param(self, node_id: str, name: str, value: Any) -> Any: ...
    @property
    def fps(self) -> float: ...
