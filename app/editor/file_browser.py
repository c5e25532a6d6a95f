"""The editor's own file dialog. dearpygui's (ImGuiFileDialog) listed a folder in no useful order ('zeta'
above 'Alpha', '..' last), showed every hidden entry, and rewrote a typed name: under a one-extension
filter '/tmp/my.graphs/a' became '/tmp/my.json', and under every-file it answered 'name.*'.

Here folders come first, then files, each by name whatever its case; '..' heads the list; entries whose
name starts with '.' show once the name typed starts with '.'; a name typed is used as typed (in full,
or in the listed folder). A click selects an entry, a double click opens a folder or takes a file; OK
takes the name typed (a folder typed is opened); Escape or Cancel closes it."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import dearpygui.dearpygui as dpg

from app.editor.theme import ERROR_TEXT, NOTE_TEXT
from app.runtime.errors import ReenactError

SIZE = (720, 460)
UP = ".."
LIST_LIMIT = 2000  # entries listed at most (a widget each): a folder may hold tens of thousands
DOUBLE_CLICK_S = 0.6  # between the two clicks of a double click, as the UI thread sees them (a frame late)
FOLDER_TEXT = (150, 190, 255)


def centred(width: int, height: int) -> list[int]:
    """Where a dialog of this size sits in the middle of the window (dearpygui puts windows top-left)."""
    return [max(0, (dpg.get_viewport_client_width() - width) // 2),
            max(0, (dpg.get_viewport_client_height() - height) // 2)]


@dataclass(frozen=True)
class Filter:
    label: str
    extensions: tuple[str, ...] = ()  # lower case, with the dot; none: every file

    def takes(self, name: str) -> bool:
        return not self.extensions or name.lower().endswith(self.extensions)


EVERY_FILE = Filter("All files (*)")


@dataclass(frozen=True)
class Entry:
    name: str
    is_dir: bool

    @property
    def label(self) -> str:
        return self.name if self.name == UP or not self.is_dir else self.name + "/"


def listing(folder: Path, shown: Filter, hidden: bool = False) -> list[Entry]:
    """What the dialog lists in `folder`: '..' (but at the root), then its folders, then the files `shown`
    takes, each group by name whatever its case; names starting with '.' only when `hidden`.
    Raises ReenactError when the folder cannot be read."""
    try:
        found = [(path.name, path.is_dir()) for path in folder.iterdir()]
    except OSError as exc:
        raise ReenactError(f"cannot list {folder}: {exc.strerror or type(exc).__name__}",
                           hint="go up, or type a path") from None
    entries = sorted((Entry(name, is_dir) for name, is_dir in found
                      if (hidden or not name.startswith(".")) and (is_dir or shown.takes(name))),
                     key=lambda e: (not e.is_dir, e.name.casefold(), e.name))
    return ([Entry(UP, True)] if folder.parent != folder else []) + entries


def typed_path(folder: Path, text: str) -> Path:
    """A name typed: in full (from '/' or '~') as typed, else in `folder`; '..' goes up."""
    try:
        typed = Path(text.strip()).expanduser()
    except RuntimeError:  # '~name' of a user there is not: it had ended the editor
        user = text.strip()[1:].split("/")[0]
        raise ReenactError(f"there is no user {user!r} ('~{user}' is that user's home folder)") from None
    return typed if typed.is_absolute() else folder / typed


def shows_hidden(typed: str) -> bool:
    """Whether entries starting with '.' are listed for the name typed: it starts with '.' (not '..')."""
    typed = typed.lstrip()
    return typed.startswith(".") and not typed.startswith(UP)


def typed_choice(folder: Path, text: str, shown: Filter, must_exist: bool) -> Path:
    """What OK makes of the name typed: a folder to open, or the file to take. Raises ReenactError saying
    why it is neither; a name the system refuses (too long, in a folder it may not look into) had ended
    the editor."""
    path = typed_path(folder, text)
    try:
        if path.is_dir():
            return path
        if text.rstrip().endswith("/"):  # typed as a folder: Save As had saved 'name.json' beside it
            raise ReenactError(f"there is no folder {path}")
        path = chosen_file(path, shown, must_exist)
        if must_exist and not path.is_file():
            raise ReenactError(f"there is no file {path}" if path.parent.is_dir() else
                               f"there is no folder {path.parent}")
    except OSError as exc:
        raise ReenactError(f"cannot use {path}: {exc.strerror or type(exc).__name__}") from None
    return path


def chosen_file(path: Path, shown: Filter, must_exist: bool) -> Path:
    """The file a typed path names: itself; for a file to open, one that is not there but is with one of
    the filter's extensions after its name ('a' for 'a.json', the dots of its folders left alone)."""
    if not must_exist or path.exists():
        return path
    return next((with_ext for with_ext in (path.with_name(path.name + ext) for ext in shown.extensions)
                 if with_ext.is_file()), path)


