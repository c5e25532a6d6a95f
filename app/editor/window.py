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
from app.editor.notes import Tone
from app.editor.add_menu import AddMenu
from app.editor.canvas import Canvas
from app.editor.dialogs import PRESETS, Dialogs
from app.editor.inspector import Inspector
from app.editor.keys import Modifiers
from app.editor.live_status import LiveStatus, Transport
from app.editor.message_log import MessageLog
from app.editor.palette import Palette
from app.editor.preview_panel import PreviewPanel
from app.editor.theme import Themes
from app.editor.transport import TransportBar
from app.runtime.errors import ProblemsError, ReenactError

SIDE_WIDTH = 430
PALETTE_WIDTH = 230
STATUS_HEIGHT = 28
PREVIEW_HEIGHT = 500
SPACING = 8  # between panels
STALE_SELECTION_FRAMES = 2  # frames after a canvas rebuild whose reported node selection is not a click
_TRANSPORT_LABEL = {Transport.PLAYING: "playing", Transport.PAUSED: "paused", Transport.ENDED: "ended"}
IDLE_FRAME_S = 0.2  # the UI's frame time while nothing moves: drawing a frame costs ~30 ms of CPU in software GL
ACTIVE_FRAME_S = 1 / 60
ACTIVE_AFTER_INPUT_S = 1.5  # full speed this long after the mouse moved (typing follows a click)
# While the graph plays or a render runs, drawing the window takes at most this share of one core (and
# while the user works in it, TOUCHED_UI_SHARE). In software GL a frame of the window costs 40-80 ms:
# drawn for every graph frame, it took the graph from 36 fps headless down to 17. The graph, which feeds
# the outputs, keeps its rate; the preview shows every few frames (half a core: 6 a second here, the
# graph at 0.92-0.95 of its headless rate; a quarter: 3, at 0.98-1.0). With a GPU the window costs a few
# ms and neither share binds.
BUSY_UI_SHARE = 0.5
TOUCHED_UI_SHARE = 0.75
# Under a frame cap the graph often needs less than its cores (video_to_portrait at 30 fps: its work takes
# 55% of each frame's time), and half a core left the preview at 11 frames a second. While the graph's work
# takes under GRAPH_AT_EASE of its frame time the window's share grows towards MOST_UI_SHARE; over
# GRAPH_PRESSED it shrinks back, to BUSY_UI_SHARE at least (a cap the graph cannot reach is no cap), so the
# graph keeps its rate (and the frame budget its settings). Between the two it stays: it does not flap.
GRAPH_AT_EASE, GRAPH_PRESSED = 0.7, 0.85
MOST_UI_SHARE = 1.0
UI_SHARE_STEPS = (1.05, 0.9)  # a frame's growth, and shrinking, of the window's share


def transport_label(status) -> str:
    """The status bar's word for the transport, and which nodes fail: a graph whose driver could not start
    still ticks its frames, and a bare "playing" beside them read as if frames were being made."""
    label = _TRANSPORT_LABEL[status.transport] + (", recording" if status.recording else "")
    failed = sorted(status.failures)
    if len(failed) == 1:
        label += f", but '{failed[0]}' failed (the red node says why)"
    elif failed:
        label += f", but {', '.join(repr(node_id) for node_id in failed)} failed (the red nodes say why)"
    return label


