"""Edits that other threads hand to a running scheduler; applied together between two frames."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.runtime.graph import Graph


@dataclass(frozen=True)
class SetParam:
    node_id: str
    name: str
    value: Any  # already coerced by the param's schema


@dataclass(frozen=True)
class RunAction:
    node_id: str
    name: str


@dataclass(frozen=True)
class ReplaceGraph:
    graph: Graph  # already validated; nodes that keep their id and type keep their state


Edit = SetParam | RunAction | ReplaceGraph
