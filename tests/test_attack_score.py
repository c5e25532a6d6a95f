"""`reenact score` against hostile input: each test is one problem that used to give a traceback, a wrong
message, a report of nothing with exit 0, or a lost file. Each checks the exit code, the one-line message,
and that nothing was lost or left behind."""
from __future__ import annotations

import os
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image as PILImage

from app.cli import main
from nodes.capture.video import VideoReader

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "data" / "real" / "single_face.mp4"  # 640x360, 72 frames (see ORIGIN.md)
PORTRAIT = REPO / "assets" / "portraits" / "grace_hopper.jpg"


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> Path:
    height, width = frames[0].shape[:2]
    writer = imageio_ffmpeg.write_frames(str(path), (width, height), fps=fps, codec="libx264", quality=9,
                                         macro_block_size=1, output_params=["-pix_fmt", "yuv444p"])
    writer.send(None)
    for frame in frames:
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    return path


def _first_frames(count: int) -> list[np.ndarray]:
    reader = VideoReader(CLIP)
    try:
        return [reader.read().copy() for _ in range(count)]
    finally:
        reader.close()


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory) -> Path:
    """The first 6 frames of single_face.mp4: a face in each, quick to score."""
    return _write_video(tmp_path_factory.mktemp("clips") / "short.mp4", _first_frames(6))


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("error:") or "error:" in line]
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    return lines[0]


