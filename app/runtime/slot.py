"""What the scheduler keeps of each running node between frames."""
from __future__ import annotations

from typing import Any

from app.runtime.node import Node
from app.runtime.timing import TimingWindow


class Slot:
    """A node instance and what the scheduler tracks about it between frames."""

    __slots__ = ("node", "schema", "outputs", "version", "signature", "params_version",
                 "bypass", "failed", "opened", "timing", "checks", "required")

    def __init__(self, node: Node, window: int):
        self.node, self.schema = node, node.schema
        self.outputs: dict[str, Any] = {}  # last good outputs
        self.version = 0  # bumps each time the outputs are recomputed
        self.signature: tuple | None = None  # (params_version, upstream versions) of the outputs
        self.params_version = 0
        self.bypass: dict[str, str] | None = None  # output -> input, when bypassed
        self.failed = False  # failed or skipped in the current frame
        self.opened = False
        self.timing = TimingWindow(window)
        self.checks = [(p.name, p.type.representation() + ((type(None),) if p.optional else ()))
                       for p in self.schema.outputs]
        self.required = frozenset(p.name for p in self.schema.inputs if not p.optional)
