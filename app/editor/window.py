"""The editor window: palette, canvas, preview, inspector, menus, shortcuts and the status bar.

dearpygui runs with manual callback management, so every callback runs here on the UI thread inside
`frame()`; the graph runs in `LiveGraph`'s worker and is only read through its latest status.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor, Message, Tone, UnsavedChanges
from app.editor.canvas import Canvas
from app.editor.dialogs import Dialogs
from app.editor.inspector import Inspector
from app.editor.live import Transport
from app.editor.palette import Palette
from app.editor.preview_panel import PreviewPanel
from app.editor.theme import ERROR_TEXT, NOTE_TEXT, OK_TEXT, Themes
from app.runtime.errors import ReenactError

SIDE_WIDTH = 430
PALETTE_WIDTH = 230
STATUS_HEIGHT = 28
PREVIEW_HEIGHT = 500
SPACING = 8  # between panels
_TRANSPORT_LABEL = {Transport.PLAYING: "playing", Transport.PAUSED: "paused", Transport.ENDED: "ended"}
_TONE_COLOR = {Tone.OK: OK_TEXT, Tone.NOTE: NOTE_TEXT, Tone.WARNING: ERROR_TEXT}
CANVAS_HELP = ("Drag from a pin to another to link them; Ctrl-click a link to remove it. With the mouse over "
               "the canvas: Del deletes the selected nodes, F brings every node into view, Space plays or pauses.")


class EditorWindow:
    def __init__(self, editor: Editor, width: int = 1600, height: int = 900):
        self.editor = editor
        self.quit_requested = False
        self._seen_structure = -1
        self._seen_saved: tuple | None = None  # (path, saved revision) the recent-files menu was built for
        self._canvas_selection: list[str] = []
        self._shown_selection: list[str] | None = None
        self._ui_frame_times: list[float] = []
        self._seen_live_message = ""
        self._shown_message: Message | None = None
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        dpg.create_viewport(title="Reenact Studio", width=width, height=height, disable_close=True)
        dpg.set_exit_callback(lambda: self.request(self.quit))
        self._themes = Themes()
        self.dialogs = Dialogs(editor)
        self._build(canvas_width=width - PALETTE_WIDTH - SIDE_WIDTH - 3 * SPACING)
        dpg.setup_dearpygui()
        dpg.show_viewport()

    # ----------------------------------------------------------------- layout
    def _build(self, canvas_width: int) -> None:
        with dpg.window(tag="main", no_scrollbar=True):
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=PALETTE_WIDTH, height=-STATUS_HEIGHT) as palette:
                    self.palette = Palette(self.editor, palette)
                with dpg.child_window(width=canvas_width, height=-STATUS_HEIGHT, no_scrollbar=True,
                                      resizable_x=True) as centre:  # drag its right edge for a wider preview
                    self._transport_bar()
                    self.canvas = Canvas(self.editor, self._themes, centre)
                with dpg.group():
                    # The preview and the params scroll apart; the preview's bottom edge drags too.
                    with dpg.child_window(width=-1, height=PREVIEW_HEIGHT, no_scrollbar=True, resizable_y=True) as area:
                        self.preview = PreviewPanel(self.editor, area)
                    with dpg.child_window(width=-1, height=-STATUS_HEIGHT) as params:
                        self.inspector = Inspector(self.editor, params, self.dialogs.pick_file)
            with dpg.group(horizontal=True):  # one line: the newest message first, then the file's problems
                self.message_line = dpg.add_text("")
                with dpg.tooltip(self.message_line):
                    self._message_full = dpg.add_text("", wrap=700)
                self._problems = dpg.add_text("", color=NOTE_TEXT)
        dpg.set_primary_window("main", True)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)

    def _menus(self) -> None:
        e = self.editor
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", callback=lambda: self.request(e.new))
                dpg.add_menu_item(label="Open...", shortcut="Ctrl+O", callback=self.open_dialog)
                self._recent_menu = dpg.add_menu(label="Open recent")
                dpg.add_menu_item(label="Save", shortcut="Ctrl+S", callback=self.save)
                dpg.add_menu_item(label="Save as...", shortcut="Ctrl+Shift+S", callback=self.dialogs.save_as)
                dpg.add_menu_item(label="Revert to saved", callback=lambda: self.editor.attempt(e.revert))
                dpg.add_separator()
                dpg.add_menu_item(label="Quit", callback=lambda: self.request(self.quit))
            with dpg.menu(label="Edit"):
                items = []
                for label, shortcut, action in (("Undo", "Ctrl+Z", e.undo), ("Redo", "Ctrl+Y", e.redo),
                                                ("Copy", "Ctrl+C", e.copy), ("Paste", "Ctrl+V", e.paste),
                                                ("Duplicate", "Ctrl+D", e.duplicate), ("Delete", "Del", e.delete),
                                                ("Frame all", "F", e.frame_all)):
                    items.append(dpg.add_menu_item(label=label, shortcut=shortcut, user_data=action,
                                                   callback=lambda s, a, f: self.editor.attempt(f)))
                self._undo_item, self._redo_item = items[:2]
            with dpg.menu(label="Run"):
                dpg.add_menu_item(label="Play / pause", shortcut="Space", callback=e.toggle_play)
                dpg.add_menu_item(label="Step one frame", callback=e.step)
                dpg.add_menu_item(label="Restart", callback=e.restart)
            with dpg.menu(label="View"):
                dpg.add_menu_item(label="Single preview (no A/B split)", callback=e.clear_split)
            self._messages_menu = dpg.add_menu(label="Messages")

    def _transport_bar(self) -> None:
        e = self.editor
        with dpg.group(horizontal=True):
            self._play_button = dpg.add_button(label="Play", width=60, callback=e.toggle_play)
            dpg.add_button(label="Step", callback=e.step)
            dpg.add_button(label="Restart", callback=e.restart)
            dpg.add_text("  max fps", color=NOTE_TEXT)
            dpg.add_combo(["15", "30", "60", "unlimited"], default_value="30", width=100,
                          callback=lambda s, value: setattr(e.live, "max_fps", 0 if value == "unlimited" else float(value)))
            hint = dpg.add_text(" (?)", color=NOTE_TEXT)
            with dpg.tooltip(hint):
                dpg.add_text(CANVAS_HELP, wrap=360)
            self._stats = dpg.add_text("", color=NOTE_TEXT)
            with dpg.tooltip(self._stats):
                self._stats_detail = dpg.add_text("", wrap=500)

    # ----------------------------------------------------------------- the frame
    def frame(self) -> None:
        """One UI frame: callbacks, then what changed in the document and the live graph."""
        started = time.perf_counter()
        dpg.run_callbacks(dpg.get_callback_queue())
        self._sync_document()
        status = self.editor.live.status()
        self.canvas.show_status(status)
        self.preview.show(status)
        self._show_status(status)
        self._show_messages(status)
        self.editor.autosave()
        dpg.render_dearpygui_frame()
        self._ui_frame_times = (self._ui_frame_times + [time.perf_counter() - started])[-120:]

    def _sync_document(self) -> None:
        editor = self.editor
        if editor.structure_revision != self._seen_structure:
            self._seen_structure = editor.structure_revision
            self.canvas.rebuild()
            self._canvas_selection = []  # fresh canvas items start unselected
            self._shown_selection = None
        elif not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):  # a drag has ended
            moves = self.canvas.moved()
            if moves:
                editor.move(moves)
        saved = (editor.document.path, editor.document.saved_revision)
        if saved != self._seen_saved:  # opening or saving is what reorders the recent files
            self._seen_saved = saved
            self._refresh_recent()
        selected = self.canvas.selected()
        if selected != self._canvas_selection:  # the user clicked on the canvas
            self._canvas_selection = selected
            editor.select(selected)
        if editor.selection != self._shown_selection:
            self._shown_selection = list(editor.selection)
            self.inspector.show(editor.selection[0] if len(editor.selection) == 1 else None)

    def _show_status(self, status) -> None:
        doc = self.editor.document
        ui_ms = 1000 * sum(self._ui_frame_times) / max(1, len(self._ui_frame_times))
        dpg.set_item_label(self._play_button, "Pause" if status.transport is Transport.PLAYING else "Play")
        dpg.set_value(self._stats, f"{doc.title}{' *' if doc.dirty else ''} | {_TRANSPORT_LABEL[status.transport]},"
                                   f" frame {status.frame} | graph {status.fps:.1f} fps | UI {ui_ms:.1f} ms")
        dpg.set_value(self._stats_detail,
                      f"preview upload {self.preview.upload_ms:.2f} ms\nimages: {status.image_path}")
        problems = f"  |  {len(self.editor.problems)} problem(s) keep the file from loading elsewhere: " \
                   f"{self.editor.problems[0]}" if self.editor.problems else ""
        dpg.set_value(self._problems, problems)
        dpg.set_viewport_title(f"Reenact Studio — {doc.title}{' *' if doc.dirty else ''}")
        dpg.set_item_label(self._undo_item, f"Undo {doc.undo_label}" if doc.undo_label else "Undo (nothing)")
        dpg.set_item_label(self._redo_item, f"Redo {doc.redo_label}" if doc.redo_label else "Redo (nothing)")

    def _show_messages(self, status) -> None:
        """The newest message in the status bar on one line (a wrapped one would push the layout),
        all of it in its tooltip, the last ones in the Messages menu. The running graph's messages join them."""
        if status.message != self._seen_live_message:
            self._seen_live_message = status.message
            if status.message:
                self.editor.say(status.message, Tone.NOTE)
        newest = self.editor.messages[-1] if self.editor.messages else None
        if newest is None or newest is self._shown_message:
            return
        self._shown_message = newest
        dpg.set_value(self.message_line, " ".join(newest.text.split()))
        dpg.configure_item(self.message_line, color=_TONE_COLOR[newest.tone])
        dpg.set_value(self._message_full, newest.text)
        dpg.delete_item(self._messages_menu, children_only=True)
        lines = [(f"{time.strftime('%H:%M:%S', time.localtime(m.at))}  {m.text}", m.tone)
                 for m in reversed(self.editor.messages)]
        for line, tone in lines:
            dpg.add_text(line, color=_TONE_COLOR[tone], wrap=700, parent=self._messages_menu)
        dpg.add_menu_item(label="Copy all", parent=self._messages_menu,
                          callback=lambda: dpg.set_clipboard_text("\n".join(line for line, _ in lines)))

    def _refresh_recent(self) -> None:
        dpg.delete_item(self._recent_menu, children_only=True)
        for path in self.editor.storage.recent_files():
            dpg.add_menu_item(label=str(path), parent=self._recent_menu, user_data=path,
                              callback=lambda s, a, p: self.request(lambda: self.editor.open(p)))

    # ----------------------------------------------------------------- commands
    def request(self, action: Callable[[], None]) -> None:
        """Run an action that may drop unsaved changes; if it would, ask first."""
        try:
            action()
        except UnsavedChanges as exc:
            self.dialogs.confirm_discard(exc.message, save=self.save, then=action)
        except ReenactError as exc:
            self.editor.say(exc.message, Tone.WARNING)

    def open_dialog(self) -> None:
        self.dialogs.pick_file("Open a graph preset", lambda path: self.request(lambda: self.editor.open(path)),
                               extensions=(".json",))

    def save(self) -> bool:
        if self.editor.document.path is None:
            self.dialogs.save_as()
            return False
        return self.editor.attempt(self.editor.save)

    def quit(self) -> None:
        if self.editor.document.dirty:
            raise UnsavedChanges(f"{self.editor.document.title} has unsaved changes")
        self.quit_requested = True

    def _on_key(self, _sender, key) -> None:
        ctrl = dpg.is_key_down(dpg.mvKey_ModCtrl)
        shift = dpg.is_key_down(dpg.mvKey_ModShift)
        e = self.editor
        files, edits = {}, {}
        if ctrl:
            files = {dpg.mvKey_S: self.dialogs.save_as if shift else self.save, dpg.mvKey_O: self.open_dialog}
            edits = {dpg.mvKey_Z: e.undo, dpg.mvKey_Y: e.redo, dpg.mvKey_C: e.copy, dpg.mvKey_V: e.paste,
                     dpg.mvKey_D: e.duplicate}
        elif dpg.is_item_hovered(self.canvas.widget):  # plain keys act on the canvas under the mouse
            edits = {dpg.mvKey_Delete: e.delete, dpg.mvKey_Spacebar: e.toggle_play, dpg.mvKey_F: e.frame_all}
        action = files.get(key)
        if action is None and key in edits and not _widget_in_use():  # a key typed into a field is the field's
            action = edits[key]
        if action is not None:
            self.editor.attempt(action)

    # ----------------------------------------------------------------- lifetime
    def screenshot(self, path: Path, timeout: float = 10.0) -> Path:
        """Write the whole window to a PNG (dearpygui writes it while rendering the next frames)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        dpg.output_frame_buffer(file=str(path))
        deadline = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < deadline:
            self.frame()
        if not path.exists():
            raise ReenactError("the screenshot was not written", where=str(path), hint="check the folder is writable")
        return path

    def close(self) -> None:
        self.editor.close()
        dpg.destroy_context()


def _widget_in_use() -> bool:
    """Whether a widget holds the keyboard or mouse (the caret in a text field, a slider being dragged):
    then keys are its own, and Delete, Ctrl-V and the like must not act on the canvas."""
    return any(dpg.get_item_state(item).get("active") for item in dpg.get_all_items())
