"""The editor window: palette, canvas, preview, inspector, menus, shortcuts and the status bar.

dearpygui runs with manual callback management, so every callback runs here on the UI thread inside
`frame()`; the graph runs in `LiveGraph`'s worker and is only read through its latest status.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor, UnsavedChanges
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
_TRANSPORT_LABEL = {Transport.PLAYING: "playing", Transport.PAUSED: "paused", Transport.ENDED: "ended"}


class EditorWindow:
    def __init__(self, editor: Editor, width: int = 1600, height: int = 900):
        self.editor = editor
        self.quit_requested = False
        self._seen_structure = -1
        self._seen_saved: tuple | None = None  # (path, saved revision) the recent-files menu was built for
        self._canvas_selection: list[str] = []
        self._shown_selection: list[str] | None = None
        self._ui_frame_times: list[float] = []
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        dpg.create_viewport(title="Reenact Studio", width=width, height=height, disable_close=True)
        dpg.set_exit_callback(lambda: self.request(self.quit))
        self._themes = Themes()
        self.dialogs = Dialogs(editor)
        self._build()
        dpg.setup_dearpygui()
        dpg.show_viewport()

    # ----------------------------------------------------------------- layout
    def _build(self) -> None:
        with dpg.window(tag="main", no_scrollbar=True):
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=PALETTE_WIDTH, height=-STATUS_HEIGHT) as palette:
                    self.palette = Palette(self.editor, palette)
                with dpg.child_window(width=-SIDE_WIDTH, height=-STATUS_HEIGHT, no_scrollbar=True) as centre:
                    self._transport_bar()
                    self.canvas = Canvas(self.editor, self._themes, centre)
                with dpg.child_window(width=-1, height=-STATUS_HEIGHT) as side:
                    self.preview = PreviewPanel(self.editor, side)
                    dpg.add_separator()
                    self.inspector = Inspector(self.editor, side, self.dialogs.pick_file)
            with dpg.group(horizontal=True):
                self._status = dpg.add_text("", color=NOTE_TEXT)
                self._message = dpg.add_text("")
                self._live_message = dpg.add_text("", color=NOTE_TEXT)
        dpg.set_primary_window("main", True)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)

    def _menus(self) -> None:
        e = self.editor
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", callback=lambda: self.request(lambda: e.new(discard=True)))
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

    def _transport_bar(self) -> None:
        e = self.editor
        with dpg.group(horizontal=True):
            self._play_button = dpg.add_button(label="Play", width=60, callback=e.toggle_play)
            dpg.add_button(label="Step", callback=e.step)
            dpg.add_button(label="Restart", callback=e.restart)
            dpg.add_text("  max fps", color=NOTE_TEXT)
            dpg.add_combo(["15", "30", "60", "unlimited"], default_value="30", width=100,
                          callback=lambda s, value: setattr(e.live, "max_fps", 0 if value == "unlimited" else float(value)))
            dpg.add_text("  Ctrl-click a link to remove it; drag from a pin to link.", color=NOTE_TEXT)

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
        dpg.set_value(self._status, f"{doc.title}{' *' if doc.dirty else ''}  |  {_TRANSPORT_LABEL[status.transport]}"
                                    f"  frame {status.frame}  |  graph {status.fps:.1f} fps  |  UI {ui_ms:.1f} ms/frame"
                                    f"  |  preview upload {self.preview.upload_ms:.2f} ms"
                                    f"  |  images: {status.image_path}  |")
        problems = f"{len(self.editor.problems)} problem(s) keep the file from loading elsewhere: " \
                   f"{self.editor.problems[0]}" if self.editor.problems else ""
        dpg.set_value(self._message, self.editor.message)
        dpg.configure_item(self._message, color=ERROR_TEXT if self.editor.message_is_warning else OK_TEXT)
        dpg.set_value(self._live_message, "  ".join(m for m in (status.message, problems) if m))
        dpg.set_viewport_title(f"Reenact Studio — {doc.title}{' *' if doc.dirty else ''}")
        dpg.set_item_label(self._undo_item, f"Undo {doc.undo_label}" if doc.undo_label else "Undo (nothing)")
        dpg.set_item_label(self._redo_item, f"Redo {doc.redo_label}" if doc.redo_label else "Redo (nothing)")

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
            self.editor.say(exc.message, warning=True)

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
        bindings = {dpg.mvKey_S: self.dialogs.save_as if shift else self.save, dpg.mvKey_O: self.open_dialog,
                    dpg.mvKey_Z: e.undo, dpg.mvKey_Y: e.redo, dpg.mvKey_C: e.copy, dpg.mvKey_V: e.paste,
                    dpg.mvKey_D: e.duplicate} if ctrl else {}
        if not ctrl and dpg.is_item_hovered(self.canvas.widget):  # plain keys act on the canvas under the mouse
            bindings = {dpg.mvKey_Delete: e.delete, dpg.mvKey_Spacebar: e.toggle_play, dpg.mvKey_F: e.frame_all}
        action = bindings.get(key)
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
