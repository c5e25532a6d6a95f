"""The node registry: an instance built from the node modules and from installed plugins."""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, Iterable

from app.runtime.errors import GraphError
from app.runtime.node import Node

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
    """Node classes by type id. Build one with `Registry.default()` or add classes by hand."""

    _types: dict[str, type[Node]] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)

    def register(self, node_class: type[Node], source: str = "") -> None:
        type_id = node_class.schema.type_id
        if type_id in self._types and self._types[type_id] is not node_class:
            self.problems.append(LoadProblem(source or node_class.__module__,
                                             f"node type '{type_id}' is already registered; skipped"))
            return
        self._types[type_id] = node_class

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
    def default(cls, plugins: bool = True) -> Registry:
        """Every module of the `nodes` package, plus plugins of the `reenact.nodes` entry point group."""
        import nodes

        registry = cls()
        for info in sorted(pkgutil.iter_modules(nodes.__path__), key=lambda m: m.name):
            if not info.name.startswith("_"):
                registry.load_module(f"nodes.{info.name}")
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
