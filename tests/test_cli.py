"""The `reenact` command: catalog, run, --set, exit codes, Ctrl-C; and plugin loading."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import imageio.v3 as iio

from app.cli import main
from nodes import default_registry
from tests.conftest import REPO

PORTRAIT = REPO / "graphs" / "portrait_to_images.json"


def reenact(*args, cwd=None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=cwd, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120, **kwargs)


def test_nodes_json_lists_types_ports_and_params(capsys):
    assert main(["nodes", "--json"]) == 0
    catalog = {entry["type"]: entry for entry in json.loads(capsys.readouterr().out)}
    image = catalog["capture.image"]
    assert image["outputs"][0]["type"] == "Image"
    path = next(p for p in image["params"] if p["name"] == "path")
    assert path["kind"] == "path" and path["help"]
    scale = next(p for p in catalog["util.scale"]["params"] if p["name"] == "gain")
    assert scale["minimum"] == -1e6 and scale["maximum"] == 1e6


def test_run_writes_frames_with_set_overrides(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(PORTRAIT), "--frames", "2", "--set", "resize.width=64", "--timings", "--quiet"])
    assert code == 0
    frames = sorted((tmp_path / "renders" / "portrait").glob("*.png"))
    assert [f.name for f in frames] == ["frame_000000.png", "frame_000001.png"]
    assert iio.imread(frames[0]).shape == (64, 64, 3)
    captured = capsys.readouterr()
    assert "resize" in captured.out and "p95 ms" in captured.out
    assert f"note: out: wrote 2 frames to {tmp_path / 'renders' / 'portrait'}\n" in captured.err  # it said where
    assert main(["run", str(PORTRAIT), "--frames", "1", "--quiet"]) == 0
    assert (f"note: out: wrote 1 frame to {tmp_path / 'renders' / 'portrait'}; 1 frame(s) of an earlier render are "
            "still there after them") in capsys.readouterr().err


def test_still_graph_renders_one_frame_by_default(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(PORTRAIT), "--quiet"]) == 0
    assert len(list((tmp_path / "renders" / "portrait").glob("*.png"))) == 1
    assert "no live source" in capsys.readouterr().err


def test_a_render_says_where_its_video_went_that_it_replaced_a_file_and_that_it_enlarged_the_portrait(tmp_path,
                                                                                                      capsys):
    out = tmp_path / "take.mp4"
    for size in (512, 1100, 8):
        assert main(["run", str(REPO / "graphs" / "demo.json"), "--quiet", "--frames", "3",
                     "--set", f"out.path={out}", "--set", f"render.size={size}"]) == 0
    err = capsys.readouterr().err
    assert f"note: out: wrote {out}\n" in err and f"note: out: wrote {out} (replacing the file that was there)" in err
    assert err.count("enlarged") == 1  # the astronaut is 512 px: at 1100 it is soft, and the run says so once
    assert "note: render: the portrait is read at 512x512; at size 1100 it is enlarged 2.1x and looks soft" in err
    assert "at size 8 the output is too small to show a face" in err


def test_set_values_are_checked_by_type(tmp_path, capsys):
    cases = [("resize.width=wide", "'wide' is not a number"),
             ("resize.width=100000", "above the maximum 8192"),
             ("resize.depth=3", "'resize': unknown param of image.resize (known:"),
             ("nobody.width=3", "no node 'nobody'"),
             ("width3", "expected NODE.PARAM=VALUE")]
    for item, expected in cases:
        assert main(["run", str(PORTRAIT), "--set", item]) == 2
        assert expected in capsys.readouterr().err


def test_set_path_from_command_line_may_point_anywhere(tmp_path, capsys, monkeypatch):
    gray = tmp_path / "elsewhere" / "gray16.png"
    gray.parent.mkdir()
    iio.imwrite(gray, (np.arange(32 * 48, dtype=np.uint16).reshape(32, 48) * 40))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(PORTRAIT), "--set", f"target.path={gray}", "--set", "resize.width=0",
                 "--quiet"]) == 0
    written = iio.imread(tmp_path / "renders" / "portrait" / "frame_000000.png")
    assert written.shape == (32, 48, 3) and written.dtype == np.uint8


def test_missing_input_file_is_a_clear_failure(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(PORTRAIT), "--set", f"target.path={tmp_path / 'nope.png'}", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "node 'target' (capture.image) failed" in err and "nope.png' not found" in err


def test_unwritable_output_is_a_clear_failure(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["run", str(PORTRAIT), "--set", f"out.path={blocker / 'sub'}", "--quiet"]) == 1
    assert "cannot write there" in capsys.readouterr().err


def test_user_mistakes_never_print_a_traceback(tmp_path):
    for args in (["run", "missing.json"], ["run", str(PORTRAIT), "--frames", "0"], ["validate"],
                 ["run", str(PORTRAIT), "--set", "x"], ["explode"]):
        done = reenact(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stderr)
        assert "Traceback" not in done.stderr and done.stderr.strip()


def test_ctrl_c_closes_nodes_and_keeps_finished_frames(tmp_path):
    preset = json.loads(PORTRAIT.read_text())
    preset["nodes"].insert(0, {"id": "clock", "type": "util.clock", "type_version": 1, "params": {}})
    (tmp_path / "live.json").write_text(json.dumps(preset))
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "live.json", "--quiet"], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    folder = tmp_path / "renders" / "portrait"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(folder.glob("*.png"))) < 3:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    for frame in folder.glob("*.png"):
        assert iio.imread(frame).shape == (256, 256, 3)  # every file whole
    assert not list(folder.glob(".*partial*"))


def test_a_graph_with_no_nodes_is_refused_and_one_with_no_output_says_its_frames_go_nowhere(tmp_path, capsys):
    empty = {"format": "reenact-studio/graph", "format_version": 1, "nodes": [], "links": []}
    (tmp_path / "empty.json").write_text(json.dumps(empty))
    assert main(["run", str(tmp_path / "empty.json")]) == 2  # it exited 0, having done nothing
    assert "the graph has no nodes, so there is nothing to run" in capsys.readouterr().err
    alone = {**empty, "nodes": [{"id": "n", "type": "util.number", "type_version": 1, "params": {}}]}
    (tmp_path / "alone.json").write_text(json.dumps(alone))
    assert main(["run", str(tmp_path / "alone.json"), "--quiet"]) == 0
    assert "no output node" in capsys.readouterr().err


def test_a_looping_clip_says_the_run_goes_on_until_stopped(tmp_path):
    """A preset saved with its clip looping (the editor's Loop switch) rendered to a file for minutes
    with no word of why it did not end."""
    (tmp_path / "clip.mp4").write_bytes((REPO / "tests" / "data" / "real" / "single_face.mp4").read_bytes())
    preset = {"format": "reenact-studio/graph", "format_version": 1, "nodes": [
        {"id": "driver", "type": "capture.video", "type_version": 1, "params": {"path": "clip.mp4", "loop": True}},
        {"id": "out", "type": "output.video", "type_version": 1, "params": {"path": "out.mp4"}}],
        "links": [{"from": ["driver", "image"], "to": ["out", "image"]}]}
    (tmp_path / "loop.json").write_text(json.dumps(preset))
    process = subprocess.Popen([sys.executable, "-m", "app.cli", "run", "loop.json", "--quiet"], cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert "driver loops (loop=true), so this run goes on until Ctrl-C" in first, first + err
    assert "--frames N" in first and process.returncode == 130, err


def _fake_distribution(root: Path, name: str, module: str, source: str) -> None:
    (root / f"{module}.py").write_text(source)
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[reenact.nodes]\n{name} = {module}\n")


def test_plugins_load_and_a_broken_plugin_is_reported_not_fatal(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "goodplug", "goodplug_nodes", (
        "from app.runtime.node import Node\n"
        "from app.runtime.schema import NodeSchema\n"
        "class Glow(Node):\n"
        "    schema = NodeSchema('acme.glow', 'Glow', 'fx', 'glows')\n"
        "NODES = [Glow]\n"))
    _fake_distribution(tmp_path, "badplug", "badplug_nodes", "raise ImportError('needs libfoo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = default_registry()
    assert "acme.glow" in registry and "capture.image" in registry
    assert any("badplug" in p.source and "needs libfoo" in p.message for p in registry.problems)


def test_short_soak_keeps_memory_flat(tmp_path, capsys):
    """The suite's short soak; `reenact soak graphs/demo.json --frames 10000 --set driver.duration=0` is
    the long one (README)."""
    report = tmp_path / "soak.json"
    code = main(["soak", str(REPO / "graphs" / "demo.json"), "--frames", "400", "--warmup", "100", "--samples", "8",
                 "--quiet", "--set", "driver.duration=0", "--set", "render.size=128",
                 "--set", f"out.path={tmp_path / 'soak.mp4'}", "--json", str(report)])
    data = json.loads(report.read_text())
    assert data["frames"] == 400 and len(data["samples"]) == 8 and not data["failures"]
    assert data["rss_growth_pct"] < 5.0  # memory, not time: timings are never asserted
    assert code == (0 if data["ok"] else 1) and "RSS" in capsys.readouterr().err
    assert not data["source_ended"]


def test_a_soak_whose_source_ends_early_says_so(tmp_path, capsys):
    main(["soak", str(REPO / "graphs" / "demo.json"), "--frames", "100", "--warmup", "5", "--quiet",
          "--set", "driver.duration=1", "--set", "render.size=64", "--set", f"out.path={tmp_path / 'soak.mp4'}"])
    assert "note: the source ended after 25 of the 100 frames asked for" in capsys.readouterr().err
