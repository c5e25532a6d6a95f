"""The graph running live in a worker thread while it is edited.

The worker alone touches the scheduler (and so the GL context its nodes create). The UI thread hands
it commands and reads the newest `LiveStatus` from a latest-frame slot: it never waits on a node.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from app.editor.live_status import LiveStatus, Transport
from app.editor.runnable import cached_nodes, runnable_part
from app.editor.timeline import Clip, ClipPosition, find_clip
from app.runtime.budget import FrameBudget
from app.runtime.context import RunContext
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.graph import Endpoint, Graph
from app.runtime.options import Options, resolve
from app.runtime.gpu.image import Image
from app.runtime.node import draws_status_image
from app.runtime.pacing import ClipClock, frame_interval, playback_rate
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler


WORK_EASE = 0.1  # how fast the running mean of a frame's work follows it (about the last ten frames)
PAUSED_POLL_S = 0.5  # while paused the worker wakes on commands, and this often for the nodes' status lines
STATUS_IMAGE_PERIOD_S = 0.25  # nodes' status pictures are asked for at most this often (uploads cost the UI)


class LiveGraph:
    """Runs a graph in a worker thread. All methods are safe from any thread and return at once."""

    def __init__(self, registry: Registry, options: Options | None = None, max_fps: float = 30.0):
        self._registry = registry
        self._options = options or resolve()
        self.max_fps = max_fps  # 0: as fast as possible (a live preview rarely needs more than the source)
        self.hold_rate = True  # take the cheaper settings nodes declare when frames run later than max_fps
        self._budget: FrameBudget | None = None
        self._commands: queue.Queue[Callable[[], None]] = queue.Queue()
        self._wake = threading.Event()
        self._latest = LiveStatus()
        self._lock = threading.Lock()
        self._scheduler: Scheduler | None = None
        self._graph = Graph()
        self._idle: dict[str, str] = {}
        self._cached: frozenset[str] = frozenset()
        self._watched: tuple[Endpoint, ...] = ()
        self._transport = Transport.PAUSED
        self._steps_wanted = 0
        self._work_s = 0.0  # a frame's own work lately (a running mean), for `LiveStatus.busy`
        self._redraw_wanted = False  # an edit arrived while paused: run the shown frame again
        self._seek_to: int | None = None
        self._clip_clock = ClipClock()  # a clip played at its own speed
        self._record = False
        self._clip: Clip | None = None
        self._clip_at = ClipPosition()
        self._message = ""
        self._said: deque[tuple[int, str]] = deque(maxlen=64)  # (number, text): what the log has not seen yet
        self._said_count = 0
        self._pictures: dict[str, Image] = {}
        self._pictures_at = 0.0  # when they were last asked for
        self._pictures_failed: set[str] = set()  # nodes whose picture raised: said once, not asked again
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="reenact-live", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- commands (any thread)
    def status(self) -> LiveStatus:
        with self._lock:
            return self._latest

    def set_graph(self, graph: Graph, restart: bool = False) -> None:
        """Run this graph from the next frame on; nodes that keep id and type keep their state.
        restart: close and re-open every node, so capture nodes start from their first frame again."""
        self._send(lambda: self._install(graph.copy(), restart))

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        def set_param() -> None:
            spec = self._graph.nodes.get(node_id)
            if spec is not None:  # the worker's copy follows, for restarts and the timeline (a clip's path, loop)
                spec.params[name] = value
                self._clip = find_clip(self._graph)
            self._edit(node_id, lambda s: s.set_param(node_id, name, value))
        self._send(set_param)

    def trigger(self, node_id: str, action: str) -> None:
        self._send(lambda: self._edit(node_id, lambda s: s.trigger(node_id, action)))

    def watch(self, endpoints: list[Endpoint]) -> None:
        self._send(lambda: setattr(self, "_watched", tuple(endpoints)))

    def play(self) -> None:
        self._send(lambda: self._set_transport(Transport.PLAYING))

    def pause(self) -> None:
        self._send(lambda: self._set_transport(Transport.PAUSED))

    def step(self, frames: int = 1) -> None:
        def step() -> None:
            self._transport = Transport.PAUSED
            self._steps_wanted += frames
        self._send(step)

    def record(self, on: bool) -> None:
        """Let the sinks run (write files, feed devices) or idle them; the graph keeps its state."""
        def record() -> None:
            self._record = on
            self._install(self._graph, restart=False)
        self._send(record)

    def seek(self, frame: int) -> None:
        """Show frame `frame` (from 0) of the clip and pause there. Forward runs the frames in between
        (sinks idle unless recording); backward starts the sources again from their first frame."""
        def seek() -> None:
            if self._scheduler is None:
                return
            if frame < self._position():
                self._install(self._graph, restart=True)
            self._transport = Transport.PAUSED
            self._seek_to = max(0, frame)
        self._send(seek)

    def set_hold_rate(self, on: bool) -> None:
        """Hold max_fps with the frame budget, or give back every setting it took and run as set."""
        def hold() -> None:
            self.hold_rate = on
            if not on and self._budget is not None:
                for change in self._budget.give_back_all():
                    self._say(change.describe())
        self._send(hold)

    def shutdown(self, timeout: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    # ----------------------------------------------------------------- the worker
    def _send(self, command: Callable[[], None]) -> None:
        self._commands.put(command)
        self._wake.set()

    @property
    def frame_cap(self) -> float:
        """The rate playback is held to (`playback_rate`)."""
        return playback_rate(self.max_fps, self._scheduler.run.pace_rate if self._scheduler is not None else None)

    def _frame_interval(self) -> float:
        """`frame_interval` for the frame just shown."""
        if self._scheduler is None:
            return frame_interval(self.max_fps, None, None)
        return frame_interval(self.max_fps, self._scheduler.run.pace_rate, self._scheduler.run.frame_duration())

    def _loop(self) -> None:
        next_frame = time.perf_counter()
        try:
            while not self._stopping:
                self._run_commands()
                if self._seeking():
                    self._frame()
                    if not self._seeking():
                        self._publish()
                    continue
                if self._transport is Transport.PLAYING and not self._steps_wanted:
                    self._keep_time()
                else:
                    self._clip_clock.stop()  # paused, stepped, sought: the clip's time starts again on Play
                if self._transport is Transport.PLAYING or self._steps_wanted:
                    self._steps_wanted = max(0, self._steps_wanted - 1)
                    self._frame()
                    self._publish()
                    interval = self._frame_interval()
                    if interval > 0:
                        next_frame = max(next_frame + interval, time.perf_counter())
                        self._wake.wait(max(0.0, next_frame - time.perf_counter()))
                else:
                    if self._redraw_wanted:
                        self._redraw()
                    self._publish()
                    self._wake.wait(PAUSED_POLL_S)
                self._wake.clear()
        finally:
            self._close()

    def _run_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command()
            except ReenactError as exc:  # a refused edit: say so, keep running
                self._say(exc.message)
            except Exception as exc:  # a bug must not kill the worker: the user's edits live in the UI
                self._say(f"internal error while applying an edit ({type(exc).__name__}: {exc})")
                self._transport = Transport.PAUSED

    def _position(self) -> int:
        """The clip's frame the sources read next (the one shown is the one before): `ClipPosition.at`."""
        return self._clip_at.at(self._scheduler) if self._scheduler is not None else 0

    def _keep_time(self) -> None:
        """Playing a clip slower than it was recorded (the graph, or max_fps, slower than the clip): the
        frames its own clock has gone past are passed over, so it plays at its recorded speed (its
        `keep_time`, on). Playing with no frame cap runs every frame as fast as the graph does."""
        run = self._scheduler.run if self._scheduler is not None else None
        if run is None or run.source is None or self.max_fps <= 0:
            self._clip_clock.stop()
            return
        source = run.source
        due = source.frame_time() + source.frame_duration() if source.frame_time and source.frame_duration else None
        self._clip_clock.keep(time.perf_counter(), run.pace_rate, self._position(), self._scheduler.frame_index,
                              source.pass_over, due)

    def _seeking(self) -> bool:
        if self._seek_to is not None and (self._scheduler is None or self._transport is Transport.ENDED
                                          or self._position() > self._seek_to):
            self._seek_to = None  # reached (the frame shown is the one before `_position`), or the clip ended
        return self._seek_to is not None

    def _install(self, graph: Graph, restart: bool) -> None:
        self._graph = graph
        self._clip = find_clip(graph)
        self._redraw_wanted = True
        runnable, self._idle = runnable_part(graph, self._registry, record=self._record)
        if restart:
            self._close()
        if self._scheduler is None:
            # a recording never replaces a file: a take after Restart or a seek back goes beside the last one
            self._scheduler = Scheduler(runnable, self._registry, RunContext(
                base_dir=graph.base_dir, options=self._options, embedded=True, keep_files=True))
            self._scheduler.open()
            self._clip_at.restart(self._scheduler, self._clip)
            self._clip_clock.stop()  # the sources start from their first frame
            if self._transport is Transport.ENDED:
                self._transport = Transport.PAUSED
        else:
            self._scheduler.replace_graph(runnable)
        self._cached = frozenset(cached_nodes(runnable, self._registry))
        # the graph's own params are back in place: a fresh budget, judged from the next frames on
        self._budget = FrameBudget(self.frame_cap, runnable, self._registry, self._scheduler)
        self._message = ""
        self._pictures_failed.clear()

    def _edit(self, node_id: str, change: Callable[[Scheduler], None]) -> None:
        """Apply to a running node; an idle node picks its params up when it starts."""
        if self._scheduler is not None and self._scheduler.node(node_id) is not None:
            change(self._scheduler)
            self._redraw_wanted = True

    def _set_transport(self, transport: Transport) -> None:
        if self._transport is not Transport.ENDED or transport is Transport.PAUSED:
            self._transport = transport

    def _frame(self) -> None:
        if self._scheduler is None:
            return
        self._redraw_wanted = False  # a new frame shows every edit made so far
        mark = self._clip_at.mark(self._scheduler, self._clip)
        try:
            started = time.perf_counter()
            self._scheduler.step()
            work = time.perf_counter() - started
            self._work_s += WORK_EASE * (work - self._work_s)
            self._hold_rate(work)
        except EndOfStream:
            self._transport = Transport.ENDED
            self._say("the clip reached its end: Play starts it again")
        except Exception as exc:  # nodes' own errors are isolated by the scheduler; this is a bug
            self._transport = Transport.PAUSED
            self._say(f"internal error, paused ({type(exc).__name__}: {exc}); Restart to try again")
        self._follow_clip(mark)
        notices = self._scheduler.run.notices
        for notice in notices:  # each one: several come together when nodes open
            self._say(notice)
        notices.clear()

    def _hold_rate(self, seconds: float) -> None:
        """The frame's own work (not the wait for the frame cap) against max_fps; a setting taken or given
        back is said in the status line and the message log."""
        if self._budget is None or self._seek_to is not None:  # a seek runs as fast as it can
            return
        self._budget.target_fps = self.frame_cap if self.hold_rate else 0.0
        change = self._budget.observe(seconds)
        if change is not None:
            self._say(change.describe())

    def _redraw(self) -> None:
        """Show a paused graph's edits on the frame on screen, without moving on to the next frame."""
        self._redraw_wanted = False
        if self._scheduler is None:
            return
        mark = self._clip_at.mark(self._scheduler, self._clip)
        try:
            self._scheduler.redraw()
        except EndOfStream:  # a source that had not started yet has nothing to show
            self._transport = Transport.ENDED
        except Exception as exc:  # nodes' own errors are isolated by the scheduler; this is a bug
            self._say(f"internal error while redrawing ({type(exc).__name__}: {exc})")
        self._follow_clip(mark)

    def _follow_clip(self, mark: tuple) -> None:
        """The clip's source that failed and is back (its path fixed, or by Undo) goes on where it stopped."""
        back_to = self._clip_at.follow(self._scheduler, self._clip, mark)
        if back_to is not None:
            self._seek_to = back_to

    def _say(self, text: str) -> None:
        """Show `text` on the status line, and keep it, numbered, for the message log."""
        self._message = text
        self._said_count += 1
        self._said.append((self._said_count, text))

    def _publish(self) -> None:
        scheduler = self._scheduler
        if scheduler is None:
            status = LiveStatus(transport=self._transport, idle=dict(self._idle), message=self._message,
                                said=tuple(self._said), clip=self._clip, recording=self._record)
        else:
            status = LiveStatus(
                serial=self._latest.serial + 1, frame=self._position(), fps=scheduler.fps,
                transport=self._transport,
                timings=scheduler.node_timings(),
                cached=self._cached,
                failures={n: f.message for n, f in scheduler.failures.items() if n in self._graph.nodes},
                idle={**self._idle, **scheduler.waits.reasons},  # a node waiting for an input is idle, not red
                notes=self._notes(scheduler),
                pictures=self._status_pictures(scheduler),
                outputs={e: _readable_anywhere(scheduler.output(e.node, e.port)) for e in self._watched},
                message=self._message, said=tuple(self._said),
                image_path=_image_path(scheduler),
                clip=self._clip, recording=self._record, seeking=self._seek_to,
                budget=tuple(self._budget.active) if self._budget is not None else (),
                busy=self._work_s * self.frame_cap,
                clip_rate=self.frame_cap if 0 < self.frame_cap < self.max_fps else 0.0)
        with self._lock:
            self._latest = status

    def _notes(self, scheduler: Scheduler) -> dict[str, str]:
        notes = {}
        for node_id in self._graph.nodes:  # the live graph's own copy: no graph copy per frame
            node = scheduler.node(node_id)
            try:
                text = node.status() if node is not None else ""
            except Exception as exc:  # a status line must never stop the graph
                text = f"status failed: {exc}"
            if text:
                notes[node_id] = text
        return notes

    def _status_pictures(self, scheduler: Scheduler) -> dict[str, Image]:
        """The pictures of nodes that draw one (`Node.status_image`), asked for at most every
        STATUS_IMAGE_PERIOD_S; in between, the ones asked for last."""
        now = time.monotonic()
        if now - self._pictures_at < STATUS_IMAGE_PERIOD_S:
            return self._pictures
        self._pictures_at, pictures = now, {}
        for node_id in self._graph.nodes:
            node = scheduler.node(node_id)
            if not draws_status_image(type(node)) or node_id in self._pictures_failed:
                continue
            try:
                picture = node.status_image()
            except Exception as exc:  # like a status line, a picture must never stop the graph
                self._pictures_failed.add(node_id)
                self._say(f"{node_id}: its status picture failed and is no longer shown "
                          f"({type(exc).__name__}: {exc})")
                continue
            if isinstance(picture, Image):
                pictures[node_id] = _readable_anywhere(picture)
        self._pictures = pictures
        return pictures

    def _close(self) -> None:
        if self._scheduler is not None:
            problems = self._scheduler.close()
            self._scheduler = None
            if problems:
                self._say(problems[0])


def _image_path(scheduler: Scheduler) -> str:
    gpu = scheduler.run.gpu
    return f"{gpu.bridge.name} ({gpu.path_reason})" if gpu is not None else "no GL context yet"


def _readable_anywhere(value: Any) -> Any:
    """Frames leave this thread for the UI's, which has no access to the run's GL context: give them
    their host pixels here (once; the preview shows them anyway)."""
    if isinstance(value, Image):
        value.numpy()
    return value
