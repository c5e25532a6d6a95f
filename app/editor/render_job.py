"""Render to file: the document's whole graph, sinks included, run start to end on its own thread.

Playing in the editor writes nothing (sinks idle unless Record is on); this is the one action that
writes the preset's output files, with a progress the UI polls and the paths it writes shown first.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from app.editor.runnable import runnable_part
from app.runtime.context import RunContext
from app.runtime.errors import EndOfStream, ParamError, ReenactError
from app.runtime.graph import Graph
from app.runtime.options import Options
from app.runtime.paths import first_free, resolve_output
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler
from app.runtime.schema import Param, ParamKind, PathRole
from app.runtime.verdict import Verdict
from app.runtime.waits import WaitTally

# Checked as a whole-number param is: dearpygui's int field wrapped a huge count typed (to -1, or 0 for
# 4294967296); a million frames is nine hours at 30 fps, so more is a slip of the keyboard. The default is
# for sources with no end of their own (a camera, a looping clip).
FRAMES = Param("frames", ParamKind.INT, 300, "frames to render", minimum=1, maximum=1_000_000)


def output_nodes(graph: Graph, registry: Registry) -> list[str]:
    """The graph's sinks (files, windows, devices), by id."""
    return [node_id for node_id, spec in graph.nodes.items()
            if (node_class := registry.get(spec.type)) is not None and node_class.schema.category == "output"]


def output_paths(graph: Graph, registry: Registry) -> list[str]:
    """Where the graph's sinks write: each output path param, resolved as `reenact run` resolves it."""
    paths = []
    for node_id in output_nodes(graph, registry):
        spec = graph.nodes[node_id]
        for param in registry.require(spec.type).schema.params:
            if param.kind is ParamKind.PATH and param.role is PathRole.OUTPUT:
                paths.append(str(resolve_output(spec.params.get(param.name, param.default))))
    return paths


def render_frames(value: int | str) -> int:
    """A frame count for Render to file, text typed read whole ('3x' is no number); ParamError says why not."""
    try:
        return FRAMES.parse_text(value.strip()) if isinstance(value, str) else FRAMES.coerce(value)
    except ParamError as exc:
        raise ParamError(exc.what, where="frames to render", hint=exc.hint) from None


def taken_outputs(paths: list[str]) -> list[str]:
    """The outputs a render would write over: a file, or a folder with files in it (where Record, which
    never replaces, would write beside them)."""
    return [path for path in paths if first_free(Path(path)) != Path(path)]


@dataclass
class RenderProgress:
    frames: int  # the frames asked for (the clip may end sooner)
    done: int = 0
    finished: bool = False
    cancelled: bool = False
    failures: dict[str, str] = field(default_factory=dict)  # node id -> first message
    notices: list[str] = field(default_factory=list)
    waits: WaitTally = field(default_factory=WaitTally)
    # outputs that got no frame (it had said "rendered 300 frames" over a file never written): for a node
    # that waited (`Verdict`) or failed upstream on every frame; and waits on some frames, with their counts
    starved: list[str] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)

    @property
    def fraction(self) -> float:
        """Full once complete (a clip that ends sooner is complete); a cancelled render stays where it stopped."""
        if self.finished and not self.cancelled:
            return 1.0
        return min(1.0, self.done / max(1, self.frames))

    @property
    def summary(self) -> str:
        """The progress bar's words."""
        ending = (" - cancelled" if self.cancelled else " - nothing written" if self.starved  # it read "done"
                  else " - done" if self.finished else "")
        return f"{self.done} / {self.frames} frames{ending}"


class RenderJob:
    """One render. `progress` is read from the UI thread; `cancel()` stops it after the current frame
    (outputs are finalized either way, as after Ctrl-C in `reenact run`)."""

    def __init__(self, graph: Graph, registry: Registry, options: Options, frames: int):
        _, idle = runnable_part(graph, registry)
        if idle:
            node_id, why = next(iter(idle.items()))
            raise ReenactError(f"cannot render: '{node_id}' would idle ({why})", hint="fix the graph first")
        self.paths = output_paths(graph, registry)
        if not self.paths:
            raise ReenactError("nothing to render to: the graph has no node that writes a file",
                               hint="add a Video File Output (output.video) or an Image Sequence node")
        self.progress = RenderProgress(frames)
        self._cancel = threading.Event()
        self._scheduler = Scheduler(graph, registry, RunContext(base_dir=graph.base_dir, options=options,
                                                                embedded=True))
        self._verdict = Verdict(graph, registry)
        self._outputs = output_nodes(graph, registry)
        self._thread = threading.Thread(target=self._run, name="reenact-render", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        progress, scheduler = self.progress, self._scheduler
        try:
            for failure in scheduler.open():  # a node that cannot start: no frame is written
                progress.failures[failure.node_id] = failure.message
            started = not progress.failures
            while started and progress.done < progress.frames and not self._cancel.is_set():
                for failure in scheduler.step():
                    progress.failures.setdefault(failure.node_id, failure.message)
                progress.waits.add(scheduler.waited())
                progress.done += 1
        except EndOfStream:
            pass  # the clip ended: the render is complete
        except Exception as exc:  # a bug must not leave the UI waiting for ever
            progress.failures["render"] = f"internal error ({type(exc).__name__}: {exc})"
        finally:
            for problem in scheduler.close():
                progress.failures.setdefault("close", problem)
            progress.starved, progress.waited = self._verdict.judge(progress.waits, progress.done)
            ran = scheduler.node_timings()
            idle = [n for n in self._outputs if n not in progress.failures and (n not in ran or not ran[n].samples)]
            if progress.done and idle and not progress.starved:  # what they depend on failed every frame
                progress.starved.append(", ".join(f"'{n}'" for n in idle) + " got no frame, as a node "
                                        "upstream failed on every frame (said above): nothing was written")
            progress.notices = progress.waits.other_notices(scheduler.run.notices)
            progress.cancelled = self._cancel.is_set()
            progress.finished = True
