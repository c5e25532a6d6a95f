"""The pipelined run: the cut between the capture and render stages, identical frames to a serial
run, the end of a stream, and failures crossing the cut (the frames its outputs write: test_run_pipelined_frames)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from app.cli import main
from app.presets import load_preset
from app.runtime import ports
from app.runtime.context import RunContext
from app.runtime.errors import EndOfStream
from app.runtime.errors import ReenactError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.pipeline import PipelinedRun, fed_by_the_pipe, is_pipe, pipe_of, split
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler
from app.runtime.schema import NodeSchema, Port
from tests.conftest import REPO

GRAPHS = REPO / "graphs"
REAL = REPO / "tests" / "data" / "real"


def test_the_cut_puts_gpu_nodes_and_their_downstream_in_the_render_stage(studio_registry):
    graph = load_preset(GRAPHS / "video_to_portrait.json", studio_registry).graph
    capture, render, crossing = split(graph, studio_registry)
    assert set(capture.nodes) == {"driver", "track", "smooth", "target", "target_track", "retarget", "body_track",
                                  "target_body", "body"}
    assert {str(e) for e in crossing.values()} == {"target.image", "target_track.track", "retarget.motion",
                                                   "driver.image", "track.track", "body.motion"}
    # one pipe node per capture-stage node read: one that did not run skips only what reads it
    assert set(render.nodes) == {"render", "refine", "out", *map(pipe_of, ("target", "target_track", "retarget",
                                                                            "driver", "track", "body"))}
    fed_by_pipe = sorted(str(l.target) for l in render.links if is_pipe(l.source.node))
    assert fed_by_pipe == ["refine.motion", "render.body", "render.driver", "render.driver_track", "render.image",
                           "render.motion", "render.track"]
    # the portrait's mesh can be built on the capture thread; the refiner reads the render's frame
    assert {n: sorted(feeds) for n, feeds in fed_by_the_pipe(render, studio_registry).items()} == \
        {"render": ["body", "driver", "driver_track", "image", "motion", "track"]}


def test_outputs_are_in_the_render_stage_which_runs_only_the_frames_asked_for(studio_registry):
    """The capture stage starts a frame before it is asked for: an output there wrote one more than the run had."""
    graph = load_preset(GRAPHS / "portrait_to_images.json", studio_registry).graph
    capture, render, crossing = split(graph, studio_registry)
    assert set(capture.nodes) == {"target", "resize"} and set(render.nodes) == {"out", pipe_of("resize")}
    assert {str(e) for e in crossing.values()} == {"resize.image"}


def _demo_without_file(studio_registry):
    graph = load_preset(GRAPHS / "demo.json", studio_registry).graph
    graph.nodes["render"].params["size"] = 96
    graph.remove("out")
    return graph


def test_the_capture_thread_prepares_the_next_frame_while_the_render_thread_draws(studio_registry, monkeypatch):
    render_class = studio_registry.require("render.portrait")
    threads = {"prepare": set(), "draw": set()}
    for name in threads:
        original = getattr(render_class, name)

        def recorded(self, *args, _original=original, _name=name, **kwargs):
            threads[_name].add(threading.current_thread().name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(render_class, name, recorded)
    run = PipelinedRun(_demo_without_file(studio_registry), studio_registry)
    run.open()
    try:
        for _ in range(4):
            assert run.step() == []
    finally:
        run.close()
    assert threads == {"prepare": {"reenact-capture"}, "draw": {threading.main_thread().name}}
    assert run.node_timings()["render"].samples == 4


def test_a_frame_that_cannot_be_prepared_fails_its_node_and_the_next_one_draws(studio_registry, monkeypatch):
    render_class = studio_registry.require("render.portrait")
    original, calls = render_class.prepare, []

    def second_fails(self, ctx, **inputs):
        calls.append(ctx.index)
        if len(calls) == 2:
            raise ReenactError("the mesh folded", hint="try another portrait")
        return original(self, ctx, **inputs)

    monkeypatch.setattr(render_class, "prepare", second_fails)
    run = PipelinedRun(_demo_without_file(studio_registry), studio_registry)
    run.open()
    try:
        failures = [[f.message for f in run.step()] for _ in range(3)]
    finally:
        run.close()
    assert failures[0] == failures[2] == [] and "the mesh folded" in failures[1][0]
    assert run.output("render", "image") is not None


def test_a_pipelined_run_renders_the_same_frames_as_a_serial_one(studio_registry):
    graph = load_preset(GRAPHS / "demo.json", studio_registry).graph
    graph.nodes["render"].params["size"] = 128
    graph.remove("out")
    results = []
    for runner in (Scheduler(graph, studio_registry), PipelinedRun(graph, studio_registry),
                   PipelinedRun(graph, studio_registry, even=True)):
        runner.open()
        frames = []
        try:
            for _ in range(8):
                assert runner.step() == []
                frames.append(runner.output("render", "image").numpy().copy())
        finally:
            runner.close()
        results.append(frames)
    for serial, *pipelined in zip(*results):
        assert all(np.array_equal(serial, frame) for frame in pipelined)


def test_the_end_of_a_stream_crosses_the_cut(tmp_path, capsys):
    assert main(["run", str(GRAPHS / "demo.json"), "--pipeline", "--quiet", "--set", "driver.duration=0.5",
                 "--set", "render.size=96", "--set", f"out.path={tmp_path / 'short.mp4'}"]) == 0
    assert "15 frames" in capsys.readouterr().err


def test_a_capture_stage_failure_is_reported_and_the_render_stage_waits(studio_registry, tmp_path):
    graph = load_preset(GRAPHS / "demo.json", studio_registry).graph
    graph.nodes["target"].params["path"] = str(tmp_path / "missing.png")
    graph.remove("out")
    run = PipelinedRun(graph, studio_registry)
    run.open()
    try:
        failures = [f.node_id for _ in range(3) for f in run.step()]
    finally:
        run.close()
    assert "target" in failures and "render" not in failures and not any(map(is_pipe, failures))
    assert run.output("render", "image") is None


def test_stepping_past_the_end_keeps_saying_so(studio_registry):
    graph = load_preset(GRAPHS / "demo.json", studio_registry).graph
    graph.nodes["driver"].params["duration"] = 0.1
    graph.nodes["render"].params["size"] = 64
    graph.remove("out")
    run = PipelinedRun(graph, studio_registry)
    run.open()
    steps = 0
    try:
        with pytest.raises(EndOfStream):
            while True:
                run.step()
                steps += 1
        with pytest.raises(EndOfStream):
            run.step()
    finally:
        run.close()
    assert steps == 3


def test_a_live_pipelined_run_holds_the_frame_it_drew_as_long_as_the_clip_shows_it(studio_registry):
    """noface_face.mov mixes frames of 1/24 s and 1/30 s. The capture stage reads a frame ahead, so the
    duration its clip reader said was the next frame's: a live run held each frame as long as the one
    after it. Stepped pipelined, each frame's duration is the one a serial run reads for that frame."""
    graph = load_preset(GRAPHS / "video_to_portrait.json", studio_registry).graph
    graph.nodes["driver"].params["path"] = str(REPO / "tests" / "data" / "real" / "noface_face.mov")
    graph.nodes["render"].params["size"] = 96
    graph.remove("out")

    def durations(run) -> list[float]:
        run.open()
        try:
            return [run.step() is not None and run.run.source.frame_duration() for _ in range(40)]
        finally:
            run.close()
    serial = durations(Scheduler(graph, studio_registry, RunContext(base_dir=graph.base_dir)))
    assert len({round(d, 4) for d in serial}) > 1  # the clip does vary
    assert durations(PipelinedRun(graph, studio_registry)) == pytest.approx(serial)


