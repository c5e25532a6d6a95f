"""The node registry: an instance built from the node modules and from installed plugins."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Iterable

from app.runtime.errors import GraphError
from app.runtime.node import Node
from app.runtime.ports import PortType, PortTypes

ENTRY_POINT_GROUP = "reenact.nodes"


@dataclass(frozen=True)
class LoadProblem:
    """A node module or plugin that could not be loaded; reported, never fatal."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Registry:
    """Node classes by type id, and the port types their ports use. Programs get one from
    `nodes.default_registry()`; tests and plugins may add classes by hand."""

    _types: dict[str, type[Node]] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)
    port_types: PortTypes = field(default_factory=PortTypes)

    def register(self, node_class: type[Node], source: str = "") -> None:
        type_id = node_class.schema.type_id
        source = source or node_class.__module__
        if type_id in self._types and self._types[type_id] is not node_class:
            self.problems.append(LoadProblem(source, f"node type '{type_id}' is already registered; skipped"))
            return
        ports = node_class.schema.inputs + node_class.schema.outputs
        refused = [why for why in map(self.port_types.register, {p.type for p in ports}) if why]
        if refused:
            self.problems.append(LoadProblem(source, f"node type '{type_id}': {refused[0]}"))
            return
        self._types[type_id] = node_class

    def register_port_type(self, port_type: PortType, source: str = "") -> None:
        """A port type no node has used yet (a plugin's), so previews and links know it."""
        why = self.port_types.register(port_type)
        if why:
            self.problems.append(LoadProblem(source or port_type.tag, why))

    def register_all(self, node_classes: Iterable[type[Node]], source: str = "") -> None:
        for node_class in node_classes:
            self.register(node_class, source)

    def get(self, type_id: str) -> type[Node] | None:
        return self._types.get(type_id)

    def require(self, type_id: str) -> type[Node]:
        node_class = self._types.get(type_id)
        if node_class is None:
            raise GraphError(f"unknown node type '{type_id}'",
                             hint="see `reenact nodes` for the installed types, or install its plugin")
        return node_class

    def create(self, type_id: str, node_id: str, params: dict[str, Any]) -> Node:
        return self.require(type_id)(node_id, params)

    def types(self) -> list[type[Node]]:
        return [self._types[k] for k in sorted(self._types)]

    def __contains__(self, type_id: str) -> bool:
        return type_id in self._types

    @classmethod
    def from_modules(cls, module_names: Iterable[str], plugins: bool = True) -> Registry:
        """The nodes exported by these modules (each with a `NODES` list), plus plugins of the
        `reenact.nodes` entry point group."""
        registry = cls()
        for name in module_names:
            registry.load_module(name)
        if plugins:
            for entry in entry_points(group=ENTRY_POINT_GROUP):
                registry.load_plugin(entry)
        return registry

    def load_module(self, module_name: str) -> None:
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # a broken module must not take the studio down
            self.problems.append(LoadProblem(module_name, f"failed to import: {exc}"))
            return
        self._register_exports(module, module_name)

    def load_plugin(self, entry: Any) -> None:
        """An entry point that names a module with `NODES`, or a list/callable giving node classes."""
        source = f"plugin '{entry.name}' ({entry.value})"
        try:
            loaded = entry.load()
            if callable(loaded) and not isinstance(loaded, type):
                loaded = loaded()
        except Exception as exc:  # plugins are third-party code: report and go on
            self.problems.append(LoadProblem(source, f"failed to load: {exc}"))
            return
        if isinstance(loaded, ModuleType):
            self._register_exports(loaded, source)
        else:
            self._register_classes(loaded, source)

    def _register_exports(self, module: ModuleType, source: str) -> None:
        for port_type in getattr(module, "PORT_TYPES", ()):
            self.register_port_type(port_type, source)
        exported = getattr(module, "NODES", None)
        if exported is None:
            self.problems.append(LoadProblem(source, "has no NODES list"))
            return
        self._register_classes(exported, source)

    def _register_classes(self, candidates: Any, source: str) -> None:
        try:
            items = list(candidates)
        except TypeError:
            self.problems.append(LoadProblem(source, "NODES is not a list of node classes"))
            return
        for item in items:
            if isinstance(item, type) and issubclass(item, Node) and hasattr(item, "schema"):
                self.register(item, source)
            else:
                self.problems.append(LoadProblem(source, f"{item!r} is not a Node class with a schema"))
