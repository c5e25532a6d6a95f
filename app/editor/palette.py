"""The node palette: every registered type by category, filtered by a search box; a click adds one."""
from __future__ import annotations

from collections import defaultdict

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.theme import NOTE_TEXT


class Palette:
    def __init__(self, editor: Editor, parent: int | str):
        self._editor = editor
        self._entries: list[tuple[int, str]] = []  # (item, searchable text)
        self._headers: dict[int, list[int]] = {}
        dpg.add_text("Add a node", parent=parent)
        dpg.add_input_text(hint="search (name, category, help)", width=-1, parent=parent, callback=self._filter)
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
                    self._headers[header].append(item)

    def _add(self, sender, _app_data, type_id: str) -> None:
        dpg.set_value(sender, False)  # a selectable stays highlighted otherwise
        self._editor.add_node(type_id)

    def _filter(self, _sender, text: str) -> None:
        words = text.lower().split()
        visible = {item for item, haystack in self._entries if all(w in haystack for w in words)}
        for item, _ in self._entries:
            dpg.configure_item(item, show=item in visible)
        for header, items in self._headers.items():
            dpg.configure_item(header, show=any(i in visible for i in items))
