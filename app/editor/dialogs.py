"""File dialogs and the unsaved-changes question."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor, preset_file
from app.editor.file_browser import EVERY_FILE, FileBrowser, Filter, centred
from app.editor.notes import Tone
from app.editor.render_job import FRAMES, output_paths, render_frames, taken_outputs
from app.editor.theme import NOTE_TEXT
from app.runtime.errors import ReenactError

PRESETS = Filter("Graph presets (*.json)", (".json",))


class Dialogs:
    def __init__(self, editor: Editor):
        self._editor = editor
        self._next_frame: list[Callable[[], None]] = []  # see run_deferred
        self._render: dict[str, int] = {}  # the render dialog's items while it is open
        self._render_told = None  # the render job whose end was reported
        self.browser: FileBrowser | None = None  # the file dialog opened last

    def pick_file(self, title: str, on_chosen: Callable[[Path], None], filters: tuple[Filter, ...] = (),
                  near: Path | None = None) -> None:
        """Choose an existing file; `filters` come first in the filter list (the first is shown), then every
        file. It opens in the folder of `near` (the file a param names now) where that is there, else the
        graph's own (a portrait picked again had to be looked for from the preset's folder each time)."""
        start = near.parent if near is not None and near.parent.is_dir() else \
            self._editor.document.graph.base_dir or Path.cwd()
        self._browse(title, start, [*filters, EVERY_FILE], lambda path: self._editor.attempt(lambda: on_chosen(path)),
                     name=near.name if near is not None and near.is_file() else "")

    def save_as(self, after: Callable[[], None] | None = None, again: Path | None = None) -> None:
        """Save As; `after` runs once it saved (what a Save answered to the unsaved-changes question was for).
        again: the file chosen before, which was not saved (Cancel to replacing it, a name the system refused):
        the dialog opens on it, as chosen, instead of starting over."""
        doc = self._editor.document
        chosen = again or doc.path
        # a folder that is not there (graphs/ outside the project) left the dialog listing nothing and saving
        # the name it started with, whatever was typed
        start = next(p for p in (chosen.parent if chosen else None, Path.cwd() / "graphs", Path.cwd())
                     if p is not None and p.is_dir())
        self._browse("Save graph as", start, [PRESETS], lambda path: self._save_as_unless_it_replaces(path, after),
                     name=chosen.name.removesuffix(".json") if chosen else "my_graph", must_exist=False)

    def _browse(self, title: str, start: Path, filters: list[Filter], on_chosen: Callable[[Path], None],
                **options) -> None:
        """A file dialog, opened on the next frame; what its choice leads to runs on the frame after it closed:
        a modal opened as another closed (Save As from Save answered to the unsaved-changes question, that
        question from a file chosen to open) was taken along and never shown."""
        def chosen(path: Path) -> None:
            self._next_frame.append(lambda: on_chosen(path))

        def browse() -> None:
            if self.browser is None or not self.browser.is_open():  # one at a time: Ctrl-O twice in a frame
                self.browser = FileBrowser(title, start, filters, chosen, **options)

        self._next_frame.append(browse)

    def run_deferred(self) -> None:
        """What was put off to the next frame (see `_browse`)."""
        waiting, self._next_frame = self._next_frame, []
        for action in waiting:
            action()

    def _save_as_unless_it_replaces(self, path: Path, after: Callable[[], None] | None = None) -> None:
        """Save as `path`; where that writes over another file, ask first."""
        path = preset_file(path)

        def save() -> None:
            if self._editor.attempt(lambda: self._editor.save_as(path)) and after is not None:
                after()

        try:
            replaced = self._editor.would_replace(path)
        except OSError as exc:  # a name too long once '.json' is added had ended the editor
            self._editor.say(f"could not save {path}: {exc.strerror or type(exc).__name__}", Tone.WARNING)
            self.save_as(after, again=path)
            return
        if replaced is None:
            save()
        else:
            self._ask_replace(f"{replaced} already exists. Replace it with this graph?", save,
                              declined=lambda: self.save_as(after, again=path))

    def _ask_replace(self, question: str, replace: Callable[[], None],
                     declined: Callable[[], None] | None = None) -> None:
        """Replace / Cancel, before anything writes over an existing file; `declined` runs on Cancel (Save As
        goes back to its dialog: it had dropped it, and the name typed, so the user started over)."""
        def answer(yes: bool) -> None:
            dpg.delete_item(modal)
            if yes:
                replace()
            elif declined is not None:
                declined()

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
        frames = clip.frames if clip is not None and clip.frames and not clip.loops else FRAMES.default
        size = (560, 170)
        with dpg.window(label="Render to file", no_collapse=True, width=size[0], height=size[1], pos=centred(*size),
                        on_close=self._close_render) as window:
            dpg.add_text("Writes:" if paths else "The graph has no node that writes a file: add an output "
                         "node (Video File Output or Image Sequence) first.", wrap=size[0] - 20)
            for path in paths:
                dpg.add_text(f"  {path}", color=NOTE_TEXT, wrap=size[0] - 20)
            count = dpg.add_input_text(label="frames (at most; a clip that ends sooner stops there)",
                                       default_value=str(frames), width=100)
            bar = dpg.add_progress_bar(default_value=0.0, width=-1, overlay="not started")
            with dpg.group(horizontal=True):
                start = dpg.add_button(label="Render", width=120, enabled=bool(paths),
                                       callback=lambda: self._start_render(dpg.get_value(count)))
                cancel = dpg.add_button(label="Cancel render", width=120, enabled=False,
                                        callback=lambda: editor.render and editor.render.cancel())
                dpg.add_button(label="Close", width=120, callback=self._close_render)
        self._render = {"window": window, "bar": bar, "start": start, "cancel": cancel}

    def _start_render(self, typed: str) -> None:
        """Render, after asking where it would write over files (a render replaces its outputs); a frame count
        that is not one is refused first."""
        try:
            frames = render_frames(typed)
        except ReenactError as exc:
            self._editor.say(exc.message, Tone.WARNING)
            return
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
