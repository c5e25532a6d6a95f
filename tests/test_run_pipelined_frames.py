"""A pipelined run writes exactly the frames a serial run writes. Its capture stage starts each frame before the
caller asks for it, so an output there wrote one frame more than the run rendered: after --frames N, after Ctrl-C or
SIGTERM, after a bench's last frame. And a capture-stage node failing on a frame handed its frame before across the
cut, which an output in the render stage wrote again where a serial run skips the frame."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.cli import main
from app.cli.frame_loop import make_runner, run_headless
from app.runtime import ports
from app.runtime.errors import ReenactError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.options import Options
from app.runtime.progress import Progress
from app.runtime.registry import Registry
from app.runtime.schema import NodeSchema, Port
from tests.conftest import REPO

CLIP = REPO / "tests" / "data" / "real" / "single_face.mp4"  # 72 frames
MODES = [None, "throughput", "latency", "even"]  # serial, then each --pipeline mode


class _Relay(Node):
    """Passes its frame on; its schema says gpu, so it and the output after it are in the render stage."""

    schema = NodeSchema("test.relay", "Relay", "test", "passes the frame on", inputs=(Port("image", ports.IMAGE),),
                        outputs=(Port("image", ports.IMAGE),), gpu=True)

    def process(self, ctx, image) -> dict:
        return {"image": image}


class _FailsOnFrame(Node):
    """A capture-stage node that fails on frame 2 of the run: what reads it skips that frame."""

    schema = NodeSchema("test.fails_on_frame", "Fails on frame 2", "test", "fails on frame 2",
                        inputs=(Port("image", ports.IMAGE),), outputs=(Port("image", ports.IMAGE),), volatile=True)

    def process(self, ctx, image) -> dict:
        if ctx.index == 2:
            raise ReenactError("cannot read this frame")
        return {"image": image}


@pytest.fixture(scope="module")
def registry(studio_registry) -> Registry:
    registry = Registry()
    registry.register_all(studio_registry.types())
    registry.register_all([_Relay, _FailsOnFrame], "tests")
    return registry


def _graph(folder: Path, behind: tuple[str, ...]) -> Graph:
    """The clip, small, through the nodes of types `behind`, into numbered PNGs in `folder`."""
    graph = Graph()
    graph.add(NodeSpec("driver", "capture.video", params={"path": str(CLIP), "max_side": 64}))
    last = "driver"
    for i, type_id in enumerate(behind):
        graph.add(NodeSpec(f"n{i}", type_id))
        graph.connect(last, "image", f"n{i}", "image")
        last = f"n{i}"
    graph.add(NodeSpec("out", "output.images", params={"path": str(folder)}))
    graph.connect(last, "image", "out", "image")
    return graph


def _written(registry: Registry, tmp_path: Path, mode: str | None, behind: tuple[str, ...], frames: int | None,
             stop_at: tuple[int, int] | None = None) -> tuple[int, list[str]]:
    """(frames the run counted, the files its output wrote). stop_at: (frame, signal) sent before that frame."""
    folder = tmp_path / str(mode)

    def before_frame(index: int) -> None:
        if stop_at is not None and index == stop_at[0]:
            os.kill(os.getpid(), stop_at[1])

    runner = make_runner(_graph(folder, behind), registry, mode, Options())
    result = run_headless(runner, frames, Progress(frames, enabled=False), lambda line: None, before_frame)
    assert result.close_problems == [] and result.signal == (stop_at[1] if stop_at else 0)
    return result.frames, sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("behind", [(), ("test.relay",)], ids=["straight", "behind-a-gpu-node"])
def test_every_pipeline_mode_writes_the_frames_a_serial_run_writes(registry, tmp_path, behind):
    for frames in (6, None, 100):  # --frames N; the clip to its end; more than the clip has
        serial, *pipelined = [_written(registry, tmp_path / str(frames), mode, behind, frames) for mode in MODES]
        assert serial == (min(frames or 72, 72), [f"frame_{i:06d}.png" for i in range(min(frames or 72, 72))])
        assert pipelined == [serial] * len(pipelined)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_pipelined_run_stopped_by_a_signal_writes_the_frames_it_rendered(registry, tmp_path, signum):
    for behind in ((), ("test.relay",)):
        runs = [_written(registry, tmp_path / str(behind), mode, behind, None, (4, signum)) for mode in MODES]
        # sent before frame 4, which runs: the loop stops between frames
        assert runs == [(5, [f"frame_{i:06d}.png" for i in range(5)])] * len(MODES)


@pytest.mark.parametrize("behind", [("test.fails_on_frame",), ("test.fails_on_frame", "test.relay")],
                         ids=["straight", "behind-a-gpu-node"])
def test_a_capture_stage_failure_skips_only_what_reads_it_as_in_a_serial_run(registry, tmp_path, behind):
    """The capture stage handed its last good frame across the cut, which the output wrote again. An output of the
    clip itself, beside it, writes every frame (a pipe node for all the capture stage's values skips it too)."""
    for mode in MODES:
        graph = _graph(tmp_path / str(mode) / "out", behind)
        graph.add(NodeSpec("raw", "output.images", params={"path": str(tmp_path / str(mode) / "raw")}))
        graph.connect("driver", "image", "raw", "image")
        result = run_headless(make_runner(graph, registry, mode, Options()), 6, Progress(6, enabled=False),
                              lambda line: None)
        assert dict(result.failures) == {"n0": 1}
        written = {folder: len(list((tmp_path / str(mode) / folder).iterdir())) for folder in ("out", "raw")}
        assert written == {"out": 5, "raw": 6}, mode


@pytest.mark.parametrize("pipeline", [[], ["--pipeline"]], ids=["serial", "pipelined"])
def test_reenact_run_frames_n_writes_n_images(tmp_path, capsys, pipeline):
    """QA's: `reenact run graphs/portrait_to_images.json --frames 6 --pipeline` wrote 7 PNGs."""
    assert main(["run", str(REPO / "graphs" / "portrait_to_images.json"), "--frames", "6", "--quiet", *pipeline,
                 "--set", f"out.path={tmp_path}"]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"frame_{i:06d}.png" for i in range(6)]
    assert f"out: wrote 6 frames to {tmp_path}" in capsys.readouterr().err


def test_a_pipelined_bench_writes_its_warm_up_and_measured_frames(tmp_path, monkeypatch):
    """It wrote one more, into the folder its outputs are sent to (one the bench removes after)."""
    from app.cli import bench

    elsewhere = bench.outputs_elsewhere
    monkeypatch.setattr(bench, "outputs_elsewhere", lambda graph, registry, _: elsewhere(graph, registry, tmp_path))
    assert main(["bench", str(REPO / "graphs" / "portrait_to_images.json"), "--frames", "5", "--warmup", "2",
                 "--pipeline", "--quiet"]) == 0
    assert sorted(path.name for path in (tmp_path / "portrait").iterdir()) == [f"frame_{i:06d}.png" for i in range(7)]
