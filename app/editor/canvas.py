"""The node canvas: drawn from the document, never the other way round.

Structural changes (and undo/redo) redraw it from the model; the live status only updates texts and
themes. Links the user drags and node positions are read back and turned into editor actions.
"""
from __future__ import annotations

from dataclasses import dataclass

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.live_status import LiveStatus
from app.editor.node_pictures import NodePictures
from app.editor.theme import ERROR_TEXT, IDLE_TEXT, NOTE_TEXT, NodeLook, Themes
from app.runtime.graph import Endpoint, Link
from app.runtime.node import draws_status_image
from app.runtime import ports
from app.runtime.schema import Port
from app.runtime.timing import TimingStats

BADGE_WRAP = 190
BADGE_CHARS = 110  # a longer failure is cut short on the node (it grew over the nodes below it);
# the status bar and the message log (Ctrl+L) keep it whole
BADGE_MORE = " ... (all of it: the message log, Ctrl+L)"  # ASCII: the font has no ellipsis
NEW_NODE_MARGIN = 20.0  # a new node's least distance from the visible canvas' edges
NEW_NODE_SIZE = (200.0, 150.0)  # room kept for a node not drawn yet (its timing lines come a frame later)
NEW_NODE_GAP = 20.0  # space kept around the others, which grow as their status lines do
NEW_NODE_STEP = 40.0  # candidate places for a new node, this far apart
ITEM_SPACING = 4  # dearpygui's default vertical gap between items
PIN_OUTSIDE = 8  # a pin's centre lies this far outside its node's content
PIN_REACH = 10  # a press this close to a pin's centre starts a link


@dataclass
class _NodeItems:
    node: int
    timing: int
    badge: int
    look: NodeLook | None = None


