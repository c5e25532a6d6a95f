"""The document the editor edits: a graph, its layout, and the undo history.

Every change goes through a method here, so the history lives with the model and not in the UI.
No dearpygui in this module: tests drive it headless.
"""
from __future__ import annotations

import copy
import itertools
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.editor.layout import layered_layout
from app.presets import Preset
from app.runtime.errors import GraphError, ParamError
from app.runtime.graph import Endpoint, Graph, Link, NodeSpec
from app.runtime.plan import find_cycle
from app.runtime.ports import PortTypes
from app.runtime.registry import Registry
from app.runtime.schema import Port

HISTORY_LIMIT = 200
COALESCE_SECONDS = 1.0  # slider drags on one param within this window are one undo step
Position = tuple[float, float]


@dataclass
class Clip:
    """Copied nodes: their specs, the links among them, and their positions relative to the first."""

    nodes: list[NodeSpec]
    links: list[Link]
    offsets: dict[str, Position]


@dataclass
class _State:
    graph: Graph
    layout: dict[str, Position]
    revision: int


@dataclass
class _Entry:
    label: str
    before: _State
    key: tuple | None = None  # edits with the same key in quick succession coalesce
    at: float = field(default_factory=time.monotonic)


class Document:
    """A graph being edited. `revision` names its state: every edit makes a new one, undo and redo go back
    to the one they restore, so `dirty` (compared with the saved one's) clears when undo reaches it."""

    def __init__(self, registry: Registry, preset: Preset | None = None, path: Path | None = None):
        self.registry = registry
        preset = preset or Preset(Graph())
        self.graph = preset.graph
        self.ui = dict(preset.ui)  # ui keys this version does not know survive, in their order
        self.node_ui = {node_id: dict(v) for node_id, v in preset.ui.get("nodes", {}).items()
                        if isinstance(v, dict)}
        self.layout: dict[str, Position] = {}
        unplaced = []
        for node_id in self.graph.nodes:
            pos = self.node_ui.get(node_id, {}).get("pos")
            ok = isinstance(pos, list) and len(pos) == 2 and all(isinstance(v, (int, float)) for v in pos)
            if ok:
                self.layout[node_id] = (float(pos[0]), float(pos[1]))
            else:
                unplaced.append(node_id)
        if unplaced:  # laid out by the links, below any node that has a position
            top = self._free_spot()[1] if self.layout else 40.0
            placed = layered_layout(self.graph, unplaced, top)
            self.layout = {n: self.layout.get(n) or placed[n] for n in self.graph.nodes}
        self.extra = preset.extra
        self.path = path
        self.revision = 0
        self.saved_revision: int | None = 0  # None: the file holds none of this document's states
        self._revisions = itertools.count(1)
        self._undo: list[_Entry] = []
        self._redo: list[_Entry] = []

    # ----------------------------------------------------------------- state
    @property
    def dirty(self) -> bool:
        return self.revision != self.saved_revision

    @property
    def title(self) -> str:
        return self.path.name if self.path else "untitled"

    def port(self, endpoint: Endpoint, output: bool) -> Port | None:
        spec = self.graph.nodes.get(endpoint.node)
        node_class = self.registry.get(spec.type) if spec else None
        if node_class is None:
            return None
        schema = node_class.schema
        return schema.output(endpoint.port) if output else schema.input(endpoint.port)

    def to_preset(self) -> Preset:
        """The preset to save: layout in the `ui` block next to the ui keys that came with the file."""
        nodes_ui = {}
        for node_id in self.graph.nodes:
            x, y = self.layout[node_id]
            nodes_ui[node_id] = {**self.node_ui.get(node_id, {}), "pos": [round(x), round(y)]}
        ui = dict(self.ui)
        ui["nodes"] = nodes_ui
        return Preset(self.graph.copy(), ui=ui, extra=self.extra)

    def mark_saved(self, path: Path) -> None:
        self.path, self.saved_revision = path, self.revision

    # ----------------------------------------------------------------- edits
    def add_node(self, type_id: str, pos: Position | None = None) -> str:
        node_class = self.registry.require(type_id)
        node_id = self._unique_id(type_id.rsplit(".", 1)[-1])
        self._record(f"add {node_id}")
        self.graph.add(NodeSpec(node_id, type_id, node_class.schema.type_version, node_class.schema.defaults()))
        self.layout[node_id] = pos or self._free_spot()
        return node_id

    def remove_nodes(self, node_ids: list[str]) -> None:
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        if not node_ids:
            return
        self._record(f"delete {', '.join(node_ids)}")
        for node_id in node_ids:
            self.graph.remove(node_id)
            self.layout.pop(node_id, None)
            self.node_ui.pop(node_id, None)

    def rename_node(self, node_id: str, new_id: str) -> str:
        """Give a node another id (presets, links and `--set ID.param=value` name it by); returns it as stored.
        GraphError for an empty id, one with a space, '.' or '=' (`--set` could not name it) or one taken."""
        new_id = new_id.strip()
        if new_id == node_id:
            return node_id
        if not new_id or not new_id.isprintable() or any(c in new_id for c in ".= \t"):
            raise GraphError(f"cannot rename '{node_id}' to '{new_id}': a node's id is one word without '.' or '='",
                               hint="`reenact run --set ID.param=value` names the node by it; try e.g. 'key_light'")
        if new_id in self.graph.nodes:
            raise GraphError(f"cannot rename '{node_id}' to '{new_id}': there is a node '{new_id}' already",
                               hint="choose another id")
        self._record(f"rename {node_id} to {new_id}")
        self.graph.rename(node_id, new_id)
        for table in (self.layout, self.node_ui):
            if node_id in table:
                table[new_id] = table.pop(node_id)
        return new_id

    def connect(self, source: Endpoint, target: Endpoint) -> Link:
        """Link an output to an input, replacing the input's old link. Refuses mismatched types and
        cycles with a GraphError that says why."""
        out_port, in_port = self.port(source, output=True), self.port(target, output=False)
        if out_port is None or in_port is None:
            raise GraphError(f"cannot link {source} to {target}: one of the ports does not exist",
                             hint="install the node's plugin or pick another port")
        mismatch = PortTypes.link_problem(out_port.type, in_port.type, source, target)
        if mismatch:
            raise GraphError(mismatch, where="link refused",
                             hint=f"connect a {in_port.type.tag} output instead")
        trial = self.graph.copy()
        link = trial.connect(source.node, source.port, target.node, target.port)
        cycle = find_cycle(trial)
        if cycle:
            raise GraphError(f"linking {source} to {target} would make a cycle: {' -> '.join(cycle)}",
                             where="link refused", hint="a graph runs once per frame and cannot feed itself")
        self._record(f"link {source} -> {target}")
        self.graph.links = trial.links
        return link

    def disconnect(self, link: Link) -> None:
        if link in self.graph.links:
            self._record(f"unlink {link.source} -> {link.target}")
            self.graph.links.remove(link)

    def set_param(self, node_id: str, name: str, value: Any, from_text: bool = False) -> Any:
        """Coerce with the schema (ParamError when it does not fit; `from_text`: parse text as `--set` does) and
        store; returns the value."""
        spec = self.graph.nodes[node_id]
        node_class = self.registry.get(spec.type)
        if node_class is None:
            raise ParamError(f"'{spec.type}' is not installed: its params cannot be checked", where=node_id)
        try:
            value = node_class.schema.check_param(name, value, from_text)
        except ParamError as exc:
            raise ParamError(exc.what, where=f"{node_id}.{name}", hint=exc.hint) from None
        if spec.params.get(name) != value:
            self._record(f"set {node_id}.{name}", key=("param", node_id, name))
            spec.params[name] = value
        return value

    def set_bypass(self, node_id: str, bypassed: bool) -> None:
        spec = self.graph.nodes[node_id]
        if spec.bypassed != bypassed:
            self._record(f"{'bypass' if bypassed else 'enable'} {node_id}")
            spec.bypassed = bypassed

    def move_nodes(self, positions: dict[str, Position]) -> None:
        moved = {n: p for n, p in positions.items() if n in self.layout and self.layout[n] != tuple(p)}
        if moved:
            self._record(f"move {', '.join(moved)}")
            self.layout.update({n: (float(p[0]), float(p[1])) for n, p in moved.items()})

    def copy_nodes(self, node_ids: list[str]) -> Clip | None:
        """A clip of the nodes and the links that run between them (links to outside are dropped)."""
        node_ids = [n for n in node_ids if n in self.graph.nodes]
        if not node_ids:
            return None
        inside = set(node_ids)
        x0, y0 = self.layout[node_ids[0]]
        return Clip(nodes=[copy.deepcopy(self.graph.nodes[n]) for n in node_ids],
                    links=[l for l in self.graph.links if {l.source.node, l.target.node} <= inside],
                    offsets={n: (self.layout[n][0] - x0, self.layout[n][1] - y0) for n in node_ids})

    def paste(self, clip: Clip, at: Position) -> list[str]:
        """Insert a clip's nodes with fresh ids at `at`; returns the new ids in clip order."""
        self._record(f"paste {len(clip.nodes)} node(s)")
        renamed: dict[str, str] = {}
        for spec in clip.nodes:
            new_id = self._unique_id(spec.id)
            renamed[spec.id] = new_id
            self.graph.add(NodeSpec(new_id, spec.type, spec.type_version, copy.deepcopy(spec.params),
                                    spec.bypassed, copy.deepcopy(spec.extra)))
            dx, dy = clip.offsets[spec.id]
            self.layout[new_id] = (at[0] + dx, at[1] + dy)
        for link in clip.links:
            self.graph.connect(renamed[link.source.node], link.source.port,
                               renamed[link.target.node], link.target.port)
        return list(renamed.values())

    # ----------------------------------------------------------------- history
    def undo(self) -> str | None:
        """Undo the last edit; returns its label, or None when there is nothing to undo."""
        return self._travel(self._undo, self._redo)

    def redo(self) -> str | None:
        return self._travel(self._redo, self._undo)

    @property
    def undo_label(self) -> str | None:
        """What Undo would take back (shown in the Edit menu), or None."""
        return self._undo[-1].label if self._undo else None

    @property
    def redo_label(self) -> str | None:
        return self._redo[-1].label if self._redo else None

    def _travel(self, source: list[_Entry], sink: list[_Entry]) -> str | None:
        if not source:
            return None
        entry = source.pop()
        sink.append(_Entry(entry.label, self._snapshot()))
        self.graph, self.layout, self.revision = entry.before.graph, entry.before.layout, entry.before.revision
        return entry.label

    def _record(self, label: str, key: tuple | None = None) -> None:
        """Remember the state before an edit. Repeated edits of one param (a slider drag) coalesce."""
        self._redo.clear()
        last = self._undo[-1] if self._undo else None
        now = time.monotonic()
        if key is not None and last is not None and last.key == key and now - last.at < COALESCE_SECONDS:
            last.at = now
        else:
            self._undo.append(_Entry(label, self._snapshot(), key, now))
            del self._undo[:-HISTORY_LIMIT]
        self.revision = next(self._revisions)

    def _snapshot(self) -> _State:
        return _State(self.graph.copy(), dict(self.layout), self.revision)

    # ----------------------------------------------------------------- helpers
    def _unique_id(self, stem: str) -> str:
        stem = re.sub(r"_\d+$", "", stem) or "node"
        if stem not in self.graph.nodes:
            return stem
        n = 2
        while f"{stem}_{n}" in self.graph.nodes:
            n += 1
        return f"{stem}_{n}"

    def _free_spot(self) -> Position:
        """Below everything placed so far, so a new node never hides another."""
        if not self.layout:
            return (40.0, 40.0)
        return (40.0, max(y for _, y in self.layout.values()) + 160.0)