class FileBrowser:
    """A modal file dialog; `on_chosen(path)` runs once a file is taken (not on Cancel)."""

    def __init__(self, title: str, folder: Path, filters: list[Filter], on_chosen: Callable[[Path], None],
                 name: str = "", must_exist: bool = True):
        self._filters, self._on_chosen, self._must_exist = filters, on_chosen, must_exist
        self._shown = filters[0]
        self.folder = folder.resolve()
        self._entries: dict[int, Entry] = {}  # selectable -> entry
        self._selected: Entry | None = None
        self._last_click: tuple[int, float] = (0, 0.0)  # (selectable, when): see _on_click
        self._hidden = shows_hidden(name)
        width, height = SIZE
        with dpg.theme() as self._folder_theme, dpg.theme_component(dpg.mvSelectable):
            dpg.add_theme_color(dpg.mvThemeCol_Text, FOLDER_TEXT)
        with dpg.window(label=title, modal=True, no_collapse=True, width=width, height=height, pos=centred(*SIZE),
                        on_close=self.close) as self.window:
            self._where = dpg.add_text("", color=NOTE_TEXT, wrap=width - 30)
            self._list = dpg.add_child_window(height=-82)
            self._note = dpg.add_text("", color=ERROR_TEXT, wrap=width - 30)
            with dpg.group(horizontal=True):
                dpg.add_text("File name")
                self.name_field = dpg.add_input_text(default_value=name, width=-230, on_enter=True,
                                                     callback=lambda: self.accept())
                dpg.add_combo([f.label for f in filters], default_value=self._shown.label, width=-1,
                              callback=lambda s, label: self._set_filter(label))
            with dpg.group(horizontal=True):
                dpg.add_button(label="OK", width=100, callback=lambda: self.accept())
                dpg.add_button(label="Cancel", width=100, callback=self.close)
        with dpg.item_handler_registry() as self._handlers:  # a name starting with '.' shows hidden entries
            dpg.add_item_edited_handler(callback=self._on_name_typed)
        dpg.bind_item_handler_registry(self.name_field, self._handlers)
        with dpg.handler_registry() as self._keys:  # Escape cancels, as in any file dialog
            dpg.add_key_press_handler(dpg.mvKey_Escape, callback=self.close)
        self._show_folder(self.folder)
        dpg.focus_item(self.name_field)  # typing goes to the name at once: it had gone nowhere until a click

    # ----------------------------------------------------------------- reading it back (tests)
    def labels(self) -> list[str]:
        return [entry.label for entry in self._entries.values()]

    def entry_item(self, label: str) -> int:
        return next(item for item, entry in self._entries.items() if entry.label == label)

    # ----------------------------------------------------------------- actions
    def accept(self) -> None:
        """OK, or Return in the name field: a folder typed (or, with no name typed, selected) is opened,
        a file is taken."""
        text = dpg.get_value(self.name_field).strip()
        if not text and self._selected is not None and self._selected.is_dir:
            self._show_folder(self.folder / self._selected.name)
            return
        if not text:
            self._say("type a name, or pick one in the list")
            return
        try:
            path = typed_choice(self.folder, text, self._shown, self._must_exist)
        except ReenactError as exc:
            self._say(exc.message)
            return
        if path.is_dir():
            dpg.set_value(self.name_field, "")  # hidden entries go with the '.' typed
            if not self._show_folder(path):
                dpg.set_value(self.name_field, text)
            return
        self.close()
        self._on_chosen(path)

    def is_open(self) -> bool:
        return dpg.does_item_exist(self.window)

    def close(self) -> None:
        if self.is_open():
            dpg.delete_item(self.window)
            dpg.delete_item(self._handlers)
            dpg.delete_item(self._keys)
            dpg.delete_item(self._folder_theme)

    def _show_folder(self, folder: Path) -> bool:
        """List `folder`; one that cannot be read is said, and the one listed stays (False)."""
        folder, hidden = folder.resolve(), shows_hidden(dpg.get_value(self.name_field))
        try:
            entries = listing(folder, self._shown, hidden)
        except ReenactError as exc:
            self._say(exc.message)
            return False
        self.folder, self._selected, self._hidden = folder, None, hidden
        dpg.set_value(self._where, f"in {folder}")
        dpg.delete_item(self._list, children_only=True)
        self._entries.clear()
        for entry in entries[:LIST_LIMIT]:
            item = dpg.add_selectable(label=entry.label, parent=self._list, callback=self._on_click)
            if entry.is_dir:
                dpg.bind_item_theme(item, self._folder_theme)
            self._entries[item] = entry
        more = len(entries) - LIST_LIMIT
        self._say(f"{more} more entries are not listed: type the name" if more > 0 else "", tone=NOTE_TEXT)
        return True

    def _on_click(self, sender: int) -> None:
        """A click selects (a file's name goes in the name field; a folder leaves the name typed, to save
        it there); a second click on the same entry opens it."""
        for item in self._entries:
            dpg.set_value(item, item == sender)
        entry = self._selected = self._entries[sender]
        now = time.monotonic()
        twice = self._last_click[0] == sender and now - self._last_click[1] < DOUBLE_CLICK_S
        self._last_click = (0, 0.0) if twice else (sender, now)
        if not entry.is_dir:
            dpg.set_value(self.name_field, entry.name)
            if twice:
                self.accept()
        elif twice:
            self._show_folder(self.folder / entry.name)

    def _on_name_typed(self) -> None:
        if shows_hidden(dpg.get_value(self.name_field)) != self._hidden:
            self._show_folder(self.folder)

    def _set_filter(self, label: str) -> None:
        self._shown = next(f for f in self._filters if f.label == label)
        self._show_folder(self.folder)

    def _say(self, text: str, tone: tuple[int, int, int] = ERROR_TEXT) -> None:
        dpg.set_value(self._note, text)
        dpg.configure_item(self._note, color=tone)
