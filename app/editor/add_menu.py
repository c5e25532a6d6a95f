"""The canvas's own menus. Right-click on empty canvas opens the palette as a menu and the node lands at
the cursor; a link dragged from an output pin and let go on empty canvas opens it with only the nodes
that take that port's type, and the node picked is linked to the pin. Right-click on a node opens what
can be done to it: Rename (one node), Duplicate, Delete (it had opened the palette, as if on empty canvas)."""
from __future__ import annotations

from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.canvas import Canvas
from app.editor.palette import Palette
from app.editor.theme import NOTE_TEXT
from app.runtime.graph import Endpoint

WIDTH, HEIGHT = 250, 420
BOTTOM_MARGIN = 28  # keeps the menu above the status bar


def acted_on(node_id: str, selection: list[str]) -> list[str]:
    """What a node's menu acts on: the selection where the node is part of it (as Ctrl-D and Delete take
    it), else the node alone."""
    return list(selection) if node_id in selection else [node_id]


class AddMenu:
    def __init__(self, editor: Editor, canvas: Canvas):
        self._editor, self._canvas = editor, canvas
        self._at: tuple[float, float] | None = None  # where the node goes, in canvas coordinates
        self._link_from: Endpoint | None = None  # the pin the new node gets linked to
        self._dragged_from: Endpoint | None = None  # the output pin a press on the canvas started on
        self._for_nodes: list[str] = []  # what the node menu acts on
        with dpg.window(show=False, popup=True, no_title_bar=True, width=WIDTH, height=HEIGHT) as self.window:
            self._palette = Palette(editor, self.window, self._add, title="Add a node here")
        with dpg.window(show=False, popup=True, no_title_bar=True, autosize=True) as self.node_menu:
            self._node_title = dpg.add_text("", color=NOTE_TEXT)
            self._rename_item = dpg.add_selectable(label="Rename...", callback=self._open_rename)
            for label, action in (("Duplicate", editor.duplicate), ("Delete", editor.delete)):
                dpg.add_selectable(label=label, user_data=action, callback=lambda s, a, act: self._on_node_action(act))
        with dpg.window(show=False, popup=True, no_title_bar=True, autosize=True) as self.rename_box:
            dpg.add_text("New id (Return renames)", color=NOTE_TEXT)
            self.rename_field = dpg.add_input_text(width=220, on_enter=True,
                                                   callback=lambda s, typed: self._rename(typed))

    # ----------------------------------------------------------------- mouse (handler callbacks)
    def on_right_click(self) -> None:
        if not dpg.is_item_hovered(self._canvas.widget):
            return
        node_id = self._canvas.node_under_mouse()
        if node_id is None:
            self._open(None)
            return
        self._for_nodes = acted_on(node_id, self._editor.selection)
        count = len(self._for_nodes)
        dpg.set_value(self._node_title, node_id if count == 1 else f"{count} nodes")
        dpg.configure_item(self._rename_item, show=count == 1)
        dpg.configure_item(self.node_menu, show=True, pos=[int(v) for v in dpg.get_mouse_pos(local=False)])

    def on_press(self) -> None:
        over = dpg.is_item_hovered(self._canvas.widget)
        self._dragged_from = self._canvas.output_pin_at(dpg.get_mouse_pos(local=False)) if over else None

    def on_release(self) -> None:
        source, self._dragged_from = self._dragged_from, None
        if source is not None and dpg.is_item_hovered(self._canvas.widget) and self._canvas.node_under_mouse() is None:
            self._open(source)

    # ----------------------------------------------------------------- the menu
    def _open(self, link_from: Endpoint | None) -> None:
        mouse = dpg.get_mouse_pos(local=False)
        self._at, self._link_from = self._canvas.to_grid(mouse), link_from
        port = self._editor.document.port(link_from, output=True) if link_from else None
        allowed = {c.schema.type_id for c in self._editor.registry.types()
                   if any(i.type == port.type for i in c.schema.inputs)} if port else None
        self._palette.reset(allowed)
        top = min(mouse[1], dpg.get_viewport_client_height() - HEIGHT - BOTTOM_MARGIN)
        dpg.configure_item(self.window, show=True, pos=[int(mouse[0]), int(max(0, top))])
        dpg.focus_item(self._palette.search)

    def _on_node_action(self, action: Callable[[list[str]], object]) -> None:
        dpg.configure_item(self.node_menu, show=False)
        self._editor.attempt(lambda: action(self._for_nodes))

    def _open_rename(self) -> None:
        dpg.configure_item(self.node_menu, show=False)
        dpg.set_value(self.rename_field, self._for_nodes[0])
        dpg.configure_item(self.rename_box, show=True, pos=dpg.get_item_pos(self.node_menu))
        dpg.focus_item(self.rename_field)

    def _rename(self, typed: str) -> None:
        dpg.configure_item(self.rename_box, show=False)
        self._editor.attempt(lambda: self._editor.rename(self._for_nodes[0], typed))

    def _add(self, type_id: str) -> None:
        dpg.configure_item(self.window, show=False)
        source, added = self._link_from, []
        if not self._editor.attempt(lambda: added.append(self._editor.add_node(type_id, self._at))) or source is None:
            return
        port = self._editor.document.port(source, output=True)
        target = next(i for i in self._editor.registry.require(type_id).schema.inputs if i.type == port.type)
        self._editor.link(source, Endpoint(added[0], target.name))
