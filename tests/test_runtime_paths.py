"""Where outputs go when they must not replace anything (app.runtime.paths.first_free, RunContext.output)."""
from __future__ import annotations

from app.runtime.context import RunContext
from app.runtime.paths import first_free


def test_a_take_goes_to_the_first_free_name_beside_what_is_there(tmp_path):
    video = tmp_path / "take.mp4"
    assert first_free(video) == video
    video.write_bytes(b"1")
    (tmp_path / "take-2.mp4").write_bytes(b"2")
    assert first_free(video) == tmp_path / "take-3.mp4"
    folder = tmp_path / "frames"
    folder.mkdir()
    assert first_free(folder) == folder  # an empty folder holds nothing to keep
    (folder / "frame_000000.png").write_bytes(b"")
    assert first_free(folder) == tmp_path / "frames-2"


def test_only_a_run_that_keeps_files_moves_its_outputs_aside_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.mp4").write_bytes(b"earlier take")
    assert RunContext().output("out.mp4") == tmp_path / "out.mp4"  # a render replaces its file
    run = RunContext(keep_files=True)
    assert run.output("out.mp4") == tmp_path / "out-2.mp4"
    assert run.notices == [f"{tmp_path / 'out.mp4'} is kept: recording to out-2.mp4 beside it"]
