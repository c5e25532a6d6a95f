"""Every shipped preset runs headless (short runs) and writes what it promises."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import signal
import sys
import time

import imageio_ffmpeg
import imageio.v3 as iio
import numpy as np
import pytest

from app.cli import main
from tests.conftest import REPO

GRAPHS = REPO / "graphs"


@pytest.fixture(autouse=True)
def headless(monkeypatch, tmp_path):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.chdir(tmp_path)


def test_demo_renders_a_video(tmp_path, capsys):
    assert main(["run", str(GRAPHS / "demo.json"), "--frames", "20", "--quiet"]) == 0
    video = tmp_path / "renders" / "demo.mp4"
    assert imageio_ffmpeg.count_frames_and_secs(str(video))[0] == 20
    assert "window 'window' skipped" in capsys.readouterr().err


def test_video_to_portrait_keeps_its_contract_ids_and_animates(tmp_path):
    out = tmp_path / "v.mp4"
    assert main(["run", str(GRAPHS / "video_to_portrait.json"), "--frames", "30", "--quiet",
                 "--set", f"driver.path={REPO / 'assets' / 'driving' / 'hopper_talks.mp4'}",
                 "--set", f"target.path={REPO / 'assets' / 'portraits' / 'astronaut.png'}",
                 "--set", f"out.path={out}"]) == 0
    frames = np.stack([np.frombuffer(f, np.uint8) for f in list(imageio_ffmpeg.read_frames(str(out)))[1:]])
    assert len(frames) == 30
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5  # the portrait moved


def test_portrait_to_images(tmp_path):
    assert main(["run", str(GRAPHS / "portrait_to_images.json"), "--quiet"]) == 0
    assert iio.imread(tmp_path / "renders" / "portrait" / "frame_000000.png").shape == (256, 256, 3)


def test_webcam_preset_without_camera_fails_clearly(capsys):
    assert main(["run", str(GRAPHS / "webcam_to_portrait.json"), "--frames", "2", "--quiet",
                 "--set", "driver.timeout=0.5", "--set", "window.without_display=skip"]) == 1
    err = capsys.readouterr().err
    assert "no camera at /dev/video0" in err and "Traceback" not in err


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb (installed by .ci/run)")
def test_demo_shows_a_preview_window_on_a_display(tmp_path):
    """The window's GLX context and the render context share one thread (see app/runtime/gpu.py)."""
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run(["xvfb-run", "-a", sys.executable, "-m", "app.cli", "run", str(GRAPHS / "demo.json"),
                           "--frames", "10", "--quiet"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**env, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert "skipped" not in done.stderr and "X Error" not in done.stderr
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "renders" / "demo.mp4"))[0] == 10


def test_ctrl_c_during_a_video_render_leaves_a_playable_file(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run", str(GRAPHS / "demo.json"), "--quiet",
                                "--set", "driver.duration=600"], cwd=tmp_path, stderr=subprocess.PIPE, text=True,
                               env={**env, "PYTHONPATH": str(REPO)})
    partials = lambda: list((tmp_path / "renders").glob(".demo.*.partial.mp4"))  # noqa: E731  (unique per run)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not any(p.stat().st_size > 20000 for p in partials()):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=90)
    assert process.returncode == 130 and "Traceback" not in err, err
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "renders" / "demo.mp4"))
    assert frames > 10 and not partials()


def test_the_gpu_checks_chain_tracks_its_still_driver_once_and_renders_every_frame(tmp_path):
    report = tmp_path / "chain.json"
    assert main(["bench", str(REPO / "tools" / "gpu" / "chain.json"), "--frames", "4", "--warmup", "1", "--quiet",
                 "--json", str(report)]) == 0
    nodes = json.loads(report.read_text())["nodes"]
    assert nodes["track"]["runs"] == 0 and nodes["render"]["runs"] == 4 and nodes["refine"]["runs"] == 4