class _ClockProbe(Node):
    """A render-stage node (its schema says gpu) that notes, for each frame it is given, the frame's width and
    the sound of the clip that times the run then (a video output writes at that clip's rate, with that sound)."""

    schema = NodeSchema("test.clock_probe", "Clock probe", "test", "notes frames and the run's clock",
                        inputs=(Port("image", ports.IMAGE),), volatile=True, gpu=True)
    seen: list = []

    def process(self, ctx, image) -> dict:
        source = ctx.run.source
        type(self).seen.append((image.width, source.sound.name if source is not None else None))
        return {}


def test_a_driver_reopened_mid_run_times_the_render_stage_by_its_new_clip(studio_registry):
    """The render stage took the driver's clock once, at the start: a driver re-opened on another clip (its path
    edited, or fixed after it failed) timed the capture stage but not the render stage, whose recordings kept
    the first clip's rate and sound. Each frame is timed by the clip it came from; while the driver fails the probe
    gets no frame, as in a serial run (it was given the last good one again, timed by no clip)."""
    registry = Registry()
    registry.register_all(studio_registry.types())
    registry.register(_ClockProbe, "tests")
    graph = Graph()
    graph.add(NodeSpec("driver", "capture.video", params={"path": str(REAL / "wolfgang_expressions.mp4")}))
    graph.add(NodeSpec("probe", "test.clock_probe"))
    graph.connect("driver", "image", "probe", "image")
    _ClockProbe.seen = []
    run = PipelinedRun(graph, registry)
    run.open()
    try:
        for path in ("no_face.mp4", "gone.mp4", "single_face.mp4", None):
            for _ in range(4):  # the capture stage may be a frame ahead: an edit shows within two
                run.step()
            if path is not None:
                run.set_param("driver", "path", str(REAL / path))
    finally:
        run.close()
    shown = [seen for i, seen in enumerate(_ClockProbe.seen) if i == 0 or seen != _ClockProbe.seen[i - 1]]
    assert shown == [(640, "wolfgang_expressions.mp4"), (960, "no_face.mp4"), (640, "single_face.mp4")]
