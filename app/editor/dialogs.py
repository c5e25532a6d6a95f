"""File dialogs and the unsaved-changes question."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.editor.render_job import output_paths, taken_outputs
from app.editor.theme import NOTE_TEXT
from app.runtime.errors import ReenactError

ALL_FILES = ".*"
# A filter of one extension puts it in place of whatever follows the last '.' of a typed name, even in a
# folder's name ('/a.b/x' became '/a.json'); a collection, like this one, leaves the name as typed.
PRESETS = "Graph presets (.json){.json}"
DEFAULT_RENDER_FRAMES = 300  # for sources with no end of their own (a camera, a looping clip)


def centred(width: int, height: int) -> list[int]:
    """Where a dialog of this size sits in the middle of the window (dearpygui puts windows top-left)."""
    return [max(0, (dpg.get_viewport_client_width() - width) // 2),
            max(0, (dpg.get_viewport_client_height() - height) // 2)]


class Dialogs:
    def __init__(self, editor: Editor):
        self._editor = editor
        self._next_frame: list[Callable[[], None]] = []  # see run_deferred
        self._render: dict[str, int] = {}  # the render dialog's items while it is open
        self._render_told = None  # the render job whose end was reported

    def pick_file(self, title: str, on_chosen: Callable[[str], None], extensions: tuple[str, ...] = ()) -> None:
        """Choose an existing file; `extensions` come first in the filter list (the first is shown),
        then every file."""
        start = self._editor.document.graph.base_dir or Path.cwd()

        def chosen(sender, app_data) -> None:
            dpg.delete_item(sender)
            self._next_frame.append(lambda: self._editor.attempt(lambda: on_chosen(chosen_path(app_data))))

        with dpg.file_dialog(label=title, width=720, height=460, modal=True, default_path=str(start),
                             callback=chosen, cancel_callback=lambda s: dpg.delete_item(s)):
            for extension in extensions:
                dpg.add_file_extension(extension, color=(140, 220, 140, 255))
            dpg.add_file_extension(ALL_FILES)

    def run_deferred(self) -> None:
        """What a file dialog's choice leads to, run on the frame after the dialog closed: a window opened
        from its callback (the unsaved-changes question before File > Open) was never shown, as the
        closing modal took it along."""
        waiting, self._next_frame = self._next_frame, []
        for action in waiting:
            action()

    def save_as(self, after: Callable[[], None] | None = None) -> None:
        """Save As; `after` runs once it saved (what a Save answered to the unsaved-changes question was for)."""
        doc = self._editor.document
        # a folder that is not there (graphs/ outside the project) left the dialog listing nothing and saving
        # the name it started with, whatever was typed
        start = next(p for p in (doc.path.parent if doc.path else None, Path.cwd() / "graphs", Path.cwd())
                     if p is not None and p.is_dir())

        def chosen(sender, app_data) -> None:
            dpg.delete_item(sender)
            if app_data.get("file_name"):  # asked on the next frame: the closing file dialog takes a modal along
                path = dialog_path(app_data)
                self._next_frame.append(lambda: self._save_as_unless_it_replaces(path, after))

        with dpg.file_dialog(label="Save graph as", width=720, height=460, modal=True, default_path=str(start),
                             default_filename=doc.path.stem if doc.path else "my_graph",
                             callback=chosen, cancel_callback=lambda s: dpg.delete_item(s)):
            dpg.add_file_extension(PRESETS)

    def _save_as_unless_it_replaces(self, path: Path, after: Callable[[], None] | None = None) -> None:
        """Save as `path`; where that writes over another file, ask first."""
        def save() -> None:
            if self._editor.attempt(lambda: self._editor.save_as(path)) and after is not None:
                after()

        replaced = self._editor.would_replace(path)
        if replaced is None:
            save()
        else:
            self._ask_replace(f"{replaced} already exists. Replace it with this graph?", save)

    def _ask_replace(self, question: str, replace: Callable[[], None]) -> None:
        """Replace / Cancel, before anything writes over an existing file."""
        def answer(yes: bool) -> None:
            dpg.delete_item(modal)
            if yes:
                replace()

        with dpg.window(label="Replace the file?", modal=True, no_collapse=True, width=460,
                        pos=centred(460, 90)) as modal:
            dpg.add_text(question, wrap=440)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Replace", width=120, callback=lambda: answer(True))
                dpg.add_button(label="Cancel", width=120, callback=lambda: answer(False))

    def confirm_discard(self, question: str, save: Callable[[Callable[[], None]], None] | None,
                        then: Callable[[], None]) -> None:
        """Ask Save / Discard / Cancel (no Save where `save` is None); `then` runs after a discard, or once
        `save(after)` has saved (an untitled graph's Save As dialog, left open, does not quit)."""
        def answer(choice: str) -> None:
            dpg.delete_item(modal)
            if choice == "discard":
                self._editor.discard_changes()
                self._editor.attempt(then)
            elif choice == "save":
                save(lambda: self._editor.attempt(then))

        with dpg.window(label="Unsaved changes", modal=True, no_collapse=True, width=420,
                        pos=centred(420, 90)) as modal:
            dpg.add_text(f"{question}. Save them first?" if save else f"{question}.", wrap=400)
            with dpg.group(horizontal=True):
                if save:
                    dpg.add_button(label="Save", width=120, callback=lambda: answer("save"))
                dpg.add_button(label="Discard", width=120, callback=lambda: answer("discard"))
                dpg.add_button(label="Cancel", width=120, callback=lambda: answer("cancel"))


    def render(self) -> None:
        """Render to file: where it writes, how many frames, then a progress bar (and Cancel)."""
        editor = self._editor
        if self._render:
            dpg.focus_item(self._render["window"])
            return
        paths = output_paths(editor.document.graph, editor.registry)
        clip = editor.live.status().clip
        frames = clip.frames if clip is not None and clip.frames and not clip.loops else DEFAULT_RENDER_FRAMES
        size = (560, 170)
        with dpg.window(label="Render to file", no_collapse=True, width=size[0], height=size[1], pos=centred(*size),
                        on_close=self._close_render) as window:
            dpg.add_text("Writes:" if paths else "The graph has no node that writes a file: add an output "
                         "node (Video File Output or Image Sequence) first.", wrap=size[0] - 20)
            for path in paths:
                dpg.add_text(f"  {path}", color=NOTE_TEXT, wrap=size[0] - 20)
            count = dpg.add_input_int(label="frames (at most; a clip that ends sooner stops there)",
                                      default_value=frames, min_value=1, min_clamped=True, width=100)
            bar = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="not started")
            with dpg.group(horizontal=True):
                start = dpg.add_button(label="Render", width=120, enabled=bool(paths),
                                       callback=lambda: self._start_render(dpg.get_value(count)))
                cancel = dpg.add_button(label="Cancel render", width=120, enabled=False,
                                        callback=lambda: editor.render and editor.render.cancel())
                dpg.add_button(label="Close", width=120, callback=self._close_render)
        self._render = {"window": window, "bar": bar, "start": start, "cancel": cancel}

    def _start_render(self, frames: int) -> None:
        """Render, after asking where it would write over files (a render replaces its outputs)."""
        taken = taken_outputs(output_paths(self._editor.document.graph, self._editor.registry))
        if not taken:
            self._render_now(frames)
            return
        them = "it" if len(taken) == 1 else "them"
        self._ask_replace(f"{', '.join(taken)} already {'exists' if len(taken) == 1 else 'exist'}. "
                          f"Replace {them} with this render?", lambda: self._render_now(frames))

    def _render_now(self, frames: int) -> None:
        if self._editor.attempt(lambda: self._editor.render_to_file(frames)):
            dpg.configure_item(self._render["start"], enabled=False)
            dpg.configure_item(self._render["cancel"], enabled=True)

    def _close_render(self) -> None:
        """Closing the dialog leaves a running render running; its end is still reported."""
        if self._render:
            dpg.delete_item(self._render.pop("window"))
            self._render.clear()

    def show_render_progress(self) -> None:
        job = self._editor.render
        if job is None:
            return
        progress = job.progress
        if self._render:
            dpg.set_value(self._render["bar"], progress.fraction)
            dpg.configure_item(self._render["bar"], overlay=progress.summary)
            if progress.finished:
                dpg.configure_item(self._render["start"], enabled=True)
                dpg.configure_item(self._render["cancel"], enabled=False)
        if progress.finished and self._render_told is not job:
            self._render_told = job
            self._editor.render_finished()


