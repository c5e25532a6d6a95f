"""File dialogs and the unsaved-changes question."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.actions import Editor
from app.runtime.errors import ReenactError

ALL_FILES = ".*"


class Dialogs:
    def __init__(self, editor: Editor):
        self._editor = editor

    def pick_file(self, title: str, on_chosen: Callable[[str], None], extensions: tuple[str, ...] = ()) -> None:
        """Choose an existing file; `extensions` come first in the filter list (the first is shown),
        then every file."""
        start = self._editor.document.graph.base_dir or Path.cwd()

        def chosen(sender, app_data) -> None:
            dpg.delete_item(sender)
            self._editor.attempt(lambda: on_chosen(chosen_path(app_data)))

        with dpg.file_dialog(label=title, width=720, height=460, modal=True, default_path=str(start),
                             callback=chosen, cancel_callback=lambda s: dpg.delete_item(s)):
            for extension in extensions:
                dpg.add_file_extension(extension, color=(140, 220, 140, 255))
            dpg.add_file_extension(ALL_FILES)

    def save_as(self) -> None:
        doc = self._editor.document
        start = doc.path.parent if doc.path else Path.cwd() / "graphs"

        def chosen(sender, app_data) -> None:
            path = app_data.get("file_path_name", "")
            dpg.delete_item(sender)
            if path:
                self._editor.attempt(lambda: self._editor.save_as(path))

        with dpg.file_dialog(label="Save graph as", width=720, height=460, modal=True, default_path=str(start),
                             default_filename=doc.path.stem if doc.path else "my_graph",
                             callback=chosen, cancel_callback=lambda s: dpg.delete_item(s)):
            dpg.add_file_extension(".json")

    def confirm_discard(self, question: str, save: Callable[[], bool], then: Callable[[], None]) -> None:
        """Ask Save / Discard / Cancel; `then` runs after a save or a discard."""
        def answer(choice: str) -> None:
            dpg.delete_item(modal)
            if choice == "save" and not save():
                return
            if choice == "discard":
                self._editor.discard_changes()
            if choice != "cancel":
                self._editor.attempt(then)

        with dpg.window(label="Unsaved changes", modal=True, no_collapse=True, width=420) as modal:
            dpg.add_text(f"{question}. Save them first?", wrap=400)
            with dpg.group(horizontal=True):
                dpg.add_button(label="Save", width=120, callback=lambda: answer("save"))
                dpg.add_button(label="Discard", width=120, callback=lambda: answer("discard"))
                dpg.add_button(label="Cancel", width=120, callback=lambda: answer("cancel"))


def chosen_path(app_data: dict) -> str:
    """The file chosen in a file dialog. Under the every-file filter dearpygui reports `name.*` for
    `name.png`; the file clicked in the list keeps its real name in `selections`."""
    path = Path(app_data["file_path_name"])
    if app_data["current_filter"] != ALL_FILES:
        return str(path)
    clicked = [p for p in app_data["selections"].values() if Path(p).stem == path.stem]
    if not clicked:
        raise ReenactError(f"the dialog did not say which file '{path.name}' is (a name typed while every file "
                           f"is shown loses its extension)", hint="click the file in the list")
    return clicked[0]