class EditorWindow:
    def __init__(self, editor: Editor, width: int = 1600, height: int = 900):
        self.editor = editor
        self.quit_requested = False
        self._seen_structure = -1
        self._seen_saved: tuple | None = None  # (path, saved revision) the recent-files menu was built for
        self._canvas_selection: list[str] = []
        self._rebuilt_frames_ago = STALE_SELECTION_FRAMES
        self._shown_selection: list[str] | None = None
        self._ui_frames: list[tuple[float, float]] = []  # recent frames: (when each began, seconds it took)
        self._full_preview: float | None = None  # the preview's height before it filled the window
        self._resizable_again = False
        self._active_until = 0.0
        self._ui_share = BUSY_UI_SHARE  # of a core, while the graph plays under a frame cap (`_share_beside`)
        self._last_mouse: tuple = ()
        width, height = fit_to_screen(width, height)
        dpg.create_context()
        dpg.configure_app(manual_callback_management=True)
        # At the screen's top-left corner: without a window manager (or with a small screen) a centred
        # window of this size would hang off the screen.
        dpg.create_viewport(title="Reenact Studio", width=width, height=height, x_pos=0, y_pos=0,
                            disable_close=True)
        dpg.set_exit_callback(lambda: self.request(self.quit))
        self._themes = Themes()
        self.dialogs = Dialogs(editor)
        self.modifiers = Modifiers()
        self._build(canvas_width=width - PALETTE_WIDTH - SIDE_WIDTH - 3 * SPACING)
        dpg.setup_dearpygui()
        dpg.show_viewport()

    # ----------------------------------------------------------------- layout
    def _build(self, canvas_width: int) -> None:
        with dpg.window(tag="main", no_scrollbar=True):
            self._menus()
            with dpg.group(horizontal=True):
                with dpg.child_window(width=PALETTE_WIDTH, height=-STATUS_HEIGHT) as self._palette_area:
                    self.palette = Palette(self.editor, self._palette_area, lambda type_id: self.editor.attempt(
                        lambda: self.editor.add_node(type_id, self.canvas.free_spot())))
                with dpg.child_window(width=canvas_width, height=-STATUS_HEIGHT, no_scrollbar=True,
                                      resizable_x=True) as self._centre:  # drag its right edge for a wider preview
                    self.transport = TransportBar(self.editor, self.dialogs.render)
                    self.canvas = Canvas(self.editor, self._themes, self._centre, above=self.transport.stats)
                with dpg.group():
                    # The preview and the params scroll apart; the preview's bottom edge drags too.
                    with dpg.child_window(width=-1, height=PREVIEW_HEIGHT, no_scrollbar=True,
                                          resizable_y=True) as self._preview_area:
                        self.preview = PreviewPanel(self.editor, self._preview_area)
                    with dpg.child_window(width=-1, height=-STATUS_HEIGHT) as self._params_area:
                        self.inspector = Inspector(self.editor, self._params_area, self.dialogs.pick_file,
                                                   self.modifiers)
            # One line: the newest message (a refusal held a while), then the file's problems; click it for the log.
            self.messages = MessageLog(self.editor)
        dpg.set_primary_window("main", True)
        self.add_menu = AddMenu(self.editor, self.canvas)
        with dpg.handler_registry():
            dpg.add_key_press_handler(callback=self._on_key)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Right, callback=self.add_menu.on_right_click)
            dpg.add_mouse_click_handler(button=dpg.mvMouseButton_Left, callback=self.add_menu.on_press)
            dpg.add_mouse_release_handler(button=dpg.mvMouseButton_Left, callback=self.add_menu.on_release)

    def _menus(self) -> None:
        e = self.editor
        with dpg.menu_bar():
            with dpg.menu(label="File"):
                dpg.add_menu_item(label="New", callback=lambda: self.request(e.new))
                dpg.add_menu_item(label="Open...", shortcut="Ctrl+O", callback=self.open_dialog)
                self._recent_menu = dpg.add_menu(label="Open recent")
                dpg.add_menu_item(label="Save", shortcut="Ctrl+S", callback=lambda: self.save())
                dpg.add_menu_item(label="Save as...", shortcut="Ctrl+Shift+S", callback=lambda: self.dialogs.save_as())
                dpg.add_menu_item(label="Revert to saved", callback=lambda: self.request(e.revert))
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
                dpg.add_menu_item(label="Render to file...", callback=lambda: self.dialogs.render())
            with dpg.menu(label="View"):
                dpg.add_menu_item(label="Single preview (no A/B split)", callback=e.clear_split)
                dpg.add_menu_item(label="Preview fills the window (toggle)", shortcut="Ctrl+P",
                                  callback=self.toggle_full_preview)
                dpg.add_menu_item(label="Message log", shortcut="Ctrl+L", callback=lambda: self.messages.open())
                dpg.add_menu_item(label="Minimap", check=True, default_value=False,
                                  callback=lambda s, shown: self.canvas.show_minimap(shown))

    # ----------------------------------------------------------------- the frame
    def frame(self) -> None:
        """One UI frame: callbacks, then what changed in the document and the live graph."""
        started = time.perf_counter()
        self.dialogs.run_deferred()
        dpg.run_callbacks(dpg.get_callback_queue())
        self._sync_document()
        status = self.editor.live.status()
        self.canvas.show_status(status)
        self.preview.show(status)
        self.transport.show(status)
        self._show_status(status)
        self.messages.show(status)
        self.dialogs.show_render_progress()
        self.editor.autosave()
        dpg.render_dearpygui_frame()
        if self._resizable_again:
            self._resizable_again = False
            dpg.configure_item(self._preview_area, resizable_y=True)
        self._ui_frames = (self._ui_frames + [(started, time.perf_counter() - started)])[-120:]

    def pace(self, started: float) -> None:
        """Sleep out the rest of this frame's time: quick frames while the graph plays, a render runs
        or the mouse moved lately, slow ones otherwise, so a paused editor uses little CPU; beside a
        playing graph or a render, no more of a core than BUSY_UI_SHARE (TOUCHED_UI_SHARE while the
        user works). Called by the main loop, not by scripted sessions."""
        status = self.editor.live.status()  # while it plays, frames come at up to the graph's rate
        mouse = (tuple(dpg.get_mouse_pos(local=False)), dpg.is_mouse_button_down(dpg.mvMouseButton_Left),
                 dpg.is_mouse_button_down(dpg.mvMouseButton_Middle), dpg.is_mouse_button_down(dpg.mvMouseButton_Right))
        if mouse != self._last_mouse:
            self._active_until = time.monotonic() + ACTIVE_AFTER_INPUT_S
        rendering = self.editor.render is not None and not self.editor.render.progress.finished
        touched = time.monotonic() < self._active_until
        self._last_mouse = mouse
        playing = status.transport is Transport.PLAYING
        share = self._share_beside(status) if playing and not rendering else BUSY_UI_SHARE
        if touched:
            period = max(ACTIVE_FRAME_S, self._drawing_cost() / max(share, TOUCHED_UI_SHARE)
                         if playing or rendering else 0.0)
        elif playing or rendering:  # and no faster than new frames come
            period = max(ACTIVE_FRAME_S, 1.0 / status.fps if playing and status.fps > 0 else 0.0,
                         self._drawing_cost() / share)
        else:
            period = IDLE_FRAME_S
        rest = period - (time.perf_counter() - started)
        if rest > 0:
            time.sleep(rest)

    @property
    def ui_share(self) -> float:
        """The share of a core the window was last left beside the playing graph."""
        return self._ui_share

    def _share_beside(self, status: LiveStatus) -> float:
        """The share of a core the window may take beside the playing graph: BUSY_UI_SHARE without a frame
        cap (the graph takes what it can), else grown or shrunk with the graph's headroom."""
        if status.busy <= 0.0:
            self._ui_share = BUSY_UI_SHARE
        elif status.busy < GRAPH_AT_EASE:
            self._ui_share = min(MOST_UI_SHARE, self._ui_share * UI_SHARE_STEPS[0])
        elif status.busy > GRAPH_PRESSED:
            self._ui_share = max(BUSY_UI_SHARE, self._ui_share * UI_SHARE_STEPS[1])
        return self._ui_share

    def _ui_fps(self) -> float:
        """Window frames drawn a second over the last two seconds or so."""
        since = time.perf_counter() - 2.0
        return sum(1 for began, _ in self._ui_frames if began > since) / 2.0

    def _drawing_cost(self) -> float:
        """Seconds a UI frame has taken lately (the median of the last ones: a rebuild is a one-off)."""
        recent = sorted(seconds for _, seconds in self._ui_frames[-15:])
        return recent[len(recent) // 2] if recent else 0.0

    def toggle_full_preview(self) -> None:
        """The preview alone fills the window (palette, canvas and params hidden), or back."""
        full = self._full_preview is None
        for area in (self._palette_area, self._centre, self._params_area):
            dpg.configure_item(area, show=not full)
        if full:
            self._full_preview = dpg.get_item_height(self._preview_area) or PREVIEW_HEIGHT
            top = dpg.get_item_pos(self._preview_area)[1]  # an explicit height: a resizable area keeps its own
            dpg.configure_item(self._preview_area, resizable_y=False,
                               height=dpg.get_viewport_client_height() - top - STATUS_HEIGHT - SPACING)
        else:
            dpg.configure_item(self._preview_area, height=int(self._full_preview))
            self._full_preview = None
            self._resizable_again = True  # after a frame at this height: a resizable area keeps the size it has

    def _sync_document(self) -> None:
        editor = self.editor
        if editor.structure_revision != self._seen_structure:
            self._seen_structure = editor.structure_revision
            self.canvas.rebuild()
            self._canvas_selection = []  # fresh canvas items start unselected
            self._shown_selection = None
            self._rebuilt_frames_ago = 0
        elif not dpg.is_mouse_button_down(dpg.mvMouseButton_Left):  # a drag has ended
            moves = self.canvas.moved()
            if moves:
                editor.move(moves)
        saved = (editor.document.path, editor.document.saved_revision)
        if saved != self._seen_saved:  # opening or saving is what reorders the recent files
            self._seen_saved = saved
            self._refresh_recent()
            self.inspector.refresh_values()  # saved into another folder, its file paths are named from there
        selected = self.canvas.selected()
        self._rebuilt_frames_ago += 1
        if self._rebuilt_frames_ago <= STALE_SELECTION_FRAMES:
            # for a frame after a rebuild dearpygui can report a node in a reused slot as selected, then
            # nothing: taken as clicks, they moved the inspector to that node, then cleared it (seen in CI)
            self._canvas_selection = selected
        elif selected != self._canvas_selection:  # the user clicked on the canvas
            self._canvas_selection = selected
            editor.select(selected)
        if editor.selection != self._shown_selection:
            self._shown_selection = list(editor.selection)
            self.inspector.show(editor.selection[0] if len(editor.selection) == 1 else None)

    def _show_status(self, status) -> None:
        doc = self.editor.document
        ui_ms = 1000 * sum(seconds for _, seconds in self._ui_frames) / max(1, len(self._ui_frames))
        transport = transport_label(status)
        holding = f" | holding the rate: {', '.join(status.budget)}" if status.budget else ""
        held = f" (the clip's {status.clip_rate:g})" if status.clip_rate else ""
        rates = f"graph {status.fps:.1f} fps{held} | UI {ui_ms:.1f} ms, {self._ui_fps():.0f} fps"
        dpg.set_value(self.transport.stats, f"{doc.title}{' *' if doc.dirty else ''} | {transport} | {rates}{holding}")
        dpg.set_value(self.transport.stats_detail,
                      f"preview upload {self.preview.upload_ms:.2f} ms\nimages: {status.image_path}")
        count = len(self.editor.problems)  # each in full in the message log: here it would run off the window
        problems = (f"  |  `reenact run` refuses the saved file: {count} problem{'s' if count > 1 else ''} "
                    "(Ctrl-L shows why)") if count else ""
        if self.editor.recovered and doc.dirty:  # the notice as it was said scrolls away with the graph's notes
            problems = "  |  edits recovered from the autosave: save to keep them, or File > Revert" + problems
        dpg.set_value(self.messages.problems, problems)
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
            self.dialogs.confirm_discard(exc.what, save=self.save if exc.saving_helps else None,
                                         then=action)  # the buttons are its hint
        except ProblemsError as exc:  # a file that is not a graph this version can open
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            self.editor.say(f"cannot open {exc.source}: {exc.problems[0]}{more}", Tone.WARNING)
        except ReenactError as exc:
            self.editor.say(exc.message, Tone.WARNING)

    def open_dialog(self) -> None:
        self.dialogs.pick_file("Open a graph preset", lambda path: self.request(lambda: self.editor.open(path)),
                               filters=(PRESETS,))

    def save(self, after: Callable[[], None] | None = None) -> None:
        """Save (an untitled graph: Save As); `after` runs once it saved."""
        if self.editor.document.path is None:
            self.dialogs.save_as(after)
        elif self.editor.attempt(self.editor.save) and after is not None:
            after()

    def quit(self) -> None:
        if self.editor.document.dirty:
            raise UnsavedChanges(f"{self.editor.document.title} has unsaved changes")
        self.quit_requested = True

    def _on_key(self, _sender, key) -> None:
        # typing is input as a mouse move is: at the idle rate the window took a key a frame, 26 keys in 2 s
        self._active_until = time.monotonic() + ACTIVE_AFTER_INPUT_S
        ctrl, shift = self.modifiers.ctrl, self.modifiers.shift
        e = self.editor
        files, edits = {}, {}
        if ctrl:
            files = {dpg.mvKey_S: self.dialogs.save_as if shift else self.save, dpg.mvKey_O: self.open_dialog,
                     dpg.mvKey_P: self.toggle_full_preview, dpg.mvKey_L: self.messages.open}
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


def fit_to_screen(width: int, height: int) -> tuple[int, int]:
    """The window's size, made smaller where the screen's work area is (else it would hang off it)."""
    import glfw  # dearpygui does not say how big the screen is

    if not glfw.init():
        return width, height
    try:
        monitor = glfw.get_primary_monitor()
        if not monitor:
            return width, height
        _, _, area_w, area_h = glfw.get_monitor_workarea(monitor)
    finally:
        glfw.terminate()
    return (min(width, area_w), min(height, area_h)) if area_w > 0 and area_h > 0 else (width, height)


def _widget_in_use() -> bool:
    """Whether a widget holds the keyboard or mouse (the caret in a text field, a slider being dragged):
    then keys are its own, and Delete, Ctrl-V and the like must not act on the canvas."""
    return any(dpg.get_item_state(item).get("active") for item in dpg.get_all_items())
