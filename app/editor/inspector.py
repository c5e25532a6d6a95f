"""The inspector: the selected node's params as widgets generated from its schema (no per-node UI
code), help as tooltips, actions as buttons. Every edit goes through `Editor.set_param`, so it is
undoable and reaches the running graph at the next frame."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.file_browser import Filter
from app.editor.keys import Modifiers
from app.editor.notes import Tone
from app.editor.param_groups import group_params
from app.editor.theme import ERROR_TEXT, NOTE_TEXT
from app.runtime.errors import ReenactError
from app.runtime.paths import resolve_asset
from app.runtime.scheduler import bypass_routes
from app.runtime.schema import NodeSchema, Param, ParamKind, PathRole

WIDTH = -150  # leave room for the label
RESET_LABEL = "R"
NUMBERS = (ParamKind.FLOAT, ParamKind.INT)
# A key typed into a slider (Ctrl-click) that no number has: the slider takes the number before it ('e' is an exponent)
NOT_IN_A_NUMBER = {getattr(dpg, f"mvKey_{c}"): c.lower() for c in "ABCDFGHIJKLMNOPQRSTUVWXYZ"}


class Inspector:
    def __init__(self, editor: Editor, parent: int | str, pick_file: Callable[..., None],
                 modifiers: Modifiers):
        self._editor, self._modifiers = editor, modifiers
        self._pick_file = pick_file  # (title, on_chosen, filters, near) -> opens a file dialog
        self._widgets: dict[str, tuple[int, Param]] = {}
        self._choices: dict[str, dict[str, Any]] = {}  # param -> {label shown: value} for picked params
        self.node_id: str | None = None
        self._told_letter = False  # this edit's letter was said (see _on_key)
        self.group = dpg.add_group(parent=parent)
        with dpg.item_handler_registry() as self._edit_ended:  # bound to the fields typed into: see _on_edit_ended
            dpg.add_item_deactivated_after_edit_handler(callback=self._on_edit_ended)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)

    def show(self, node_id: str | None) -> None:
        dpg.delete_item(self.group, children_only=True)
        self._widgets.clear()
        self._choices.clear()
        self.node_id = node_id if node_id in self._editor.document.graph.nodes else None
        with dpg.group(parent=self.group) as body:
            if self.node_id is None:
                dpg.add_text("Select a node to edit its parameters.", color=NOTE_TEXT)
                return
            spec = self._editor.document.graph.nodes[self.node_id]
            node_class = self._editor.registry.get(spec.type)
            dpg.add_text(f"{self.node_id}   ({spec.type})")
            if node_class is None:
                dpg.add_text(f"The plugin for '{spec.type}' is not installed. Its params are kept and saved:",
                             color=ERROR_TEXT, wrap=380)
                for name, value in spec.params.items():
                    dpg.add_text(f"  {name} = {value!r}", color=NOTE_TEXT)
                return
            self._header(node_class.schema)
            chooser = getattr(node_class, "param_choices", None)  # e.g. the cameras there are, for a device param
            for group, params in group_params(node_class.schema):
                parent = dpg.add_collapsing_header(label=group, default_open=True, parent=body) if group else body
                for param in params:
                    choices = chooser(param.name) if chooser else None
                    with dpg.group(horizontal=True, parent=parent):
                        self._add_reset(param)
                        self._add_param(param, spec.params.get(param.name, param.default), choices)

    def refresh_values(self) -> None:
        """Put the document's values back into the widgets (after a refused edit)."""
        if self.node_id not in self._editor.document.graph.nodes:
            return
        params = self._editor.document.graph.nodes[self.node_id].params
        for name, (widget, param) in self._widgets.items():
            value = params.get(name, param.default)
            if name in self._choices:
                value = _label_of(self._choices[name], value)
            elif dpg.get_item_type(widget).endswith("::mvInputText"):
                value = str(value)
            dpg.set_value(widget, [v * 255 for v in value] if param.kind is ParamKind.COLOR else value)

    # ----------------------------------------------------------------- widgets
    def _header(self, schema: NodeSchema) -> None:
        dpg.add_text(schema.help, wrap=380, color=NOTE_TEXT)
        node_id = self.node_id
        with dpg.group(horizontal=True):
            dpg.add_button(label="Preview A", callback=lambda: self._editor.set_preview(node_id))
            dpg.add_button(label="Preview B", callback=lambda: self._editor.set_preview(node_id, side="b"))
            bypassed = self._editor.document.graph.nodes[node_id].bypassed
            possible = bypass_routes(schema) is not None
            box = dpg.add_checkbox(label="Bypass", default_value=bypassed, enabled=possible or bypassed,
                                   callback=lambda: self._editor.toggle_bypass(node_id))
            with dpg.tooltip(box):
                dpg.add_text("pass the input through unchanged" if possible else
                             "cannot be bypassed: an output has no input of its type to pass on", wrap=320)
        for action in schema.actions:
            button = dpg.add_button(label=action.label, width=-1,
                                    callback=lambda s, a, name: self._editor.run_action(node_id, name),
                                    user_data=action.name)
            if action.help:
                with dpg.tooltip(button):
                    dpg.add_text(action.help, wrap=320)
        dpg.add_separator()

    def _add_reset(self, param: Param) -> None:
        button = dpg.add_button(label=RESET_LABEL, small=True, user_data=param.name,
                                callback=lambda s, a, name: self._reset(name))
        with dpg.tooltip(button):
            dpg.add_text(f"reset {param.name} to its default, {param.default!r}")

    def _add_param(self, param: Param, value: Any, choices: dict[str, Any] | None = None) -> None:
        callback = self._on_edit
        label, user = param.name, param.name
        lo, hi = param.minimum, param.maximum
        kind = param.kind
        # Fields typed into apply when the edit ends (Return, Tab or a click elsewhere: _on_edit_ended); with
        # on_enter they applied on Return only, and a value typed was dropped when the user clicked away.
        # An int slider holds a double: dearpygui reads a number typed into an int widget as a C int, so
        # 99999999999999999999 came as -1 and 4294967296 as 0; a double keeps it whole, to be refused.
        if choices:
            self._choices[param.name] = choices
            widget = dpg.add_combo(list(choices), label=label, default_value=_label_of(choices, value), width=WIDTH,
                                   callback=self._on_choice, user_data=user)
        elif kind is ParamKind.FLOAT and lo is not None and hi is not None:
            widget = dpg.add_slider_float(label=label, default_value=value, min_value=lo, max_value=hi,
                                          width=WIDTH, callback=self._on_slide, user_data=user)
        elif kind is ParamKind.INT and lo is not None and hi is not None and hi - lo <= 4096:
            widget = dpg.add_slider_double(label=label, default_value=value, min_value=lo, max_value=hi, format="%.0f",
                                           width=WIDTH, callback=self._on_slide, user_data=user)
        elif kind in NUMBERS:  # text, read whole: dearpygui's number field took '8q9' typed as 8, silently
            widget = dpg.add_input_text(label=label, default_value=str(value), width=WIDTH)
        elif kind is ParamKind.BOOL:
            widget = dpg.add_checkbox(label=label, default_value=value, callback=callback, user_data=user)
        elif kind is ParamKind.ENUM:
            widget = dpg.add_combo(list(param.choices), label=label, default_value=value, width=WIDTH,
                                   callback=callback, user_data=user)
        elif kind is ParamKind.COLOR:
            widget = dpg.add_color_edit([v * 255 for v in value], label=label, alpha_bar=True, width=WIDTH,
                                        callback=self._on_color, user_data=user)
        elif kind is ParamKind.VECTOR:
            widget = dpg.add_input_floatx(label=label, default_value=value, size=max(2, min(4, param.size)),
                                          width=WIDTH)
        elif kind is ParamKind.PATH:
            widget = self._add_path(param, value)
        else:
            widget = dpg.add_input_text(label=label, default_value=str(value), width=WIDTH)
        self._widgets[param.name] = (widget, param)
        if dpg.get_item_callback(widget) in (None, self._on_slide):  # typed into (or dragged): see above
            dpg.bind_item_handler_registry(widget, self._edit_ended)
        with dpg.tooltip(widget):
            dpg.add_text(_help_text(param), wrap=360)

    def _add_path(self, param: Param, value: str) -> int:
        with dpg.group(horizontal=True):
            widget = dpg.add_input_text(label=param.name, default_value=value, width=WIDTH - 40)
            if param.role is PathRole.ASSET:
                node_id = self.node_id
                dpg.add_button(label="...", callback=lambda: self._pick_file(
                    f"Choose {param.name}", lambda chosen: self._on_picked(node_id, param.name, chosen),
                    file_filters(param), self._named_file(param.name)))
        return widget

    def _named_file(self, name: str) -> Path | None:
        """The file the param names now, where there is one (its picker opens beside it)."""
        value = self._editor.document.graph.nodes[self.node_id].params.get(name, "")
        try:
            return resolve_asset(value, self._editor.document.graph.base_dir) if value else None
        except ReenactError:
            return None

    # ----------------------------------------------------------------- edits
    def _on_edit(self, _sender, value, name: str) -> None:
        self._apply(name, _param_value(self._widgets[name][1], value))

    def _on_slide(self, sender, value, name: str) -> None:
        """A drag applies as it goes. A number typed into a slider (Ctrl-click) changes its value at every
        key, so it is applied when the edit ends (_on_edit_ended): '4' of '45' was applied, then 45 refused."""
        if dpg.is_mouse_button_down(dpg.mvMouseButton_Left):
            self._on_edit(sender, value, name)

    def _on_edit_ended(self, _sender, widget: int) -> None:
        """Return, Tab or a click elsewhere after typing: check and apply what was typed (a refusal puts back
        the value from before the edit, with one message); the end of a drag, already applied, changes nothing."""
        self._told_letter = False
        name = next((n for n, (w, _) in self._widgets.items() if w == widget), None)
        if name is None or self.node_id not in self._editor.document.graph.nodes:
            return
        param = self._widgets[name][1]
        current = self._editor.document.graph.nodes[self.node_id].params.get(name, param.default)
        typed = dpg.get_value(widget)
        if param.kind in NUMBERS and isinstance(typed, str):  # a number field's text, read whole
            if typed.strip() != str(current):
                self._editor.attempt(lambda: self._editor.set_param(self.node_id, name, typed.strip(), from_text=True))
            self.refresh_values()  # the number as stored ('1e3' as 1000), or as it was before a refusal
            return
        value = _field_value(param, typed)
        if value != current:
            self._apply(name, value)

    def _on_key(self, _sender, key: int) -> None:
        """A letter typed into a slider (Ctrl-click) shows in it, but the slider takes only the number before
        it, and said nothing: now it says so, once an edit. A number field's text is refused whole instead."""
        letter = NOT_IN_A_NUMBER.get(key)
        if letter is None or self._told_letter or self._modifiers.ctrl:  # Ctrl-A selects what was typed
            return
        name = next((n for n, (w, _) in self._widgets.items()
                     if dpg.get_item_callback(w) == self._on_slide and dpg.is_item_active(w)), None)
        if name is not None:
            self._told_letter = True
            self._editor.say(f"{self.node_id}.{name}: '{letter}' is not part of a number: the slider takes only the "
                             "number typed before it", Tone.WARNING)

    def _on_choice(self, _sender, label, name: str) -> None:
        self._apply(name, self._choices[name][label])

    def _reset(self, name: str) -> None:
        param = self._widgets[name][1]
        self._apply(name, param.default)
        self.refresh_values()

    def _on_picked(self, node_id: str, name: str, chosen: Path) -> None:
        self._editor.set_path_param(node_id, name, chosen)
        self.refresh_values()  # the field shows what was stored

    def _on_color(self, _sender, value, name: str) -> None:
        scale = 255.0 if any(v > 1.0 for v in value) else 1.0  # dearpygui reports 0..1 or 0..255
        self._apply(name, [min(1.0, max(0.0, v / scale)) for v in value[:4]])

    def _apply(self, name: str, value: Any) -> None:
        if not self._editor.attempt(lambda: self._editor.set_param(self.node_id, name, value)):
            self.refresh_values()


