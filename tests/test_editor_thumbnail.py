"""Pictures in canvas nodes: a node with `status_image()` shows it next to its status line (the target
frame selection shows the recorded frame in use). The live graph's side runs headless; the window's runs
in a process of its own under Xvfb, as a user sees it."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from app.editor.live import STATUS_IMAGE_PERIOD_S, LiveGraph
from app.runtime import ports
from app.runtime.gpu.image import Image
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.schema import NodeSchema, Port
from tests.conftest import REPO


class Painter(Node):
    """A grey picture as bright as the frames it has run."""

    schema = NodeSchema("test.painter", "Painter", "test", "paints its frame count",
                        outputs=(Port("value", ports.FLOAT),), volatile=True)

    def open(self, run):
        self.frames = 0

    def process(self, ctx) -> dict:
        self.frames += 1
        return {"value": float(self.frames)}

    def status_image(self) -> Image:
        return Image(np.full((9, 16, 3), min(self.frames, 255), np.uint8))


class BrokenPainter(Painter):
    schema = NodeSchema("test.broken_painter", "Broken painter", "test", "its picture raises",
                        outputs=(Port("value", ports.FLOAT),), volatile=True)

    def status_image(self) -> Image:
        raise RuntimeError("no paint")


def wait_for(live: LiveGraph, until, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if until(live.status()):
            return live.status()
        time.sleep(0.02)
    raise AssertionError(f"not reached in {timeout} s: {live.status()}")


def test_the_live_graph_passes_node_pictures_a_few_times_a_second_and_survives_a_broken_one(registry):
    registry.register(Painter, "tests")
    registry.register(BrokenPainter, "tests")
    graph = Graph()
    for node_id, type_id in (("painter", "test.painter"), ("broken", "test.broken_painter"),
                             ("counter", "test.counter")):
        graph.add(NodeSpec(node_id, type_id))
    live = LiveGraph(registry, max_fps=0)  # frames as fast as they go: far more often than pictures
    try:
        live.set_graph(graph)
        live.play()
        first = wait_for(live, lambda s: "painter" in s.pictures)
        assert set(first.pictures) == {"painter"}  # none for a node without the method, nor the broken one
        assert first.message.startswith("broken: its status picture failed and is no longer shown (RuntimeError")
        pictures, frames = set(), set()
        started = time.monotonic()
        while time.monotonic() - started < 1.0:
            status = live.status()
            pictures.add(id(status.pictures["painter"]))
            frames.add(status.frame)
            time.sleep(0.005)
        assert len(frames) > 20  # the graph ran on
        assert 2 <= len(pictures) <= 1.0 / STATUS_IMAGE_PERIOD_S + 2
    finally:
        live.shutdown()


def test_target_select_pictures_the_recorded_frame_in_use_not_the_fade(studio_registry, tmp_path):
    from nodes.target.bank import FrameBank
    from nodes.target.index import load_or_build
    from tests.test_target_video import CLIP, QUICK, drive, rest_and_widest_smile, select_node

    bank = FrameBank(load_or_build(CLIP, tmp_path, QUICK)[0], CLIP)
    node, run = select_node(studio_registry, fade_frames=3)
    assert node.status_image() is None  # before the first frame
    neutral, smile = rest_and_widest_smile(bank)
    out = drive(node, run, bank, [neutral] * 5 + [smile])[-1]  # held past hold_frames, then changed
    assert out["index"] == bank.frame_numbers[smile] and out["image"] is not bank.image(smile)  # fading
    assert node.status_image() is bank.image(smile)


# ----------------------------------------------------------------- the window, under Xvfb

IN_WINDOW = os.environ.get("REENACT_UI_TESTS") == "1"


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (installed by .ci/run)")
def test_the_select_node_shows_the_frame_in_use_in_the_editor_window():
    done = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1600x900x24", sys.executable, "-m", "pytest", "-q",
                           "-p", "no:cacheprovider", f"{__file__}::test_in_window_the_picture_follows_the_selection"],
                          capture_output=True, text=True, cwd=REPO, timeout=900,
                          env={**os.environ, "REENACT_UI_TESTS": "1"})
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-6000:] + done.stderr[-3000:]


@pytest.mark.skipif(not IN_WINDOW, reason="runs in its own process under Xvfb (the test above)")
def test_in_window_the_picture_follows_the_selection(tmp_path, monkeypatch):
    """Plays graphs/video_target.json: the select node's picture changes as the choice does, it is the
    recorded frame its status line names, and it is on screen where the node draws it."""
    from app.editor import open_window
    from app.editor.node_pictures import PICTURE_SIZE
    from app.editor.preview import fit_into
    from app.runtime.options import resolve
    from nodes import default_registry
    from nodes.target.bank import FrameBank
    from nodes.target.index import IndexSettings, load_or_build

    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    window = open_window(default_registry(plugins=False), resolve(), REPO / "graphs" / "video_target.json",
                         select="select", use_autosave=False)
    pictures = window.canvas.pictures
    try:
        seen: list[Image] = []
        deadline = time.monotonic() + 600
        while len(seen) < 3 and time.monotonic() < deadline:  # hopper_talks.mp4 changes frames within seconds
            window.frame()
            shown = pictures.shown("select")
            if shown is not None and (not seen or shown is not seen[-1]):
                seen.append(shown)
        assert len(seen) == 3, "the picture did not change while the clip played"

        window.editor.pause()
        settled = time.monotonic() + 3 * STATUS_IMAGE_PERIOD_S + 1.0  # paused: a status every 0.5 s
        while time.monotonic() < settled:
            window.frame()
        status = window.editor.live.status()
        shown = pictures.shown("select")
        assert shown is status.pictures["select"]
        named = int(re.match(r"frame (\d+) \(cost", status.notes["select"]).group(1))
        clip = REPO / "assets" / "targets" / "single_face.mp4"
        bank = FrameBank(load_or_build(clip, tmp_path / "state", IndexSettings())[0], clip)  # the run's, cached
        recorded = bank.image(int(np.flatnonzero(bank.frame_numbers == named)[0])).rgb()  # its shake taken out
        assert np.abs(shown.rgb().astype(float) - recorded).mean() < 3.0  # the frame named

        screen = tmp_path / "editor.png"
        window.screenshot(screen)
        import imageio.v3 as iio

        x, y = pictures.corner("select")
        width, height = PICTURE_SIZE
        drawn = iio.imread(screen)[y:y + height, x:x + width, :3].astype(float)
        assert np.abs(drawn - fit_into(shown.rgb(), width, height)).mean() < 3.0
    finally:
        window.close()
