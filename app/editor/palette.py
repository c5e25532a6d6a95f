"""The node palette: every registered type by category, filtered by a search box; a click adds one.
The same list serves the side panel and the canvas's right-click menu (which adds at the cursor)."""
from __future__ import annotations

from collections import defaultdict
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.theme import NOTE_TEXT


class Palette:
    def __init__(self, editor: Editor, parent: int | str, on_pick: Callable[[str], None], title: str = "Add a node"):
        self._on_pick = on_pick  # (type id) -> adds the node where this palette puts new nodes
        self._entries: list[tuple[int, str]] = []  # (item, searchable text)
        self._types: dict[int, str] = {}  # item -> type id
        self._allowed: set[str] | None = None  # only these types (a link dragged from a pin), or all
        self._headers: dict[int, list[int]] = {}
        dpg.add_text(title, parent=parent)
        self.search = dpg.add_input_text(hint="search (name, category, help)", width=-1, parent=parent,
                                         callback=self._filter)
        self._nothing = dpg.add_text("", parent=parent, color=NOTE_TEXT, show=False, wrap=200)
        by_category = defaultdict(list)
        for node_class in editor.registry.types():
            by_category[node_class.schema.category].append(node_class.schema)
        for category in sorted(by_category):
            with dpg.collapsing_header(label=category, default_open=True, parent=parent) as header:
                self._headers[header] = []
                for schema in sorted(by_category[category], key=lambda s: s.title):
                    item = dpg.add_selectable(label=schema.title, user_data=schema.type_id,
                                              callback=self._add)
                    with dpg.tooltip(item):
                        dpg.add_text(schema.type_id)
                        dpg.add_text(schema.help, wrap=320, color=NOTE_TEXT)
                    self._entries.append((item, f"{schema.title} {schema.type_id} {category} {schema.help}".lower()))
                    self._types[item] = schema.type_id
                    self._headers[header].append(item)

    def _add(self, sender, _app_data, type_id: str) -> None:
        dpg.set_value(sender, False)  # a selectable stays highlighted otherwise
        self._on_pick(type_id)

    def reset(self, allowed: set[str] | None = None) -> None:
        """An empty search, over every type or only `allowed` ones."""
        self._allowed = allowed
        dpg.set_value(self.search, "")
        self._filter(None, "")

    def _filter(self, _sender, text: str) -> None:
        words = text.lower().split()
        visible = {item for item, haystack in self._entries if all(w in haystack for w in words)
                   and (self._allowed is None or self._types[item] in self._allowed)}
        for item, _ in self._entries:
            dpg.configure_item(item, show=item in visible)
        for header, items in self._headers.items():
            dpg.configure_item(header, show=any(i in visible for i in items))
        dpg.set_value(self._nothing, f"no node matches '{text.strip()}'")
        dpg.configure_item(self._nothing, show=not visible)