def dialog_path(app_data: dict) -> Path:
    """The path a file dialog answered: a name typed in full is used as typed (dearpygui's `file_path_name`
    puts the dialog's folder before it, '/a/x' in /home/me being /home/me//a/x), one typed in part is in the
    dialog's folder."""
    return Path(app_data["current_path"]) / Path(app_data["file_name"]).expanduser()


def chosen_path(app_data: dict) -> str:
    """The file chosen in a file dialog. Under the every-file filter dearpygui reports `name.*` for
    `name.png`: the file clicked in the list keeps its real name in `selections`; a name typed is the one
    file of that name in its folder, whatever its extension."""
    path = dialog_path(app_data)
    if app_data["current_filter"] != ALL_FILES:
        return str(path)
    clicked = [p for p in map(Path, app_data["selections"].values()) if (p.parent, p.stem) == (path.parent, path.stem)]
    return str(clicked[0]) if clicked else str(_typed_file(path))


def _typed_file(path: Path) -> Path:
    """The file `path` (`folder/name.*`) names: the dialog dropped the extension typed, so any will do,
    as long as only one file in the folder has the name."""
    folder, name = path.parent, path.stem
    if not folder.is_dir():
        raise ReenactError(f"there is no folder {folder}", hint="check the path typed, or click the file in the list")
    try:
        found = sorted(p.name for p in folder.iterdir() if name in (p.name, p.stem) and p.is_file())
    except OSError as exc:
        raise ReenactError(f"cannot read the folder {folder}: {exc.strerror}", hint="click the file in the list") \
            from None
    if len(found) == 1:
        return folder / found[0]
    if not found:
        raise ReenactError(f"no file named {name} in {folder}",
                           hint="check the name typed, or click the file in the list")
    raise ReenactError(f"{len(found)} files in {folder} are named {name} ({', '.join(found)}), and the dialog drops "
                       "the extension typed while every file is shown", hint="click the one you mean in the list")
