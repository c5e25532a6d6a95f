"""The scheduler: runs the plan once per frame, caches static nodes, isolates failures, and applies
edits from other threads atomically between frames."""
from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from app.runtime.context import FrameContext, RunContext
from app.runtime.edits import Edit, ReplaceGraph, RunAction, SetParam
from app.runtime.errors import EndOfStream, GraphError, NodeFailure, ParamError, ProblemsError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node, Prepared
from app.runtime.plan import Plan, build_plan
from app.runtime.registry import Registry
from app.runtime.schema import NodeSchema
from app.runtime.slot import Slot
from app.runtime.timing import TimingStats, TimingWindow
from app.runtime.validate import link_problems, validate_graph
from app.runtime.waits import Wait, Waits


def bypass_routes(schema: NodeSchema) -> dict[str, str] | None:
    """For each output, the first input of the same type; None if some output has no such input."""
    routes = {}
    for out in schema.outputs:
        match = next((i for i in schema.inputs if i.type == out.type), None)
        if match is None:
            return None
        routes[out.name] = match.name
    return routes


class Scheduler:
    """Runs one graph. Call `open()`, then `step()` per frame, then `close()` (also on errors)."""

    pipelined = False

    def __init__(self, graph: Graph, registry: Registry, run: RunContext | None = None,
                 timing_window: int = 120):
        self._registry = registry
        self._window = timing_window
        self.run = run or RunContext(base_dir=graph.base_dir)
        broken = link_problems(graph, registry)
        if broken:  # refused when made: planned only at open, a cycle had left a scheduler playing empty frames
            raise ProblemsError("graph", broken)
        self._graph = graph.copy()
        self._plan: Plan = Plan(())
        self._slots: dict[str, Slot] = {}
        self._pending: list[Edit] = []
        self._lock = threading.Lock()
        self._frame_timing = TimingWindow(timing_window)
        self.step_times = TimingWindow(timing_window)
        self.latency = self.step_times  # serially, a frame's latency is its own step
        self._last_frame_start: float | None = None
        self._start = time.perf_counter()
        self.frame_index = 0
        self.failures: dict[str, NodeFailure] = {}
        self.waits = Waits()  # nodes skipped for a required input that holds nothing

    # ----------------------------------------------------------------- lifecycle
    def open(self) -> list[NodeFailure]:
        """Instantiate and open every node (fresh instances, also after a `close`). A node whose
        `open` fails is recorded in `failures` and skipped, with its downstream, every frame; returns
        those that could not start."""
        self._slots.clear()
        self.failures.clear()
        self.waits.clear()
        self._install(self._graph)
        self._start = time.perf_counter()
        return list(self.failures.values())

    def close(self) -> list[str]:
        """Close every node (reverse order); returns the messages of closes that failed. Timings
        and last outputs stay readable afterwards."""
        problems = []
        for slot in reversed(list(self._slots.values())):
            if slot.opened:
                problems += self._close_slot(slot)
        self.run.close()
        return problems

    # ----------------------------------------------------------------- edits (any thread)
    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Check now, against the node it will be applied to (ParamError on a bad value), apply before the next
        frame; returns the value."""
        with self._lock:  # checked and queued at once: no graph is swapped in between
            try:
                value = self._upcoming_schema(node_id).check_param(name, value)
            except ParamError as exc:
                raise ParamError(exc.what, where=f"{node_id}.{name}", hint=exc.hint) from None
            self._pending.append(SetParam(node_id, name, value))
        return value

    def trigger(self, node_id: str, action: str) -> None:
        with self._lock:
            schema = self._upcoming_schema(node_id)
            if schema.action(action) is None:
                raise GraphError(f"{schema.type_id} has no action '{action}'", where=node_id)
            self._pending.append(RunAction(node_id, action))

    def replace_graph(self, graph: Graph) -> None:
        """Swap in an edited graph; nodes keeping their id and type keep their state."""
        problems = validate_graph(graph, self._registry, check_paths=False)
        if problems:
            raise ProblemsError("edited graph", problems)
        self._submit(ReplaceGraph(graph.copy()))

    # ----------------------------------------------------------------- observation (any thread)
    def output(self, node_id: str, port: str) -> Any:
        """The last good value of an output port, or None."""
        slot = self._slots.get(node_id)
        return slot.outputs.get(port) if slot else None

    def node_timings(self) -> dict[str, TimingStats]:
        return {node_id: slot.timing.stats() for node_id, slot in list(self._slots.items())}

    def reset_timings(self) -> None:
        """Forget the timing windows (e.g. after a benchmark's warm-up)."""
        self._frame_timing.clear()
        self.step_times.clear()
        self._last_frame_start = None
        for slot in self._slots.values():
            slot.timing.clear()

    @property
    def fps(self) -> float:
        mean = self._frame_timing.stats().mean_ms
        return 1000.0 / mean if mean > 0 else 0.0

    @property
    def graph(self) -> Graph:
        with self._lock:
            return self._graph.copy()

    def node(self, node_id: str) -> Node | None:
        slot = self._slots.get(node_id)
        return slot.node if slot else None

    def waited(self) -> dict[str, Wait]:
        """The nodes that waited for an input in the frame run last."""
        return self.waits.now

    def gives_nothing(self, node_id: str, port: str) -> bool:
        """Whether the node's output `port` holds nothing as it ran (an optional output that gave none), rather
        than for want of a run (one that failed, waited or never ran yet)."""
        slot = self._slots.get(node_id)
        return slot is not None and slot.version > 0 and not slot.failed and slot.outputs.get(port) is None

    # ----------------------------------------------------------------- the frame
    def step(self, ahead: dict[str, Prepared] | None = None) -> list[NodeFailure]:
        """Run one frame; returns the failures of this frame. Raises EndOfStream when a source ends.
        ahead: frames prepared on another thread for nodes that split their frame, which only draw them."""
        ahead = ahead or {}
        now = time.perf_counter()
        if self._last_frame_start is not None:
            self._frame_timing.add(now - self._last_frame_start)
        self._last_frame_start = now
        self._apply_pending()
        self.waits.begin_frame()
        ctx = FrameContext(self.frame_index, now - self._start, self.run)
        failures = [self.failures[n] for n, s in self._slots.items() if not s.opened and n in self.failures]
        for step in self._plan.steps:
            slot = self._slots[step.node_id]
            failure = self._run_slot(step.node_id, slot, step.sources, ctx, ahead.get(step.node_id))
            if failure:
                failures.append(failure)
        self.frame_index += 1
        self.step_times.add(time.perf_counter() - now)
        return failures

    def redraw(self) -> list[NodeFailure]:
        """Run the current frame again with the pending edits applied (an edit made while paused shows
        at once): volatile sources keep their outputs and version instead of reading a new frame, and
        sinks (category "output": files, windows, devices) do not run, so nothing is written twice.
        Neither the frame counter nor the frame timings move. Returns this redraw's failures."""
        self._apply_pending()
        self.waits.begin_frame()
        shown = max(0, self.frame_index - 1)
        seconds = (self._last_frame_start or self._start) - self._start
        ctx = FrameContext(shown, seconds, self.run)
        failures = []
        for step in self._plan.steps:
            slot = self._slots[step.node_id]
            if self._held_in_redraw(slot, step.sources):
                continue
            failure = self._run_slot(step.node_id, slot, step.sources, ctx)
            if failure:
                failures.append(failure)
        return failures

    @staticmethod
    def _held_in_redraw(slot: Slot, sources: tuple) -> bool:
        """A sink, or a volatile source that has produced a frame already (one that has none yet
        runs once, so what it feeds has an input)."""
        if slot.schema.category == "output":
            return True
        return not sources and slot.schema.volatile and slot.version > 0

    def _run_slot(self, node_id: str, slot: Slot, sources: tuple, ctx: FrameContext,
                  ahead: Prepared | None = None) -> NodeFailure | None:
        """ahead: this frame as the node prepared it on another thread, which it then only draws."""
        slots = self._slots
        inputs: dict[str, Any] = {}
        upstream = [slot.params_version]
        slot.failed = not slot.opened
        empty = None
        for src in sources:
            up = slots[src.node]
            if up.failed:
                slot.failed = True  # downstream of a failure: skip, keep the last good output
            value = inputs[src.input] = up.outputs.get(src.port)
            if value is None and src.input in slot.required:
                empty = src
            upstream.append(up.version)
        if slot.failed:
            return None
        if empty is not None and slot.bypass is None:  # skipped like downstream of a failure, and said why
            slot.failed = True
            self.waits.wait(node_id, empty, self._graph, self.run)
            return None
        signature = tuple(upstream)
        if not slot.schema.volatile and signature == slot.signature:
            return None  # cached: same params, same inputs
        if slot.bypass is not None:
            slot.outputs = {out: inputs.get(inp) for out, inp in slot.bypass.items()}
        else:
            started = time.perf_counter()
            try:
                outputs = slot.node.process(ctx, **inputs) if ahead is None else slot.node.draw(ctx, ahead.result())
                self._check_outputs(slot, outputs)
            except EndOfStream:
                raise
            except Exception as exc:  # isolate: the rest of the graph keeps running
                slot.failed = True
                failure = NodeFailure(node_id, slot.schema.type_id, _describe(exc), traceback.format_exc(),
                                      ctx.index, getattr(exc, "from_input", ""))
                self.failures[node_id] = failure
                return failure
            slot.timing.add(time.perf_counter() - started + (ahead.seconds if ahead else 0.0))
            slot.outputs = outputs
            self.failures.pop(node_id, None)
            self.waits.forget(node_id)
        slot.signature = signature
        slot.version += 1
        return None

    @staticmethod
    def _check_outputs(slot: Slot, outputs: Any) -> None:
        if not isinstance(outputs, dict):
            raise TypeError(f"process() returned {type(outputs).__name__}, not a dict of outputs")
        for name, classes in slot.checks:
            value = outputs.get(name)
            if not isinstance(value, classes):
                raise TypeError(f"output '{name}' is {type(value).__name__}, "
                                f"expected {' or '.join(c.__name__ for c in classes)}")

    # ----------------------------------------------------------------- applying edits
    def _submit(self, edit: Edit) -> None:
        with self._lock:
            self._pending.append(edit)

    def _upcoming_schema(self, node_id: str) -> NodeSchema:
        """The schema of the node an edit queued now meets: that of the last graph queued to be swapped in (Undo may
        give the id another type), else the running one's. Call with the lock held."""
        graph = next((e.graph for e in reversed(self._pending) if isinstance(e, ReplaceGraph)), self._graph)
        if node_id not in graph.nodes:
            raise GraphError(f"there is no node '{node_id}'", hint="see the graph's node ids")
        return self._registry.require(graph.nodes[node_id].type).schema

    def _apply_pending(self) -> None:
        if not self._pending:
            return
        with self._lock:
            edits, self._pending = self._pending, []
            changed: dict[str, set[str]] = {}
            for edit in edits:
                if isinstance(edit, ReplaceGraph):
                    self._graph = edit.graph
                    changed.clear()  # params set before it were on the old graph; _install applies the new one's
                    continue
                spec = self._graph.nodes.get(edit.node_id)
                if spec is None:  # removed by a graph edit made after this one was checked
                    continue
                if isinstance(edit, SetParam):
                    spec.params[edit.name] = edit.value
                    changed.setdefault(edit.node_id, set()).add(edit.name)
        if any(isinstance(e, ReplaceGraph) for e in edits):
            self._install(self._graph)  # which gives each node the params set after the graph too
        else:
            for node_id, names in changed.items():
                if node_id in self._slots:
                    self._apply_params(node_id, self._graph.nodes[node_id], names)
        for edit in edits:
            if isinstance(edit, RunAction) and edit.node_id in self._slots:
                self._run_action(edit)

    def _apply_params(self, node_id: str, spec: NodeSpec, names: set[str]) -> None:
        """Give a node `names` of `spec`'s params. One that could not start with the params it had is started
        with these (a driver whose path was fixed, or brought back by Undo, stayed red until Restart); one
        that cannot apply them is closed, and shows red until they are edited again."""
        slot = self._slots[node_id]
        # its failure was with the params it had: a node that now runs no frame (an output not recording)
        self.failures.pop(node_id, None)  # kept showing an error its user had fixed
        if not slot.opened:
            self._slots[node_id] = slot = self._create_slot(node_id, spec)
            self._sync_bypass(slot, spec.bypassed)
            return
        wanted = {**slot.schema.defaults(), **spec.params}
        for name in names:
            setattr(slot.node.params, name, wanted[name])
        slot.params_version += 1
        try:
            slot.node.params_changed(names)
        except Exception as exc:  # e.g. a clip that is not there: played on, the old one hid the error
            self.failures[node_id] = NodeFailure(node_id, slot.schema.type_id, f"applying {', '.join(sorted(names))}: "
                                                 f"{_describe(exc)}", traceback.format_exc(), self.frame_index)
            self._close_slot(slot)

    @staticmethod
    def _sync_bypass(slot: Slot, bypassed: bool) -> None:
        slot.bypass = bypass_routes(slot.schema) if bypassed else None
        slot.params_version += 1  # recompute downstream with or without the node

    def _run_action(self, edit: RunAction) -> None:
        slot = self._slots[edit.node_id]
        try:
            slot.node.run_action(edit.name)
        except Exception as exc:  # user-triggered: reported like a frame failure, the graph keeps running
            self.failures[edit.node_id] = NodeFailure(edit.node_id, slot.schema.type_id, f"action '{edit.name}': "
                                                      f"{_describe(exc)}", traceback.format_exc(), self.frame_index)
        slot.params_version += 1

    def _install(self, graph: Graph) -> None:
        """Make the running instances match `graph`: keep, create, or close nodes; rebuild the plan."""
        plan = build_plan(graph)
        for node_id in [n for n in self._slots if n not in graph.nodes
                        or graph.nodes[n].type != self._slots[n].schema.type_id]:
            self.failures.pop(node_id, None)
            self.waits.forget(node_id)
            if (gone := self._slots.pop(node_id)).opened:  # one that could not start was closed then
                self._close_slot(gone)
        for node_id, spec in graph.nodes.items():
            if node_id in self._slots:
                self._refresh_params(node_id, spec)
            else:
                self._slots[node_id] = self._create_slot(node_id, spec)
            self._sync_bypass(self._slots[node_id], spec.bypassed)
        self._slots = {node_id: self._slots[node_id] for node_id in plan.order}
        self._plan = plan

    def _refresh_params(self, node_id: str, spec: NodeSpec) -> None:
        slot = self._slots[node_id]
        current = slot.node.params.as_dict()
        changed = {k for k, v in {**slot.schema.defaults(), **spec.params}.items() if current.get(k) != v}
        if changed:
            self._apply_params(node_id, spec, changed)

    def _create_slot(self, node_id: str, spec: NodeSpec) -> Slot:
        node_class = self._registry.require(spec.type)
        params = {**node_class.schema.defaults(), **spec.params}
        slot = Slot(node_class(node_id, params), self._window)
        try:
            if slot.schema.gpu:
                self.run.open_gpu()  # one context for the run, before the first node that uses it
            slot.node.open(self.run)
            slot.opened = True
        except Exception as exc:  # a node that cannot open is reported; the rest still runs
            self.failures[node_id] = NodeFailure(node_id, spec.type, f"could not start: {_describe(exc)}",
                                                 traceback.format_exc(), self.frame_index)
            self._close_slot(slot)
        return slot

    def _close_slot(self, slot: Slot) -> list[str]:
        try:
            slot.node.close()
        except Exception as exc:  # closing must go on for the other nodes
            return [f"node '{slot.node.node_id}' ({slot.schema.type_id}) failed to close: {_describe(exc)}"]
        finally:
            slot.opened = False
        return []


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return message if message else type(exc).__name__