def file_filters(param: Param) -> tuple[Filter, ...]:
    """A path param's kinds of file as the picker's filters: all of them together first, then each."""
    kinds = [Filter(f"{label} ({' '.join('*' + s for s in suffixes)})", suffixes) for label, suffixes in param.files]
    if len(kinds) > 1:
        every = tuple(s for _, suffixes in param.files for s in suffixes)
        kinds.insert(0, Filter(" or ".join(label.lower() for label, _ in param.files).capitalize(), every))
    return tuple(kinds)


def _param_value(param: Param, value: Any) -> Any:
    """A widget's value as its param is set to: an int param's double is checked as it is (the schema takes
    a whole one), a float widget's single precision is read back as typed."""
    return _as_typed(value) if isinstance(value, float) and param.kind is not ParamKind.INT else value


def _field_value(param: Param, value: Any) -> Any:
    """What a field typed into (or a slider) holds, as its param is set to."""
    if param.kind is ParamKind.VECTOR:
        return [_as_typed(v) for v in list(value)[:param.size or len(value)]]
    return _param_value(param, value)


def _as_typed(value: float) -> float:
    """A float widget's value as typed: dearpygui keeps single precision, so 1.634 came back as
    1.6339999437332153 and was saved so; 7 significant digits are all that single precision holds."""
    return float(f"{value:.7g}")


def _label_of(choices: dict[str, Any], value: Any) -> str:
    """The label of a value among the choices; a value that is not among them (a camera unplugged
    since) shows as itself, so it is not silently changed."""
    return next((label for label, v in choices.items() if v == value), str(value))


def _help_text(param: Param) -> str:
    bounds = []
    if param.minimum is not None:
        bounds.append(f"min {param.minimum:g}")
    if param.maximum is not None:
        bounds.append(f"max {param.maximum:g}")
    extra = f"  ({', '.join(bounds)})" if bounds else ""
    return f"{param.help}{extra}\ndefault: {param.default!r}"
