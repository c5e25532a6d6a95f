"""graphs/video_target.json against hostile target clips and caches: each test is one problem that used
to hang, fail every frame, or say too little. Each checks the exit code, the message, and that nothing
was lost or left behind."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from nodes.target.index import IndexSettings, cache_path, content_hash, load_index, load_or_build

REPO = Path(__file__).resolve().parents[1]
GRAPH = REPO / "graphs" / "video_target.json"
CLIP = REPO / "tests" / "data" / "real" / "single_face.mp4"  # 640x360, 72 frames (see ORIGIN.md)
EVERY = 6  # 12 of the clip's frames: a quick index
SETTINGS = IndexSettings(every=EVERY)  # what `--set target.every=6` asks for (max_frames 0, max_side 720)


def _run(tmp_path: Path, target: Path | str, *more: str) -> list[str]:
    return ["run", str(GRAPH), "--quiet", "--frames", "2", "--set", f"target.path={target}",
            "--set", f"target.every={EVERY}", "--set", f"out.path={tmp_path / 'out.mp4'}", *more]


def _listing(folder: Path) -> list[str]:
    """What the state folder holds, less the signing key a run that writes a file makes once."""
    found = (str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else ()
    return sorted(name for name in found if not name.startswith("content-credentials"))


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "state"
    monkeypatch.setenv("REENACT_STATE_DIR", str(folder))
    return folder


@pytest.mark.parametrize("kind", ["device", "pipe"])
def test_a_device_or_a_pipe_as_the_target_clip_is_refused_instead_of_read_forever(tmp_path, kind):
    """Hashing /dev/zero for the cache key never ended, and SIGTERM could not stop it."""
    target = Path("/dev/zero")
    if kind == "pipe":
        target = tmp_path / "clip.mp4"
        os.mkfifo(target)
    state = tmp_path / "state"
    done = subprocess.run([sys.executable, "-m", "app.cli", *_run(tmp_path, target)], cwd=tmp_path, text=True,
                          capture_output=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), "REENACT_STATE_DIR": str(state)})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == [f"error: node 'target' (target.video) could not start: {target}: is not a regular file (a "
                      "device, a pipe or a socket) (name a file)"]  # found where the path resolves, for every node
    assert not (tmp_path / "out.mp4").exists() and _listing(state) == []
    assert not (state / "content-credentials").exists()  # no file written: no signing key made either


def test_an_empty_target_clip_is_called_empty(tmp_path, state, capsys):
    empty = tmp_path / "clip.mp4"
    empty.write_bytes(b"")
    assert main(_run(tmp_path, empty)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{empty}: the file is empty (0 bytes)" in err and "Invalid data" not in err
    assert _listing(tmp_path) == ["clip.mp4"]  # no output, no cache


def test_a_cache_that_loads_but_is_damaged_is_built_again(tmp_path, state, capsys):
    """A cached index whose zip is whole but whose contents are not (garbled frames rewritten with a fresh
    CRC, NaN landmarks, arrays of the wrong shape) was used: every frame failed in cv2, or int() raised
    on open. Now it is tracked again and the cache replaced."""
    index, how = load_or_build(CLIP, state, SETTINGS)
    assert how == "built"
    cached = cache_path(state, content_hash(CLIP), SETTINGS)
    with np.load(cached, allow_pickle=False) as data:
        good = dict(data)
    garbled = good["jpeg"].copy()
    garbled[:] = 7
    damages = {"jpeg": garbled, "landmarks": np.full_like(good["landmarks"], np.nan),
               "version": np.array([good["version"]] * 2), "image_size": np.array([640, 360, 3]),
               "frames_seen": np.array([12, 12]), "jpeg_offsets": np.zeros(0, np.int64)}
    for name, damaged in damages.items():
        np.savez(cached, **{**good, name: damaged})
        assert load_index(cached) is None, name

    np.savez(cached, **{**good, "jpeg": garbled})  # the one a run meets
    assert main(_run(tmp_path, CLIP)) == 0
    err = capsys.readouterr().err
    assert "error" not in err and "Traceback" not in err
    rebuilt = load_index(cached)
    assert rebuilt is not None and np.array_equal(rebuilt.jpeg_offsets, index.jpeg_offsets)
    assert (tmp_path / "out.mp4").stat().st_size > 0
    assert _listing(state) == ["target-index", f"target-index/{cached.name}"]  # no partial file left


def test_an_index_that_cannot_be_cached_says_where_and_what_to_do(tmp_path, state, capsys):
    state.mkdir()
    (state / "target-index").write_text("in the way")  # as a read-only or full state folder: no cache
    assert main(_run(tmp_path, CLIP)) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    notes = [line for line in err.splitlines() if "not cached" in line]
    assert len(notes) == 1 and str(state) in notes[0] and "REENACT_STATE_DIR" in notes[0], err
    assert (state / "target-index").read_text() == "in the way" and _listing(state) == ["target-index"]
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_a_still_image_as_the_target_clip_says_every_frame_comes_from_one_still(tmp_path, state, capsys):
    still = REPO / "assets" / "portraits" / "grace_hopper.jpg"
    assert main(_run(tmp_path, still)) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "note: target: only one frame of grace_hopper.jpg shows a face, so every output frame is warped" in err
    assert (tmp_path / "out.mp4").stat().st_size > 0


def test_a_target_clip_cut_short_says_so_every_run_and_uses_the_frames_before_the_cut(tmp_path, state, capsys):
    import imageio_ffmpeg

    whole = tmp_path / "faststart.mp4"  # index first, so a cut file still opens: the damage comes mid-stream
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(CLIP), "-c", "copy",
                    "-movflags", "faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for _ in range(2):  # not cached: the second run says it again
        assert main(_run(tmp_path, cut)) == 0
        err = capsys.readouterr().err
        notes = [line for line in err.splitlines() if "could not decode all of cut.mp4" in line]
        assert len(notes) == 1 and "frames before the damage" in notes[0], err
        assert "Traceback" not in err and "ffmpeg version" not in err  # no banner, once or per frame
    assert _listing(state) in ([], ["target-index"])
