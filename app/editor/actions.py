"""Everything a user can do in the editor, as plain methods. The UI binds these and nothing else, and
the tests call them directly. No dearpygui here. Files and graph edits are here; the preview and the
transport (play, seek, record, Render to file) are in app/editor/playback.py.
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

from app.editor.storage import EditorStorage
from app.editor.document import Clip, Document, Position
from app.editor.live import LiveGraph
from app.editor.notes import Message, Tone
from app.editor.playback import Playback, PreviewChoice
from app.editor.render_job import RenderJob
from app.presets import Preset, load_preset, parse_preset, save_preset
from app.runtime.errors import GraphError, ProblemsError, ReenactError
from app.runtime.graph import Endpoint, Graph, Link
from app.runtime.options import Options, resolve
from app.runtime.paths import portable_asset_path
from app.runtime.registry import Registry
from app.runtime.scheduler import bypass_routes
from app.runtime.schema import ParamKind, PathRole

AUTOSAVE_SECONDS = 5.0
PASTE_OFFSET = (40.0, 40.0)
FRAME_MARGIN = 30.0
MESSAGE_HISTORY = 500


def preset_file(path: str | Path) -> Path:
    """Where a graph saved as `path` goes: a preset is a .json file, '.json' put after the whole name
    ('take.v2' had been saved as take.json, over that file when the user answered Replace)."""
    path = Path(path)
    return path if path.suffix.lower() == ".json" else path.with_name(path.name + ".json")


class UnsavedChanges(ReenactError):
    """Raised instead of dropping edits; the UI asks the user, then calls again with discard=True.
    saving_helps: whether saving them first keeps them (not before Revert, which reloads the file)."""

    def __init__(self, what: str, hint: str = "", saving_helps: bool = True):
        super().__init__(what, hint=hint)
        self.saving_helps = saving_helps


class Editor(Playback):
    """The editor's state and actions. `structure_revision` bumps whenever the canvas must be redrawn
    from the document (anything but a param edit or a move made on the canvas itself)."""

    def __init__(self, registry: Registry, live: LiveGraph | None = None, options: Options | None = None):
        self.registry = registry
        self.options = options = options or resolve()
        self.storage = EditorStorage(options.state_dir)
        self.live = live or LiveGraph(registry, options)
        self.document = Document(registry)
        self.selection: list[str] = []
        self.preview = PreviewChoice()
        self.clipboard: Clip | None = None
        self.structure_revision = 0
        self.messages: deque[Message] = deque(maxlen=MESSAGE_HISTORY)  # what was said to the user, newest last
        self.problems: list[str] = []  # why `reenact run` refuses the saved file (the editor runs it)
        self.recovered = False  # the document holds edits recovered from an autosave (`open`)
        self.recording = False
        self.render: RenderJob | None = None  # the newest Render to file, running or finished
        self._autosaved_revision = 0
        self._last_autosave = time.monotonic()

    def say(self, text: str, tone: Tone = Tone.OK, node: str | None = None) -> None:
        """Tell the user something: the status bar shows the newest message, the message log all of
        them (with the node that said it, for the running graph's messages)."""
        self.messages.append(Message(text, tone, node=node))

    def attempt(self, action: Callable[[], object]) -> bool:
        """Run a UI action; a refusal (ReenactError) goes to the status bar instead of up the stack."""
        try:
            action()
        except ReenactError as exc:
            self.say(exc.message, Tone.WARNING)
            return False
        return True

    # ----------------------------------------------------------------- files
    def new(self, discard: bool = False) -> None:
        self._guard(discard)
        self._adopt(Document(self.registry), "new graph")

    def open(self, path: str | Path, discard: bool = False, use_autosave: bool = True) -> None:
        """Open a preset; raises ProblemsError when it cannot be read as a graph (the current document
        stays). Unsaved changes from an earlier crash are recovered from the autosave. A file that cannot
        be opened says so before unsaved changes are asked about: discarded for it, they were lost."""
        path = Path(path)
        preset = load_preset(path, self.registry)
        self._guard(discard)
        recovered = self.storage.newer_autosave(path) if use_autosave else None
        damaged = None
        if recovered is not None:
            autosaved, damaged = self._read_autosave(recovered, path)
            preset = autosaved or preset
            recovered = recovered if autosaved else None
        document = Document(self.registry, preset, path)
        self._adopt(document, f"opened {path}")
        self._tell_problems([str(p) for p in preset.problems], path)
        if damaged is not None:
            self.say(damaged, Tone.WARNING)
        self.recovered = recovered is not None  # said in the status bar while they stay unsaved
        if recovered is not None:
            document.saved_revision = None  # recovered edits are unsaved until the user saves
            self.say(f"recovered unsaved changes to {path.name} from the autosave; save to keep them "
                     f"or use File > Revert", Tone.WARNING)
        self.storage.remember_recent(path)

    def revert(self, discard: bool = False) -> None:
        """Throw away unsaved changes (and the autosave) and reload the file from disk; asked first
        (UnsavedChanges) when there are any."""
        if self.document.path is None:
            raise ReenactError("an untitled graph has no file to revert to", hint="use File > New")
        if self.document.dirty and not discard:
            raise UnsavedChanges(f"Revert to saved drops the unsaved changes to {self.document.title}",
                                 hint="discard them, or cancel", saving_helps=False)
        self.storage.autosave_path(self.document.path).unlink(missing_ok=True)
        self.open(self.document.path, discard=True, use_autosave=False)

    def discard_changes(self) -> None:
        """The user chose to drop the unsaved edits: forget them and their autosave."""
        self.storage.autosave_path(self.document.path).unlink(missing_ok=True)
        self.document.saved_revision = self.document.revision

    def save(self) -> Path:
        if self.document.path is None:
            raise ReenactError("this graph has no file yet", hint="use Save As (Ctrl-Shift-S) to choose one")
        return self.save_as(self.document.path)

    def save_as(self, path: str | Path) -> Path:
        path = preset_file(path)
        if path.is_dir():
            raise ReenactError(f"{path} is a folder", hint="give the graph a file name; your changes are still here")
        if not path.parent.exists():  # a folder typed wrong is not made: the graph would be saved where no one looks
            raise ReenactError(f"could not save {path.name}: there is no folder {path.parent}",
                               hint="create the folder first, or choose one that exists; your changes are still here")
        self.remember_preview()
        preset = self.document.to_preset()
        self._rebase_asset_paths(preset.graph, path.resolve().parent)
        try:
            save_preset(preset, path)
        except OSError as exc:
            raise ReenactError(f"could not save: {exc.strerror}", where=str(path),
                               hint="choose a folder you can write to; your changes are still here") from None
        self.storage.autosave_path(self.document.path).unlink(missing_ok=True)
        self.document.mark_saved(path)
        self.recovered = False  # saved: nothing recovered is unsaved any more
        for node_id, spec in preset.graph.nodes.items():  # the same files, named from the new folder
            self.document.graph.nodes[node_id].params.update(spec.params)
        self.document.graph.base_dir = path.resolve().parent
        self._tell_problems([str(p) for p in parse_preset(path.read_text(), self.registry, path.parent).problems], path)
        self.storage.remember_recent(path)
        outside = [f"{spec.id}.{name}" for spec in preset.graph.nodes.values() for name, value in spec.params.items()
                   if value and self._reads_a_file(spec.id, name) and Path(value).is_absolute()]
        if outside:  # the editor runs it, but the command line would not: said short, the advice first
            self.say(f"saved {path}; to run it with `reenact run`, copy the file {outside[0]} names beside it "
                     f"(or into assets/), or give it with --set {outside[0]}=...: a preset names only files "
                     f"there", Tone.WARNING)
        elif self.problems:
            self.say(f"saved {path}, but `reenact run` refuses it: {self.problems[0]}", Tone.WARNING)
        else:
            self.say(f"saved {path}")
        return path

    def _tell_problems(self, problems: list[str], path: Path) -> None:
        """Keep why `reenact run` refuses the file at `path`, each said in full in the message log (the
        status bar only points there)."""
        self.problems = problems
        for problem in problems:
            self.say(f"`reenact run` refuses {path.name} as it is: {problem}", Tone.NOTE)

    def would_replace(self, path: str | Path) -> Path | None:
        """The file Save As to `path` would write over, when that is another file than this graph's own."""
        path, own = preset_file(path), self.document.path
        if path.is_file() and (own is None or not own.exists() or not path.samefile(own)):
            return path
        return None

    def _rebase_asset_paths(self, graph: Graph, folder: Path) -> None:
        """Before `graph` (the document's, copied to be saved) is saved into `folder`: each file it reads
        named so that a preset there finds it (a path relative to the folder it was opened from, or typed
        in full, would name another file or none). Not an edit: the graph reads the same files."""
        for spec in graph.nodes.values():
            for name, value in spec.params.items():
                if value and self._reads_a_file(spec.id, name):
                    spec.params[name] = portable_asset_path(value, graph.base_dir, folder)

    def autosave(self, force: bool = False) -> Path | None:
        """Write the document to its autosave file when it changed since the last autosave (called
        every frame by the UI; writes at most every AUTOSAVE_SECONDS)."""
        doc = self.document
        due = force or time.monotonic() - self._last_autosave >= AUTOSAVE_SECONDS
        if doc.revision == self._autosaved_revision or not due:
            return None
        target = self.storage.autosave_path(doc.path)
        if not doc.dirty:  # undone back to the saved state: nothing left to recover
            target.unlink(missing_ok=True)
            self._autosaved_revision = doc.revision
            return None
        try:
            save_preset(doc.to_preset(), target)
        except OSError as exc:
            self.say(f"autosave failed ({exc.strerror}); save your work with Ctrl-S", Tone.WARNING)
            return None
        self._autosaved_revision, self._last_autosave = doc.revision, time.monotonic()
        return target

    # ----------------------------------------------------------------- graph edits
    def add_node(self, type_id: str, pos: Position | None = None) -> str:
        node_id = self.document.add_node(type_id, pos)
        self.selection = [node_id]
        self._structure_changed()
        return node_id

    def link(self, source: Endpoint, target: Endpoint) -> Link | None:
        """Connect; a refused link (mismatched types, a cycle) returns None and says why."""
        try:
            link = self.document.connect(source, target)
        except GraphError as exc:
            self.say(exc.message, Tone.WARNING)
            return None
        self.say(f"linked {source} to {target}")
        self._structure_changed()
        return link

    def unlink(self, link: Link) -> None:
        self.document.disconnect(link)
        self._structure_changed()

    def delete(self, node_ids: list[str] | None = None) -> None:
        node_ids = list(self.selection if node_ids is None else node_ids)
        self.document.remove_nodes(node_ids)
        self.selection = [n for n in self.selection if n not in node_ids]
        self._drop_preview_of(node_ids)
        self._structure_changed()

    def rename(self, node_id: str, new_id: str) -> str:
        """Give a node another id; the running graph opens it anew under it (a clip starts again)."""
        new_id = self.document.rename_node(node_id, new_id)
        if new_id != node_id:
            self.selection = [new_id if n == node_id else n for n in self.selection]
            for side in ("a", "b"):
                shown = getattr(self.preview, side)
                if shown is not None and shown.node == node_id:
                    setattr(self.preview, side, Endpoint(new_id, shown.port))
            self._structure_changed()
            self._watch_preview()
            self.say(f"renamed '{node_id}' to '{new_id}'")
        return new_id

    def move(self, positions: dict[str, Position]) -> None:
        """Record positions the canvas already shows (no redraw)."""
        self.document.move_nodes(positions)

    def frame_all(self) -> None:
        """Bring every node into view: the layout moves so its top-left corner is at the margin
        (dearpygui's node editor has no panning call, so the nodes move instead of the view)."""
        layout = self.document.layout
        if not layout:
            return
        x0, y0 = min(x for x, _ in layout.values()), min(y for _, y in layout.values())
        self.document.move_nodes({n: (x - x0 + FRAME_MARGIN, y - y0 + FRAME_MARGIN) for n, (x, y) in layout.items()})
        self.structure_revision += 1

    def select(self, node_ids: list[str]) -> None:
        self.selection = [n for n in node_ids if n in self.document.graph.nodes]

    def copy(self, node_ids: list[str] | None = None) -> int:
        clip = self.document.copy_nodes(list(self.selection if node_ids is None else node_ids))
        if clip is not None:
            self.clipboard = clip
        return len(clip.nodes) if clip else 0

    def paste(self, at: Position | None = None) -> list[str]:
        if self.clipboard is None:
            self.say("nothing to paste: copy nodes first (Ctrl-C)")
            return []
        if at is None:
            x, y = self.document.layout.get(self.clipboard.nodes[0].id, (40.0, 40.0))
            at = (x + PASTE_OFFSET[0], y + PASTE_OFFSET[1])
        self.selection = self.document.paste(self.clipboard, at)
        self._structure_changed()
        return self.selection

    def duplicate(self, node_ids: list[str] | None = None) -> list[str]:
        saved = self.clipboard
        try:
            return self.paste() if self.copy(node_ids) else []
        finally:
            self.clipboard = saved  # duplicating leaves the clipboard as it was

    def undo(self) -> None:
        self._travel(self.document.undo(), "undo")

    def redo(self) -> None:
        self._travel(self.document.redo(), "redo")

    # ----------------------------------------------------------------- node edits (live)
    def set_param(self, node_id: str, name: str, value: Any, from_text: bool = False) -> Any:
        """Store the value (coerced; ParamError when it does not fit) and apply it at the next frame.
        from_text: `value` is text typed into a field, read whole as `--set` reads it ('8q9' is no number)."""
        value = self.document.set_param(node_id, name, value, from_text)
        self.live.set_param(node_id, name, value)
        if self._reads_a_file(node_id, name):  # else the old picture stays up a few seconds as if ignored
            self.say(f"{node_id}: {value} is shown once the graph has read it (a portrait takes a second or two, "
                     "more on a busy machine)", Tone.NOTE)
        return value

    def _reads_a_file(self, node_id: str, name: str) -> bool:
        node_class = self.registry.get(self.document.graph.nodes[node_id].type)
        param = node_class.schema.param(name) if node_class is not None else None
        return param is not None and param.kind is ParamKind.PATH and param.role is PathRole.ASSET

    def set_path_param(self, node_id: str, name: str, chosen: str | Path) -> Any:
        """A file picked in a dialog: stored relative to assets/ or the preset's folder when it lies
        inside one, so the preset still loads on another machine."""
        base = self.document.graph.base_dir
        value = self.set_param(node_id, name, portable_asset_path(str(Path(chosen).resolve()), None, base))
        if Path(value).is_absolute():
            self.say(f"{value} is outside assets/ and the preset's folder: it runs here, but `reenact run` "
                     f"refuses the saved preset; copy the file beside the preset or into assets/", Tone.WARNING)
        return value

    def toggle_bypass(self, node_id: str) -> bool:
        spec = self.document.graph.nodes[node_id]
        node_class = self.registry.get(spec.type)
        if not spec.bypassed and (node_class is None or bypass_routes(node_class.schema) is None):
            self.say(f"'{node_id}' cannot be bypassed: an output has no input of its type to pass on", Tone.WARNING)
            return False
        self.document.set_bypass(node_id, not spec.bypassed)
        self._structure_changed()
        return True

    def run_action(self, node_id: str, action: str) -> None:
        self.live.trigger(node_id, action)
        self.say(f"{node_id}: {action.replace('_', ' ')}")

    def close(self) -> None:
        self.autosave(force=True)
        if self.render is not None:
            self.render.cancel()
            self.render.wait(30.0)  # its files are finalized, not left half written
        self.live.shutdown()

    # ----------------------------------------------------------------- helpers
    def _guard(self, discard: bool) -> None:
        if self.document.dirty and not discard:
            raise UnsavedChanges(f"{self.document.title} has unsaved changes",
                                 hint="save them first, or discard them")

    def _adopt(self, document: Document, message: str) -> None:
        self.document = document
        self.selection, self.problems, self.recovered = [], [], False
        self.say(message)
        self._autosaved_revision = document.revision
        self.preview = PreviewChoice()
        self.live.set_graph(document.graph, restart=True)
        self.live.watch([])
        self.restore_preview()
        self.structure_revision += 1

    def _read_autosave(self, autosave: Path, path: Path) -> tuple[Preset | None, str | None]:
        """(the autosaved preset, None), or (None, what to tell) when it is damaged: then it is moved
        aside, never used and never deleted, and the saved file opens instead."""
        try:
            return parse_preset(autosave.read_text(encoding="utf-8"), self.registry, path.resolve().parent,
                                source=str(autosave)), None
        except (OSError, UnicodeDecodeError, ProblemsError) as exc:
            reason = exc.problems[0] if isinstance(exc, ProblemsError) and exc.problems else \
                getattr(exc, "strerror", None) or type(exc).__name__
            kept = self.storage.set_aside(autosave)
            where = f"it is kept as {kept}" if kept else f"it could not be moved aside: {autosave}"
            return None, f"the autosave of {path.name} is damaged ({reason}); opened the saved file instead; {where}"

    def _structure_changed(self) -> None:
        self.structure_revision += 1
        self.live.set_graph(self.document.graph)

    def _travel(self, label: str | None, verb: str) -> None:
        if label is None:
            self.say(f"nothing to {verb}")
            return
        self.say(f"{verb}: {label}")
        self.selection = [n for n in self.selection if n in self.document.graph.nodes]
        self._drop_preview_of([e.node for e in (self.preview.a, self.preview.b)
                               if e and e.node not in self.document.graph.nodes])
        self._structure_changed()
