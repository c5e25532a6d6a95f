"""Runs the editor window tests (tests/ui) under Xvfb, each file in its own process, and `reenact edit
--screenshot` as a user would."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PILImage

from app.editor.storage import EditorStorage
from tests.conftest import REPO

needs_xvfb = pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (installed by .ci/run)")
XVFB = ["xvfb-run", "-a", "-s", "-screen 0 1600x900x24"]


@needs_xvfb
@pytest.mark.parametrize("suite", sorted(p.name for p in (REPO / "tests" / "ui").glob("test_*.py")))
def test_editor_window_suite_under_xvfb(suite):
    """One process per file: dearpygui cannot create a second context in a process."""
    done = subprocess.run([*XVFB, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(REPO / "tests" / "ui" / suite)], capture_output=True, text=True, cwd=REPO,
                          timeout=900, env={**os.environ, "REENACT_UI_TESTS": "1"})
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]


@needs_xvfb
def test_edit_screenshot_command(tmp_path):
    """It shows the preset as saved (an autosave of an earlier session is left alone, not read) and
    writes none of the preset's outputs (nothing records)."""
    shot = tmp_path / "editor.png"
    preset = REPO / "graphs" / "demo.json"
    env = {**os.environ, "REENACT_STATE_DIR": str(tmp_path / "state")}
    autosave = EditorStorage(tmp_path / "state").autosave_path(preset)
    autosave.parent.mkdir(parents=True)
    autosave.write_text("{ stale and damaged")  # were it read, it would be moved aside as damaged
    done = subprocess.run([*XVFB, sys.executable, "-m", "app.cli", "edit", str(preset),
                           "--screenshot", str(shot), "--frames", "5"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "screenshot written" in done.stderr
    pixels = np.asarray(PILImage.open(shot).convert("RGB"))
    assert pixels.shape == (900, 1600, 3) and pixels.std() > 20
    assert autosave.read_text() == "{ stale and damaged" and not (tmp_path / "renders").exists()


@needs_xvfb
def test_edit_measure_command_reports_the_rates_after_a_warm_up(tmp_path):
    """`reenact edit GRAPH --measure S` as a user runs it: after its warm-up, one line of JSON with the
    window's and the graph's rates."""
    env = {**os.environ, "REENACT_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([*XVFB, sys.executable, "-m", "app.cli", "edit", str(REPO / "graphs" / "demo.json"),
                           "--measure", "1"], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    numbers = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(numbers) == {"ui_fps", "ui_frame_ms", "graph_fps", "preview_upload_ms", "ui_share"}
    assert numbers["graph_fps"] > 0


@needs_xvfb
def test_edit_measure_on_a_source_that_ends_during_the_warm_up_says_so(tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "short.mp4", np.full((9, 64, 64, 3), 90, np.uint8), fps=30)
    graph = json.loads((REPO / "graphs" / "video_to_portrait.json").read_text())
    for node_id, path in (("driver", tmp_path / "short.mp4"), ("target", REPO / "assets" / "portraits" / "astronaut.png")):
        next(n for n in graph["nodes"] if n["id"] == node_id)["params"]["path"] = str(path)
    (tmp_path / "short.json").write_text(json.dumps(graph))
    env = {**os.environ, "REENACT_STATE_DIR": str(tmp_path / "state")}
    done = subprocess.run([*XVFB, sys.executable, "-m", "app.cli", "edit", str(tmp_path / "short.json"),
                           "--measure", "1"], capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "ended after 9 frames, before anything was measured" in done.stderr and "Loop" in done.stderr


@needs_xvfb
def test_a_preview_window_shows_rendered_frames_from_another_context(tmp_path):
    """The window's GL context is not the render context: frames cross through the bridge each frame."""
    done = subprocess.run([*XVFB, sys.executable, "-m", "app.cli", "run", str(REPO / "graphs" / "demo.json"),
                           "--frames", "8", "--set", f"out.path={tmp_path / 'demo.mp4'}",
                           "--set", "window.without_display=error"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "8 frames" in done.stderr and "failed" not in done.stderr