def test_a_folder_given_as_the_driver_is_called_a_folder_not_a_missing_file(tmp_path, short_clip, capsys):
    folder = tmp_path / "clips"
    folder.mkdir()
    before = _listing(tmp_path)
    assert main(["score", str(folder), str(short_clip)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(folder) in line and "is a folder, not a file" in line and "no such file" not in line
    assert _listing(tmp_path) == before


def test_an_empty_output_file_is_called_empty(tmp_path, short_clip, capsys):
    empty = tmp_path / "render.mp4"
    empty.write_bytes(b"")
    assert main(["score", str(short_clip), str(empty)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(empty) in line and "empty (0 bytes)" in line
    assert _listing(tmp_path) == ["render.mp4"] and empty.stat().st_size == 0


def test_a_device_as_the_driver_is_refused_as_not_a_regular_file(tmp_path, short_clip, capsys):
    assert main(["score", "/dev/zero", str(short_clip)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "/dev/zero" in line and "not a regular file" in line
    assert _listing(tmp_path) == []


def test_a_still_image_as_driver_or_output_is_refused_instead_of_scored_as_one_frame(tmp_path, short_clip, capsys):
    """It used to exit 0 with a report of dashes ('compared 1 frames')."""
    jpeg = tmp_path / "portrait.jpg"
    jpeg.write_bytes(PORTRAIT.read_bytes())
    png_named_mp4 = tmp_path / "render.mp4"  # the content decides, not the name
    PILImage.open(PORTRAIT).save(png_named_mp4, format="PNG")
    before = {p: p.read_bytes() for p in (jpeg, png_named_mp4)}
    assert main(["score", str(jpeg), str(short_clip)]) == 1
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert str(jpeg) in line and "still JPEG image, not a video: the driver must be a video" in line
    assert "--target" in line and "Motion transfer" not in captured.out
    assert main(["score", str(short_clip), str(png_named_mp4)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(png_named_mp4) in line and "still PNG image, not a video: the output must be a video" in line
    assert {p: p.read_bytes() for p in before} == before and len(_listing(tmp_path)) == 2


def test_two_frames_in_common_are_refused_instead_of_reported_as_nothing(tmp_path, short_clip, capsys):
    two = _write_video(tmp_path / "two.mp4", _first_frames(2))
    report = tmp_path / "report.json"
    assert main(["score", str(short_clip), str(two), "--json", str(report)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(two) in line and "only 2 frame(s) in common: motion needs at least 3" in line
    assert _listing(tmp_path) == ["two.mp4"]  # no report of nothing


def test_a_json_path_naming_an_input_is_refused_before_scoring_and_the_input_survives(tmp_path, short_clip,
                                                                                        capsys):
    """It used to score, then overwrite the rendered video with the JSON report."""
    output = tmp_path / "render.mp4"
    output.write_bytes(short_clip.read_bytes())
    before = output.read_bytes()
    assert main(["score", str(short_clip), str(output), "--json", str(tmp_path / "." / "render.mp4")]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert "--json" in line and "one of the files being scored" in line and "Motion transfer" not in captured.out
    assert output.read_bytes() == before and _listing(tmp_path) == ["render.mp4"]


@pytest.mark.parametrize("where, says", [
    (lambda tmp: tmp / "reports", "is a folder, not a file"),
    (lambda tmp: tmp / "notes.txt" / "score.json", "is a file"),
])
def test_a_json_path_that_cannot_hold_a_file_is_refused_before_scoring(tmp_path, short_clip, capsys, where, says):
    """A folder, or a path under a file: a traceback after the whole score used to follow."""
    (tmp_path / "reports").mkdir()
    (tmp_path / "notes.txt").write_text("keep me")
    before = _listing(tmp_path)
    assert main(["score", str(short_clip), str(short_clip), "--json", str(where(tmp_path))]) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert line.startswith("error: --json") and says in line and "Motion transfer" not in captured.out
    assert _listing(tmp_path) == before and (tmp_path / "notes.txt").read_text() == "keep me"


def test_a_json_report_into_a_missing_folder_is_written_whole(tmp_path, short_clip, capsys):
    """FileNotFoundError with a traceback, after the whole score, before."""
    report = tmp_path / "new" / "deeper" / "score.json"
    assert main(["score", str(short_clip), str(short_clip), "--json", str(report)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and f"report written to {report}" in captured.err
    assert '"compared_frames": 6' in report.read_text()
    assert _listing(tmp_path) == ["new", "new/deeper", "new/deeper/score.json"]  # no partial file beside it


def test_a_report_that_cannot_be_written_after_scoring_keeps_what_was_printed_and_leaves_no_partial(
        tmp_path, short_clip, capsys, monkeypatch):
    """The disk fills up between the check and the write: a one-line error, exit 1, nothing half-written."""
    report = tmp_path / "score.json"

    def full_disk(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    assert main(["score", str(short_clip), str(short_clip), "--json", str(report)]) == 1
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert str(report) in line and "cannot write the report: No space left on device" in line
    assert "Motion transfer" in captured.out  # the numbers reached the screen first
    assert _listing(tmp_path) == []


def test_a_sheet_with_an_unknown_suffix_is_refused_before_any_work(tmp_path, short_clip, capsys):
    """PIL's ValueError with a traceback, after the whole score and a created folder, before."""
    with pytest.raises(SystemExit) as exited:
        main(["score", str(short_clip), str(short_clip), "--sheet", str(tmp_path / "new" / "sheet.gifx")])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "argument --sheet" in err and "sheet.gifx' does not end in .png" in err
    assert _listing(tmp_path) == []


def test_an_absurd_number_of_sheet_rows_is_refused(tmp_path, short_clip, capsys):
    """100000 rows of 240 px would ask Pillow for a sheet of billions of pixels."""
    with pytest.raises(SystemExit) as exited:
        main(["score", str(short_clip), str(short_clip), "--sheet", str(tmp_path / "s.png"), "--sheet-rows", "100000"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --sheet-rows: at most 64 rows, got 100000" in err and "Traceback" not in err
    assert _listing(tmp_path) == []


def test_json_and_sheet_naming_one_file_are_refused(tmp_path, short_clip, capsys):
    same = tmp_path / "out.png"
    assert main(["score", str(short_clip), str(short_clip), "--json", str(same), "--sheet", str(same)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "--json and --sheet name the same file" in line
    assert _listing(tmp_path) == []


def test_a_damaged_target_image_is_a_one_line_error(tmp_path, short_clip, capsys):
    """A 3-byte .png made Pillow raise struct.error, shown as a traceback."""
    damaged = tmp_path / "portrait.png"
    damaged.write_bytes(b"abc")
    assert main(["score", str(short_clip), str(short_clip), "--target", str(damaged)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert str(damaged) in line and "cannot read the image: it is damaged or not an image" in line
    assert _listing(tmp_path) == ["portrait.png"] and damaged.read_bytes() == b"abc"


def test_self_reenactment_of_another_size_is_noted_not_silently_stretched(tmp_path, short_clip, capsys):
    """A square render scored with --self against a 16:9 driver was stretched without a word."""
    square = _write_video(tmp_path / "square.mp4", [np.ascontiguousarray(f[:, 140:500]) for f in _first_frames(6)])
    assert main(["score", str(short_clip), str(square), "--self"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert ("note: sizes differ (driver 640x360, output 360x360): the output is resized to the driver's size for "
            "the image metrics: the aspect ratios differ") in captured.out
    assert _listing(tmp_path) == ["square.mp4"]
