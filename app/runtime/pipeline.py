"""A two-stage pipelined run: capture and tracking of frame t+1 overlap rendering of frame t.

The graph is cut in two. The render stage is every node whose schema says `gpu`, every output, and
everything downstream of them; the capture stage is the rest. Each stage is an ordinary Scheduler. The capture
stage runs on a worker thread and hands each frame's values across the cut through a bounded queue
(at most `depth` frames ahead of the render stage, so latency stays low); the render stage runs on the calling thread,
which owns the GL context, and reads them through internal source nodes (`pipe_of`). A render-stage node that
splits its frame (`Node.prepare`) and reads only what crosses the cut has its frame prepared on the
capture thread too, so the render stage is left only the drawing.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from app.runtime.context import FrameContext, RunContext, SourceClock
from app.runtime.errors import EndOfStream, NodeFailure, ReenactError
from app.runtime.graph import Endpoint, Graph, Link, NodeSpec
from app.runtime.node import Node, Prepared, splits_frame
from app.runtime.pacing import EvenSpacing
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler
from app.runtime.schema import NodeSchema, Port
from app.runtime.timing import TimingStats, TimingWindow
from app.runtime.waits import Wait

PIPE_NODE = "__pipe__"  # what the ids of the render stage's internal source nodes start with


def pipe_of(node_id: str) -> str:
    """The render stage's node that hands over what the capture stage's node `node_id` gave this frame: one per
    node, so one that did not run skips only what reads it, as in a serial run."""
    return PIPE_NODE + node_id


def is_pipe(node_id: str) -> bool:
    """Whether a render-stage node is one of its pipe nodes (`pipe_of`), which the caller never sees."""
    return node_id.startswith(PIPE_NODE)


@dataclass
class _Handoff:
    values: dict[str, Any] = field(default_factory=dict)  # pipe port -> value, as `_handed` gives them
    failures: list[NodeFailure] = field(default_factory=list)
    waited: dict[str, Wait] = field(default_factory=dict)  # capture-stage nodes that waited for an input
    ended: bool = False
    error: BaseException | None = None
    started: float = 0.0  # when the capture stage began this frame (perf_counter)
    ahead: dict[str, Prepared] = field(default_factory=dict)  # render-stage node id -> its frame, prepared
    shown_for: float | None = None  # how long the source shows this frame (`SourceClock.frame_duration`)
    source: SourceClock | None = None  # the capture stage's timed source after this frame (`RunContext.source`)


def split(graph: Graph, registry: Registry) -> tuple[Graph, Graph, dict[str, Endpoint]]:
    """(capture stage, render stage, {pipe port: capture-stage output it carries}).
    The render stage reads crossing values from the ports of pipe nodes (`pipe_of`)."""
    # outputs too: the capture stage starts a frame before the caller asks for it, and a run that stops (--frames N,
    # Ctrl-C, a bench's last frame) never asks, so no node there may write, show or send a frame
    render = downstream(graph, {n for n, s in graph.nodes.items()
                                if (schema := registry.require(s.type).schema).gpu or schema.category == "output"})
    capture_graph, render_graph = Graph(meta=graph.meta, base_dir=graph.base_dir), \
        Graph(meta=graph.meta, base_dir=graph.base_dir)
    for node_id, spec in graph.nodes.items():
        (render_graph if node_id in render else capture_graph).add(spec)
    crossing: dict[str, Endpoint] = {}
    for link in graph.links:
        if link.target.node not in render:
            capture_graph.links.append(link)
        elif link.source.node in render:
            render_graph.links.append(link)
        else:  # crosses the cut: the render stage reads it from its source's pipe node
            port = f"{link.source.node}__{link.source.port}"
            crossing[port] = link.source
            render_graph.links.append(Link(Endpoint(pipe_of(link.source.node), port), link.target))
    for pipe in dict.fromkeys(pipe_of(source.node) for source in crossing.values()):
        render_graph.add(NodeSpec(pipe, "pipe.input"))
    return capture_graph, render_graph, crossing


def downstream(graph: Graph, nodes: set[str]) -> set[str]:
    """`nodes` and every node of `graph` that reads one of them, directly or not."""
    reached, grew = set(nodes), True
    while grew:
        grew = False
        for link in graph.links:
            if link.source.node in reached and link.target.node not in reached:
                reached.add(link.target.node)
                grew = True
    return reached


def fed_by_the_pipe(graph: Graph, registry: Registry) -> dict[str, dict[str, str]]:
    """Of a render stage's nodes, those that split their frame and read every input from the capture
    stage, each with {input: pipe port}: the capture thread can prepare their frames."""
    feeds: dict[str, dict[str, str]] = {}
    for node_id, spec in graph.nodes.items():
        if spec.bypassed or not splits_frame(registry.get(spec.type)):
            continue
        links = [link for link in graph.links if link.target.node == node_id]
        if links and all(is_pipe(link.source.node) for link in links):
            feeds[node_id] = {link.target.port: link.source.port for link in links}
    return feeds


def _pipe_node_class(ports: dict[str, Any], crossing: dict[str, Endpoint]) -> type[Node]:
    """The internal sources of the render stage, one per capture-stage node it reads (`pipe_of`): this frame's
    values from that node. A value whose output there gave none is None: the node reading it waits, as in a
    serial run."""
    schema = NodeSchema("pipe.input", "Pipeline input", "internal", "values handed over from the capture stage",
                        outputs=tuple(Port(name, port_type, optional=True) for name, port_type in ports.items()),
                        volatile=True)

    class PipeInput(Node):
        values: dict[str, Any] = {}

        def open(self, run: RunContext) -> None:
            self._ports = [name for name, source in crossing.items() if pipe_of(source.node) == self.node_id]

        def process(self, ctx) -> dict:
            missing = [name for name in self._ports if name not in type(self).values]
            if missing:  # failed or waited there (reported there): what reads it is skipped
                raise ReenactError("the capture stage has no value this frame for "
                                   + ", ".join(name.replace("__", ".") for name in missing))
            return {name: type(self).values[name] for name in self._ports}

    PipeInput.schema = schema
    return PipeInput


class PipelinedRun:
    """A FrameRunner, like a Scheduler: open(), step(), close(), fps, run, node_timings(), step_times."""

    pipelined = True

    def __init__(self, graph: Graph, registry: Registry, run: RunContext | None = None, depth: int = 1,
                 timing_window: int = 120, just_in_time: bool = False, even: bool = False):
        """just_in_time: start each capture so it finishes as the render stage frees up (lowest latency,
        freshest camera frames, little overlap); otherwise as soon as `depth` allows (most overlap).
        even: `step` returns frames evenly spaced (`EvenSpacing`): beside a busy program the two stages'
        frames come long and short by turns."""
        capture_graph, render_graph, self._crossing = split(graph, registry)
        ports = {}
        for name, source in self._crossing.items():
            schema = registry.require(graph.nodes[source.node].type).schema
            ports[name] = schema.output(source.port).type
        render_registry = Registry()
        render_registry.register_all(registry.types())
        self._pipe = _pipe_node_class(ports, self._crossing)
        render_registry.register(self._pipe, "pipeline")
        self.run = run or RunContext(base_dir=graph.base_dir)
        self._capture_graph = capture_graph
        self._capture = Scheduler(capture_graph, registry,
                                  RunContext(base_dir=graph.base_dir, options=self.run.options), timing_window)
        self._render = Scheduler(render_graph, render_registry, self.run, timing_window)
        self._render.waits.across({Endpoint(pipe_of(source.node), name): source
                                   for name, source in self._crossing.items()}, graph)
        self._waited: dict[str, Wait] = {}
        self._prepare_ahead = fed_by_the_pipe(render_graph, registry)
        self._opened_at = time.perf_counter()
        self._queue: queue.Queue[_Handoff] = queue.Queue()
        self._ahead = threading.Semaphore(depth)  # frames the capture stage may start before they are rendered
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._ended = False
        self.latency = TimingWindow(timing_window)  # capture start to render end, per frame
        self.step_times = TimingWindow(timing_window)
        self._stage_seconds = {"capture": 0.0, "render": 0.0}  # moving averages, to start captures just in time
        self._just_in_time = just_in_time
        self._spacing = EvenSpacing() if even else None

    @property
    def fps(self) -> float:
        return self._render.fps

    def open(self) -> list[NodeFailure]:
        not_started = self._capture.open()
        self._shown_for: float | None = None
        self._follow(self._capture.run.source)
        not_started += self._render.open()
        for failure in not_started:
            self._prepare_ahead.pop(failure.node_id, None)
        self._opened_at = time.perf_counter()
        self._stop.clear()
        self._ended = False
        self._worker = threading.Thread(target=self._capture_loop, name="reenact-capture", daemon=True)
        self._worker.start()
        return not_started

    def step(self) -> list[NodeFailure]:
        if self._ended:
            raise EndOfStream  # the capture stage has stopped: nothing more will arrive
        waited = time.perf_counter()
        handoff = self._queue.get()
        self._ahead.release()  # the capture stage may start the next frame now
        if handoff.error is not None or handoff.ended:
            self._ended = True
            if handoff.error is not None:
                raise handoff.error
            raise EndOfStream
        self._pipe.values, self._shown_for = handoff.values, handoff.shown_for
        if handoff.source is not self._followed:
            self._follow(handoff.source)
        started = time.perf_counter()
        failures = handoff.failures + self._render.step(handoff.ahead)
        self._waited = {**handoff.waited, **self._render.waited()}
        ended = time.perf_counter()
        self._average("render", ended - started)
        if self._spacing is not None:  # the capture stage works on while a frame is held
            ended = self._spacing.show(ended)
        self.latency.add(ended - handoff.started)
        self.step_times.add(ended - waited)
        return [f for f in failures if not is_pipe(f.node_id)]

    def waited(self) -> dict[str, Wait]:
        """The nodes of both stages that waited for an input in the frame `step` returned."""
        return self._waited

    def _follow(self, source: SourceClock | None) -> None:
        """Time the render stage by the capture stage's source, as it was when the frame to render was captured (a
        driver re-opened on another clip, or failing, has changed it since the run opened). Outputs in the render
        stage follow the source: its rate, and its sound; and a live run holds the frame drawn last as long as the
        source shows it, not the one the capture stage has read since."""
        self._followed = source
        if source is not None and source.frame_duration is not None:
            read_last = source.frame_duration
            source = replace(source, frame_duration=lambda: read_last() if self._shown_for is None else self._shown_for)
        self.run.source = source

    def close(self) -> list[str]:
        self._stop.set()
        if self._worker is not None:
            self._worker.join()  # it finishes the frame in progress, then sees the stop
        problems = self._render.close() + self._capture.close()
        self.run.notices.extend(self._capture.run.notices)
        return problems

    def output(self, node_id: str, port: str) -> Any:
        return self._stage(node_id).output(node_id, port)

    def node(self, node_id: str) -> Node | None:
        return self._stage(node_id).node(node_id)

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Applied by the stage that runs the node, before its next frame."""
        return self._stage(node_id).set_param(node_id, name, value)

    def _stage(self, node_id: str) -> Scheduler:
        return self._render if self._render.node(node_id) is not None else self._capture

    def node_timings(self) -> dict[str, TimingStats]:
        timings = {**self._capture.node_timings(), **self._render.node_timings()}
        return {node_id: stats for node_id, stats in timings.items() if not is_pipe(node_id)}

    def reset_timings(self) -> None:
        self.latency.clear()
        self.step_times.clear()
        self._capture.reset_timings()
        self._render.reset_timings()

    def _average(self, stage: str, seconds: float) -> None:
        previous = self._stage_seconds[stage]
        self._stage_seconds[stage] = seconds if previous == 0.0 else 0.9 * previous + 0.1 * seconds

    def _prepared(self, values: dict[str, Any]) -> dict[str, Prepared]:
        """This frame prepared for the render-stage nodes that split theirs, here on the capture thread while
        the render thread draws the frame before (a missing value is the pipe node's failure to report)."""
        ctx = FrameContext(self._capture.frame_index - 1, time.perf_counter() - self._opened_at, self.run)
        ahead = {}
        for node_id, feeds in self._prepare_ahead.items():
            inputs = {name: values.get(port) for name, port in feeds.items()}
            if all(value is not None for value in inputs.values()):
                ahead[node_id] = Prepared.of(self._render.node(node_id), ctx, inputs)
        return ahead

    def _handed(self, handoff: _Handoff) -> dict[str, Any]:
        """The values crossing the cut this frame, None where an output gave nothing; left out where there is none
        for want of a run, or its node did not run this frame (it, or one it reads, failed or waited), so its pipe
        node fails and what reads it is skipped, as in a serial run: its last good value had an output write the
        frame before again."""
        skipped = downstream(self._capture_graph, {f.node_id for f in handoff.failures} | set(handoff.waited))
        return {name: value for name, e in self._crossing.items() if e.node not in skipped
                and ((value := self._capture.output(e.node, e.port)) is not None
                     or self._capture.gives_nothing(e.node, e.port))}

    def _capture_loop(self) -> None:
        while not self._stop.is_set():
            if not self._ahead.acquire(timeout=0.05):
                continue
            if self._just_in_time:  # a frame that waits adds latency and, from a camera, shows an older moment
                self._stop.wait(max(0.0, self._stage_seconds["render"] - self._stage_seconds["capture"] - 0.001))
            handoff = _Handoff(started=time.perf_counter())
            try:
                handoff.failures = self._capture.step()
                self._average("capture", time.perf_counter() - handoff.started)
                handoff.shown_for, handoff.source = self._capture.run.frame_duration(), self._capture.run.source
                handoff.waited = self._capture.waited()
                handoff.values = self._handed(handoff)
                handoff.ahead = self._prepared(handoff.values)
            except EndOfStream:
                handoff.ended = True
            except BaseException as exc:  # handed to the caller's thread, which raises it
                handoff.error = exc
            self._queue.put(handoff)
            if handoff.ended or handoff.error is not None:
                return
