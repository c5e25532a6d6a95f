"""Issue 17, hostile input to `reenact run`: drivers that cannot be opened, a missing camera, signals,
variable frame rates, the output's frame rate, partial files, output paths and soak's last sample. Each
test checks the exit code, the message, and that nothing was lost or left behind; busy loops are caught
by CPU time."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from app.cli import main
from app.runtime.progress import Progress
from app.cli.soak import soak
from app.runtime.context import FrameContext
from app.runtime.errors import EndOfStream
from app.runtime.gpu.image import Image
from app.runtime.graph import Graph, NodeSpec
from app.runtime.scheduler import Scheduler
from tests.conftest import REPO, Sink
from tests.test_cli import reenact
from tests.test_video import make

VFR_CLIP = REPO / "tests" / "data" / "real" / "noface_face.mov"  # 169 frames in 6.4 s, variable rate


def preset(folder: Path, source: dict, out: dict, resize: int = 0) -> Path:
    """A preset source -> out (-> resized to `resize` pixels wide first), written into `folder`."""
    nodes = [{"id": "driver", **source}, {"id": "out", **out}]
    if resize:
        nodes.insert(1, {"id": "resize", "type": "image.resize", "params": {"width": resize, "height": 0}})
    doc = {"format": "reenact-studio/graph", "format_version": 1, "meta": {"name": "t"},
           "nodes": [{"type_version": 1, **node} for node in nodes],
           "links": [{"from": [a["id"], "image"], "to": [b["id"], "image"]} for a, b in zip(nodes, nodes[1:])]}
    path = folder / "p.json"
    path.write_text(json.dumps(doc))
    return path


def video_preset(folder: Path, resize: int = 0, **driver) -> Path:
    """capture.video (the bundled clip unless --set driver.path=...) -> output.video renders/out.mp4"""
    return preset(folder, {"type": "capture.video", "params": {"path": "driving/hopper_talks.mp4", **driver}},
                  {"type": "output.video", "params": {"path": "renders/out.mp4"}}, resize)


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Running:
    """`reenact ARGS` in the background, its stderr collected line by line."""

    def __init__(self, *args: str, cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-m", "app.cli", *args], cwd=cwd, text=True,
                                        stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        self.lines: list[str] = []
        self._reader = threading.Thread(target=lambda: self.lines.extend(self.process.stderr), daemon=True)
        self._reader.start()

    def wait_until(self, ready, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not ready() and time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.05)
        assert ready(), self.err

    def finish(self, timeout: float = 60.0) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    @property
    def err(self) -> str:
        return "".join(self.lines)


# ------------------------------------------------------------------ item 1: a driver that cannot be opened
def _driver(tmp_path: Path, kind: str) -> str:
    if kind == "missing":
        return str(tmp_path / "nope.mp4")
    if kind == "folder":
        (tmp_path / "folder.mp4").mkdir()
        return str(tmp_path / "folder.mp4")
    if kind == "empty path":
        return ""
    content = {"0 bytes": b"", "text": b"just some text\n" * 50,
               "cut before its index": (REPO / "tests/data/real/single_face.mp4").read_bytes()[:100_000]}[kind]
    (tmp_path / "bad.mp4").write_bytes(content)
    return str(tmp_path / "bad.mp4")


@pytest.mark.parametrize("kind, says, pipeline", [
    ("missing", "nope.mp4' not found", False), ("missing", "nope.mp4' not found", True),
    ("0 bytes", "bad.mp4: the file is empty (0 bytes)", False), ("text", "cannot read the video", False),
    ("folder", "folder.mp4' is a folder, not a file", False),
    ("cut before its index", "the file is cut short: it ends before its index", True),
    ("empty path", "no file set", False)])
def test_a_driver_that_cannot_be_opened_stops_the_run(tmp_path, kind, says, pipeline):
    graph = video_preset(tmp_path)
    done = reenact("run", str(graph), "--quiet", *(["--pipeline"] if pipeline else []),
                   "--set", f"driver.path={_driver(tmp_path, kind)}", cwd=tmp_path)  # reenact() has a timeout
    assert done.returncode == 1, done.stderr
    assert "node 'driver' (capture.video) could not start" in done.stderr and says in done.stderr
    assert "stopped before the first frame" in done.stderr and "Traceback" not in done.stderr
    assert files_under(tmp_path / "renders") == []


def test_validate_warns_that_an_input_file_is_missing(tmp_path, capsys):
    graph = video_preset(tmp_path, path="clips/not_there.mp4")
    assert main(["validate", str(graph)]) == 0  # `run --set driver.path=...` can still make it runnable
    err = capsys.readouterr().err
    assert "warning:" in err and "nodes[0].params.path: file 'clips/not_there.mp4' not found" in err


# ------------------------------------------------------------------ items 2 and 6: a missing camera, SIGTERM
def test_a_missing_camera_waits_without_burning_a_core_and_sigterm_stops_it(tmp_path):
    graph = preset(tmp_path, {"type": "capture.webcam", "params": {"device": 63, "timeout": 0.5}},
                   {"type": "output.images", "params": {"path": "renders/frames"}})
    run = Running("run", str(graph), "--quiet", cwd=tmp_path)
    run.wait_until(lambda: "no camera at /dev/video63" in run.err)
    cpu, wall = cpu_seconds(run.process.pid), time.monotonic()
    time.sleep(2.0)
    busy = (cpu_seconds(run.process.pid) - cpu) / (time.monotonic() - wall)
    run.process.send_signal(signal.SIGTERM)
    assert run.finish() == 143, run.err
    assert busy < 0.2, f"{busy:.0%} of a core while waiting for the camera"  # the busy loop used 100%
    assert "terminated (SIGTERM): nodes closed and outputs finalized" in run.err and "Traceback" not in run.err
    assert files_under(tmp_path / "renders") == []


def _render_until_frames_are_written(tmp_path: Path) -> tuple[Running, Path]:
    graph = video_preset(tmp_path, loop=True)
    run = Running("run", str(graph), "--quiet", cwd=tmp_path)
    renders = tmp_path / "renders"
    run.wait_until(lambda: any(p.stat().st_size > 20_000 for p in renders.glob(".out.*.partial.mp4")))
    return run, renders


def test_sigterm_finalizes_the_video_like_ctrl_c(tmp_path):
    run, renders = _render_until_frames_are_written(tmp_path)
    run.process.send_signal(signal.SIGTERM)
    assert run.finish() == 143, run.err
    assert "terminated (SIGTERM): nodes closed and outputs finalized" in run.err and "Traceback" not in run.err
    assert files_under(renders) == ["out.mp4"]  # finished under its own name, no partial left
    assert imageio_ffmpeg.count_frames_and_secs(str(renders / "out.mp4"))[0] > 10


def test_a_second_signal_at_once_leaves_no_partial_file(tmp_path):
    run, renders = _render_until_frames_are_written(tmp_path)
    run.process.send_signal(signal.SIGINT)
    time.sleep(0.02)
    run.process.send_signal(signal.SIGINT)
    assert run.finish() == 130, run.err
    assert "interrupted" in run.err and "Traceback" not in run.err
    left = files_under(renders)
    assert left in ([], ["out.mp4"]), left  # finished in time or removed: never half-written
    if left:
        assert imageio_ffmpeg.count_frames_and_secs(str(renders / "out.mp4"))[0] > 10


# ------------------------------------------------------------------ items 4 and 5: frame rates
def test_a_variable_frame_rate_clip_plays_its_own_frames_at_their_own_times(studio_registry):
    node, run = make(studio_registry, "capture.video", path=str(VFR_CLIP))
    stamps = []
    with pytest.raises(EndOfStream):
        while True:
            stamps.append(node.process(FrameContext(len(stamps), 0.0, run))["image"].timestamp)
    node.close()
    assert len(stamps) == 169  # not 765 (the clip resampled to its 120 fps time base)
    assert stamps[0] == 0.0 and np.all(np.diff(stamps) > 0) and stamps[-1] == pytest.approx(6.345, abs=0.01)
    assert np.ptp(np.diff(stamps)) > 0.02  # the gaps really vary: times come from the stream
    assert run.frame_rate == pytest.approx(26.49)


def test_a_variable_frame_rate_driver_renders_as_long_as_it_lasts(tmp_path):
    done = reenact("run", str(video_preset(tmp_path, resize=160)), "--quiet", "--set", f"driver.path={VFR_CLIP}",
                   cwd=tmp_path)
    assert done.returncode == 0 and "169 frames" in done.stderr, done.stderr
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "renders" / "out.mp4"))
    # was 765 frames and 25.5 s; at its average rate (26.49 fps, 120 tbr) a frame whose neighbour came closer
    # than a slot is left out
    assert 167 <= frames <= 169 and seconds == pytest.approx(6.4, abs=0.1)
    assert files_under(tmp_path / "renders") == ["out.mp4"]


def test_the_output_follows_the_drivers_frame_rate(tmp_path):
    clip = tmp_path / "ntsc_film.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x64:rate=24000/1001", "-frames:v", "48", "-pix_fmt", "yuv420p", str(clip)],
                   check=True, timeout=60)
    assert main(["run", str(video_preset(tmp_path)), "--quiet", "--set", f"driver.path={clip}",
                 "--set", f"out.path={tmp_path / 'out.mp4'}"]) == 0
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "out.mp4"))
    assert frames == 48 and seconds == pytest.approx(48 / 23.976, abs=0.05)  # at 30 fps: 1.6 s, 1.25x fast


# ------------------------------------------------------------------ item 7: partial files unique per run
def test_two_writers_of_one_file_never_share_a_partial_file(studio_registry, tmp_path):
    target = tmp_path / "same.mp4"
    first, run = make(studio_registry, "output.video", path=str(target))
    second, _ = make(studio_registry, "output.video", path=str(target))
    for count, node in ((3, first), (5, second)):
        for i in range(count):
            node.process(FrameContext(i, 0.0, run), image=Image(np.full((32, 32, 3), 50 * count, np.uint8)))
    first.close()  # both finish without an error (with one shared partial name, the second's was gone)
    assert imageio_ffmpeg.count_frames_and_secs(str(target))[0] == 3
    second.close()
    assert imageio_ffmpeg.count_frames_and_secs(str(target))[0] == 5
    assert files_under(tmp_path) == ["same.mp4"]


# ------------------------------------------------------------------ item 8: output paths
def test_a_folder_as_the_output_file_is_refused_before_the_first_frame(tmp_path):
    (tmp_path / "renders" / "out.mp4").mkdir(parents=True)
    done = reenact("run", str(video_preset(tmp_path)), "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "out.mp4: is a folder, not a video file" in done.stderr and "stopped before the first frame" in done.stderr
    assert files_under(tmp_path / "renders") == []


@pytest.mark.parametrize("path", ["renders", ""])  # a folder without a video suffix, the working directory
def test_a_folder_named_without_a_suffix_is_called_a_folder(tmp_path, capsys, monkeypatch, path):
    (tmp_path / "renders").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(video_preset(tmp_path)), "--quiet", "--set", f"out.path={path}"]) == 1
    err = capsys.readouterr().err  # was "unsupported video type ''"
    assert ": is a folder, not a video file (name a file, e.g. --set out.path=renders/clip.mp4)" in err
    assert files_under(tmp_path / "renders") == []


def test_set_output_path_is_held_to_the_presets_rule_against_dotdot(tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    graph = video_preset(work)
    assert main(["run", str(graph), "--quiet", "--set", "out.path=../x.mp4"]) == 2
    assert "'../x.mp4' must not contain '..'" in capsys.readouterr().err
    assert files_under(tmp_path) == ["work/p.json"]



def test_a_preset_cannot_reach_the_home_folder_through_a_tilde(tmp_path, capsys, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (home / "secret.png").write_bytes((REPO / "assets" / "portraits" / "astronaut.png").read_bytes())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    graph = preset(work, {"type": "capture.image", "params": {"path": "~/secret.png"}},
                   {"type": "output.video", "params": {"path": "~/escape.mp4"}})
    assert main(["run", str(graph), "--quiet"]) == 2  # it read ~/secret.png and wrote ~/escape.mp4
    err = capsys.readouterr().err
    assert "'~/secret.png' is an absolute path; presets may only use paths relative to their folder" in err
    assert "'~/escape.mp4' must be a relative path without '..'" in err
    assert files_under(home) == ["secret.png"] and files_under(work) == ["p.json"]

# ------------------------------------------------------------------ item 13: soak's last sample
def test_soak_takes_its_last_memory_sample_before_the_nodes_close(registry, monkeypatch):
    graph = Graph()
    graph.add(NodeSpec("count", "test.counter"))
    graph.add(NodeSpec("sink", "test.sink"))
    graph.connect("count", "value", "sink", "value")
    # closing frees memory: a sample taken after it would hide growth
    monkeypatch.setattr("app.cli.soak.resident_mb", lambda: 50.0 if ("close", "sink") in Sink.lifecycle else 100.0)
    report = soak(Scheduler(graph, registry), 40, 10, 4, Progress(None, enabled=False), lambda message: None)
    assert report["frames"] == 40 and report["rss_end_mb"] == 100.0 and len(report["samples"]) == 4


def test_ctrl_c_while_the_command_is_still_importing_ends_quietly():
    # the console script's own entry, with Ctrl-C 10 ms into importing the command's modules (they take far
    # longer). The timer starts once the launcher is imported, as the console script imports it first: started
    # before, on a loaded machine the Ctrl-C came while Python was still reading this script
    script = ("import os, signal, sys\n"
              "signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGINT))\n"
              "sys.argv = ['reenact', 'doctor']\n"
              "from app.launcher import main\n"
              "signal.setitimer(signal.ITIMER_REAL, 0.01)\n"
              "sys.exit(main())\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 130 and done.stderr.strip() == "interrupted", done.stderr


@pytest.mark.parametrize("given, kept", [(None, "1"), ("2", "2")])
def test_the_launcher_gives_numpys_blas_pool_one_thread_before_numpy_starts_it(given, kept):
    """NumPy's BLAS pool, sized to the machine, left threads spinning after each small per-frame solve and
    took 3 ms a frame from the software rasterizer; NumPy reads the count once, when it is first imported.
    A count the user exported stays theirs."""
    script = ("import os, sys\n"
              "from app.launcher import BLAS_ENV, main\n"
              "assert 'numpy' not in sys.modules\n"
              "sys.argv = ['reenact', '--help']\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "import numpy\n"
              "print(os.environ[BLAS_ENV])\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1],
                          env=env if given is None else {**env, "OPENBLAS_NUM_THREADS": given})
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == kept, done.stderr



@pytest.mark.parametrize("content, says", [(b"", "target.png: the file is empty (0 bytes)"),
                                           (b"not a picture", "target.png: cannot read the image")])
def test_an_unreadable_target_image_stops_the_run_at_the_first_frame(tmp_path, capsys, monkeypatch, content, says):
    (tmp_path / "target.png").write_bytes(content)
    graph = preset(tmp_path, {"type": "capture.image", "params": {"path": "target.png"}},
                   {"type": "output.video", "params": {"path": "renders/out.mp4"}})
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(graph), "--quiet", "--frames", "200"]) == 1  # not 200 frames of the same failure
    err = capsys.readouterr().err
    assert says in err and ("use a PNG, JPEG" in err or not content)
    assert "stopped before the first frame" in err and "failed in" not in err and "Traceback" not in err
    assert files_under(tmp_path / "renders") == []


# ------------------------------------------------------------------ bench and soak: signals, --json, arguments
class _TerminatedAt50(Progress):
    """A progress line that sends this process SIGTERM once 50 frames are done (once: a second would
    interrupt the finalization)."""

    def update(self, frame: int, fps: float, force: bool = False, note: str = "") -> None:
        if frame == 50 and not getattr(self, "sent", False):
            self.sent = True
            os.kill(os.getpid(), signal.SIGTERM)


def test_a_bench_or_soak_cut_short_exits_128_plus_the_signal_without_a_verdict(tmp_path, capsys, monkeypatch,
                                                                               studio_registry):
    from app.cli.bench import chain_graph
    from app.cli.console import Interrupted

    monkeypatch.setattr("app.cli.bench.Progress", _TerminatedAt50)
    report = tmp_path / "bench.json"
    assert main(["bench", "--chain", "3", "--frames", "100000", "--warmup", "0", "--json", str(report)]) == 143
    assert "bench interrupted: the figures above cover only the 50 frames measured" in capsys.readouterr().err
    assert json.loads(report.read_text())["signal"] == signal.SIGTERM  # was exit 0, as if complete
    # cut short in the warm-up: no figures (they read as 2.9 fps, p95 1.6 s: the start-up's)
    assert main(["bench", "--chain", "3", "--frames", "10", "--warmup", "100", "--json", str(tmp_path / "w.json")]) == 143
    assert "bench interrupted during the warm-up (50 of 100 frames): nothing was measured" in capsys.readouterr().err
    assert not (tmp_path / "w.json").exists()

    with pytest.raises(Interrupted, match=r"soak stopped after 50 of 100010 frames: no verdict") as info:
        soak(Scheduler(chain_graph(3), studio_registry), 100_000, 10, 40, _TerminatedAt50(None), lambda m: None)
    assert info.value.signum == signal.SIGTERM  # was a passing verdict from the first 50 frames


def test_bench_and_soak_refuse_a_json_report_they_cannot_write_before_measuring(tmp_path, capsys):
    (tmp_path / "reports").mkdir()
    assert main(["bench", "--chain", "3", "--frames", "10", "--json", str(tmp_path / "reports")]) == 2
    assert "reports: is a folder, not a file (name a file in it, e.g." in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["soak", str(REPO / "graphs" / "demo.json"), "--json", str(tmp_path / "file" / "s.json")]) == 2
    err = capsys.readouterr().err
    assert f"cannot make a folder there: {tmp_path / 'file'} is a file" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["file", "reports"]


@pytest.mark.parametrize("args", [["soak", "GRAPH", "--samples", "0"], ["soak", "GRAPH", "--warmup", "-5"],
                                  ["bench", "--chain", "0"], ["bench", "GRAPH", "--warmup", "-5"]])
def test_bench_and_soak_refuse_counts_that_make_no_sense(args, capsys):
    with pytest.raises(SystemExit) as info:  # --samples 0 was a ZeroDivisionError traceback
        main([str(REPO / "graphs" / "demo.json") if a == "GRAPH" else a for a in args])
    assert info.value.code == 2
    assert "must be at least" in capsys.readouterr().err


def test_an_egl_device_that_is_not_there_is_called_a_wrong_number_not_a_missing_driver(tmp_path, capsys,
                                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--egl-device", "99", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "EGL device 99 was asked for (--egl-device or GLCONTEXT_DEVICE_INDEX): pick one that `reenact doctor` " \
           "lists" in err
    assert "apt-get install" not in err and "stopped before the first frame" in err  # was: install a driver
    assert files_under(tmp_path) == []


def test_an_image_sequence_prefix_that_is_a_path_is_refused_before_the_first_frame(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = preset(tmp_path, {"type": "capture.image", "params": {"path": "portraits/astronaut.png"}},
                   {"type": "output.images", "params": {"path": "renders/frames", "prefix": "../../x"}})
    assert main(["run", str(graph), "--quiet", "--frames", "50"]) == 1  # was: failed in each of the 50 frames
    err = capsys.readouterr().err
    assert "prefix '../../x' must be a file name, not a path" in err and "stopped before the first frame" in err
    assert files_under(tmp_path) == ["p.json"]


def test_an_image_sequence_without_a_folder_is_refused_before_the_first_frame(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    graph = preset(tmp_path, {"type": "capture.image", "params": {"path": "portraits/astronaut.png"}},
                   {"type": "output.images", "params": {"path": ""}})
    assert main(["run", str(graph), "--quiet", "--frames", "3"]) == 1  # was: frames written into the working folder
    err = capsys.readouterr().err
    assert "no output folder set" in err and "stopped before the first frame" in err
    assert files_under(tmp_path) == ["p.json"]


def test_a_bench_on_a_clip_shorter_than_its_warm_up_measures_nothing_and_says_so(tmp_path, capsys):
    """A one-frame driver: the bench reported fps 0.9 and p95 1125 ms, the warm-up's cost, as if measured."""
    import imageio_ffmpeg

    one = tmp_path / "one.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i",
                    str(REPO / "tests" / "data" / "real" / "single_face.mp4"), "-frames:v", "1", str(one)], check=True)
    code = main(["bench", str(REPO / "graphs" / "video_to_portrait.json"), "--frames", "30", "--quiet",
                 "--set", f"driver.path={one}"])
    err = capsys.readouterr().err
    assert code != 0 and "nothing was measured: the source ended after 1 frame(s)" in err and "Traceback" not in err