class Canvas:
    def __init__(self, editor: Editor, themes: Themes, parent: int | str, above: int):
        """above: the item just above the canvas (the node editor does not say where it is on screen)."""
        self._editor, self._themes, self._above = editor, themes, above
        self._ports: dict[int, Endpoint] = {}  # attribute item -> port
        self._outputs: set[int] = set()  # the attribute items that are output ports
        self._links: dict[int, Link] = {}  # link item -> link
        self._nodes: dict[str, _NodeItems] = {}
        self.pictures = NodePictures()
        self.widget = dpg.add_node_editor(parent=parent, callback=self._on_link, delink_callback=self._on_unlink,
                                          minimap=False, minimap_location=dpg.mvNodeMiniMap_Location_BottomRight,
                                          width=-1, height=-1)

    def show_minimap(self, shown: bool) -> None:
        """The overview of the whole graph in the canvas's corner: off until asked for (View menu), as it
        covers the nodes that lie there, their timings and pictures."""
        dpg.configure_item(self.widget, minimap=shown)

    # ----------------------------------------------------------------- drawing
    def rebuild(self) -> None:
        """Redraw from the document. The canvas selection is cleared: dearpygui keeps selected nodes
        by slot, and the slots of deleted nodes go to new ones, which would look (and be) selected."""
        dpg.delete_item(self.widget, children_only=True)
        dpg.clear_selected_nodes(self.widget)
        self._ports.clear()
        self._outputs.clear()
        self._links.clear()
        self._nodes.clear()
        self.pictures.clear()
        doc = self._editor.document
        for node_id in doc.graph.nodes:
            self._add_node(node_id)
        for link in doc.graph.links:
            ends = [self.pin(link.source, output=True), self.pin(link.target, output=False)]
            if None in ends:
                continue
            item = dpg.add_node_link(ends[0], ends[1], parent=self.widget)
            port = doc.port(link.source, output=True)
            if port is not None:
                dpg.bind_item_theme(item, self._themes.link(port.type))
            self._links[item] = link

    def _add_node(self, node_id: str) -> None:
        doc = self._editor.document
        spec = doc.graph.nodes[node_id]
        node_class = self._editor.registry.get(spec.type)
        label = f"{node_id}  [bypassed]" if spec.bypassed else node_id
        with dpg.node(label=label, parent=self.widget, pos=[int(v) for v in doc.layout[node_id]],
                      user_data=node_id) as node:
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static):
                title = dpg.add_text(node_class.schema.title if node_class else f"missing plugin: {spec.type}",
                                     color=NOTE_TEXT)
                with dpg.tooltip(title):
                    dpg.add_text(f"{spec.type}: {node_class.schema.help}" if node_class else
                                 f"'{spec.type}' is not installed; its params are kept and saved", wrap=360)
            inputs, outputs = self._ports_of(node_id)
            for port in inputs:
                self._add_port(node_id, port, output=False)
            for port in outputs:
                self._add_port(node_id, port, output=True)
            with dpg.node_attribute(attribute_type=dpg.mvNode_Attr_Static):
                if draws_status_image(node_class):
                    self.pictures.add(node_id)
                timing = dpg.add_text("", color=NOTE_TEXT, wrap=BADGE_WRAP)
                badge = dpg.add_text("", color=ERROR_TEXT, wrap=BADGE_WRAP)
        self._nodes[node_id] = _NodeItems(node, timing, badge)
        look = NodeLook.MISSING if node_class is None else NodeLook.BYPASSED if spec.bypassed else NodeLook.NORMAL
        self._set_look(node_id, look)

    def _ports_of(self, node_id: str) -> tuple[list[Port], list[Port]]:
        """The schema's ports; for a node whose plugin is missing, the ports its links name (untyped)."""
        spec = self._editor.document.graph.nodes[node_id]
        node_class = self._editor.registry.get(spec.type)
        if node_class is not None:
            return list(node_class.schema.inputs), list(node_class.schema.outputs)
        links = self._editor.document.graph.links
        inputs = sorted({l.target.port for l in links if l.target.node == node_id})
        outputs = sorted({l.source.port for l in links if l.source.node == node_id})
        return ([Port(name, ports.STRING, optional=True) for name in inputs],
                [Port(name, ports.STRING, optional=True) for name in outputs])

    def _add_port(self, node_id: str, port: Port, output: bool) -> None:
        known = self._editor.registry.get(self._editor.document.graph.nodes[node_id].type) is not None
        kind = dpg.mvNode_Attr_Output if output else dpg.mvNode_Attr_Input
        shape = dpg.mvNode_PinShape_TriangleFilled if output else (
            dpg.mvNode_PinShape_Circle if port.optional else dpg.mvNode_PinShape_CircleFilled)
        type_tag = port.type.tag if known else "?"
        with dpg.node_attribute(attribute_type=kind, shape=shape) as attribute:
            if output:
                with dpg.group(horizontal=True):
                    dpg.add_text(f"{port.name}  {type_tag}")
                    for side in ("A", "B"):
                        button = dpg.add_button(label=side, small=True, callback=self._on_preview,
                                                user_data=(node_id, port.name, side.lower()))
                        dpg.bind_item_theme(button, self._themes.preview_button)
                        with dpg.tooltip(button):
                            dpg.add_text(f"show {node_id}.{port.name} in the preview's {side} side")
            else:
                dpg.add_text(f"{port.name}{'' if not port.optional else ' (optional)'}  {type_tag}")
            if port.help:
                with dpg.tooltip(dpg.last_container()):
                    dpg.add_text(port.help, wrap=320)
        dpg.bind_item_theme(attribute, self._themes.pin(port.type) if known else self._themes.unknown_pin)
        self._ports[attribute] = Endpoint(node_id, port.name)
        if output:
            self._outputs.add(attribute)

    def pin(self, endpoint: Endpoint, output: bool) -> int | None:
        """The pin of a port: an input and an output of one node may share a name ("image")."""
        return next((item for item, e in self._ports.items()
                     if e == endpoint and (item in self._outputs) == output), None)

    # ----------------------------------------------------------------- where things are
    def to_grid(self, screen: tuple[float, float]) -> tuple[float, float]:
        """A point on screen in the canvas' own coordinates (the layout's). dearpygui has no call for the
        canvas' panning: a drawn node's screen rectangle against its grid position gives it."""
        for items in self._nodes.values():
            (x, y), (w, _) = dpg.get_item_rect_min(items.node), dpg.get_item_rect_size(items.node)
            if w > 0:
                gx, gy = dpg.get_item_pos(items.node)
                return screen[0] - (x - gx), screen[1] - (y - gy)
        x0, y0 = self.corner()  # nothing drawn yet: no panning either
        return screen[0] - x0, screen[1] - y0

    def corner(self) -> tuple[int, int]:
        """The canvas' top-left corner on screen."""
        return dpg.get_item_rect_min(self._above)[0], dpg.get_item_rect_max(self._above)[1] + ITEM_SPACING

    def output_pin_at(self, screen: tuple[float, float]) -> Endpoint | None:
        """The output pin under a point of the screen (dearpygui does not report hovered pins)."""
        for attribute in self._outputs:
            node = dpg.get_item_parent(attribute)
            row = dpg.get_item_children(attribute, 1)[0]
            x = dpg.get_item_rect_max(node)[0] + PIN_OUTSIDE
            y = (dpg.get_item_rect_min(row)[1] + dpg.get_item_rect_max(row)[1]) / 2
            if abs(screen[0] - x) <= PIN_REACH and abs(screen[1] - y) <= PIN_REACH:
                return self._ports[attribute]
        return None

    def node_under_mouse(self) -> str | None:
        """The node under the mouse (its pins included), if any: of nodes drawn over each other, the one on top."""
        hovered = next((node_id for node_id, items in self._nodes.items() if dpg.is_item_hovered(items.node)), None)
        if hovered is not None:
            return hovered
        mouse = dpg.get_mouse_pos(local=False)
        for node_id, items in self._nodes.items():
            (x0, y0), (x1, y1) = dpg.get_item_rect_min(items.node), dpg.get_item_rect_max(items.node)
            if x0 - 2 * PIN_OUTSIDE <= mouse[0] <= x1 + 2 * PIN_OUTSIDE and y0 <= mouse[1] <= y1:
                return node_id
        return None

    def free_spot(self) -> tuple[float, float]:
        """Where a node added from the palette goes: the first place in the visible part of the canvas,
        row by row from its top-left, that keeps NEW_NODE_GAP clear of every other node (they grow as
        their status lines do), else one that just overlaps none, else the one that covers the least."""
        x0, y0 = self.to_grid(self.corner())
        width, height = dpg.get_item_rect_size(self.widget)
        boxes = []
        for node_id, (x, y) in self._editor.document.layout.items():
            items = self._nodes.get(node_id)
            w, h = dpg.get_item_rect_size(items.node) if items else (0, 0)
            boxes.append((x, y, w or NEW_NODE_SIZE[0], h or NEW_NODE_SIZE[1]))
        nw, nh = NEW_NODE_SIZE

        def covered(x: float, y: float, gap: float) -> float:
            return sum(max(0.0, min(x + nw, bx + bw + gap) - max(x, bx - gap))
                       * max(0.0, min(y + nh, by + bh + gap) - max(y, by - gap)) for bx, by, bw, bh in boxes)

        rows = range(int(y0 + NEW_NODE_MARGIN), int(y0 + height - nh), int(NEW_NODE_STEP))
        columns = range(int(x0 + NEW_NODE_MARGIN), int(x0 + width - nw), int(NEW_NODE_STEP))
        spots = [(float(x), float(y)) for y in rows for x in columns]
        for gap in (NEW_NODE_GAP, 0.0):
            free = next((spot for spot in spots if covered(*spot, gap) == 0.0), None)
            if free is not None:
                return free
        return min(spots, key=lambda spot: covered(*spot, 0.0), default=(x0 + NEW_NODE_MARGIN, y0 + NEW_NODE_MARGIN))

    # ----------------------------------------------------------------- live status
    def show_status(self, status: LiveStatus) -> None:
        doc = self._editor.document
        for node_id, items in self._nodes.items():
            spec = doc.graph.nodes.get(node_id)
            if spec is None:
                continue
            failure, idle = status.failures.get(node_id), status.idle.get(node_id)
            timing = "" if idle else _timing_text(status.timings.get(node_id), node_id in status.cached)
            note = status.notes.get(node_id, "")
            dpg.set_value(items.timing, "\n".join(t for t in (timing, note) if t))
            dpg.set_value(items.badge, badge_text(f"error: {failure}" if failure else f"idle: {idle}" if idle else ""))
            dpg.configure_item(items.badge, color=ERROR_TEXT if failure else IDLE_TEXT)
            base = NodeLook.MISSING if self._editor.registry.get(spec.type) is None else \
                NodeLook.BYPASSED if spec.bypassed else NodeLook.NORMAL
            look = NodeLook.FAILED if failure else NodeLook.IDLE if idle and base is NodeLook.NORMAL else base
            self._set_look(node_id, look)
        self.pictures.show(status)

    def _set_look(self, node_id: str, look: NodeLook) -> None:
        items = self._nodes[node_id]
        if items.look is not look:
            dpg.bind_item_theme(items.node, self._themes.nodes[look])
            items.look = look

    # ----------------------------------------------------------------- reading the canvas back
    def node_ids(self) -> list[str]:
        return list(self._nodes)

    def link_count(self) -> int:
        return len(self._links)

    def badge(self, node_id: str) -> str:
        return dpg.get_value(self._nodes[node_id].badge)

    def timing(self, node_id: str) -> str:
        return dpg.get_value(self._nodes[node_id].timing)

    def selected(self) -> list[str]:
        by_item = {items.node: node_id for node_id, items in self._nodes.items()}
        return [by_item[item] for item in dpg.get_selected_nodes(self.widget) if item in by_item]

    def moved(self) -> dict[str, tuple[float, float]]:
        """Nodes whose position on the canvas differs from the document's layout."""
        layout = self._editor.document.layout
        moves = {}
        for node_id, items in self._nodes.items():
            pos = tuple(float(v) for v in dpg.get_item_pos(items.node))
            if node_id in layout and pos != layout[node_id]:
                moves[node_id] = pos
        return moves

    # ----------------------------------------------------------------- callbacks
    def _on_link(self, _sender, app_data) -> None:
        items = [dpg.get_alias_id(a) if isinstance(a, str) else a for a in app_data]
        items.sort(key=lambda item: item not in self._outputs)  # the output end first, however dragged
        source, target = (self._ports.get(item) for item in items)
        if source is not None and target is not None:
            self._editor.link(source, target)

    def _on_unlink(self, _sender, app_data) -> None:
        link = self._links.get(app_data)
        if link is not None:
            self._editor.unlink(link)

    def _on_preview(self, _sender, _app_data, user_data) -> None:
        node_id, port, side = user_data
        self._editor.set_preview(node_id, port, side)


def _timing_text(stats: TimingStats | None, cached: bool) -> str:
    """Recent time per run; a cached node (it runs only when a param or an input changes) says so
    instead of looking slow."""
    if stats is None or stats.samples == 0:
        return ""
    if cached:
        return f"cached; {stats.mean_ms:.1f} ms when it runs"
    return f"{stats.mean_ms:.2f} ms  (p95 {stats.p95_ms:.2f})"


def badge_text(text: str) -> str:
    """`text` as a node's badge shows it: at most BADGE_CHARS, cut at a word where one is near, saying where
    the rest is (a long path is one word: cut inside it)."""
    if len(text) <= BADGE_CHARS:
        return text
    cut = text[:BADGE_CHARS - len(BADGE_MORE)]
    space = cut.rfind(" ")
    return (cut[:space] if space > len(cut) - 20 else cut).rstrip() + BADGE_MORE
