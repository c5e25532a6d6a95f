"""Marks on the studio's outputs: watermark, visible label, metadata tag, and `reenact detect`."""
from __future__ import annotations

import subprocess

import imageio_ffmpeg
import numpy as np
import pytest

from app.cli import main
from app.cli.detect import detect_file
from nodes.output.provenance import THRESHOLD_Z, Marks, draw_label, embed_watermark, mark_frame, watermark_score
from tests.conftest import REPO

ASSETS = REPO / "assets"


@pytest.fixture(scope="module")
def studio_video(tmp_path_factory):
    out = tmp_path_factory.mktemp("marked") / "demo.mp4"
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--frames", "90", "--quiet",
                 "--set", f"out.path={out}"]) == 0
    return out


def reencode(source, target, crf=28):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-c:v", "libx264",
                    "-crf", str(crf), "-map_metadata", "-1", str(target)], check=True, timeout=120)
    return target


def test_studio_video_is_marked_in_every_frame_and_tagged(studio_video):
    found = detect_file(studio_video)
    assert found.confidence >= 0.99 and found.marked
    assert "Reenact Studio synthetic output" in found.tag and "visible label on" in found.tag


def test_the_mark_survives_reencoding_at_crf_28(studio_video, tmp_path):
    found = detect_file(reencode(studio_video, tmp_path / "crf28.mp4"))
    assert found.confidence >= 0.99
    assert found.tag == ""  # the re-encode stripped the metadata; the watermark alone carries it


@pytest.mark.parametrize("name", ["portraits/astronaut.png", "portraits/grace_hopper.jpg", "driving/hopper_talks.mp4"])
def test_unmarked_bundled_media_are_never_marked(name):
    found = detect_file(ASSETS / name)
    assert found.frames_marked == 0 and not found.marked and found.tag == ""


def test_unmarked_synthetic_frames_score_low():
    rng = np.random.default_rng(3)
    ramp = np.linspace(0, 255, 300, dtype=np.float32)
    frames = [rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
              np.repeat(np.repeat(ramp[None, :, None], 200, 0), 3, 2).astype(np.uint8),
              np.full((64, 64, 3), 128, np.uint8)]
    assert all(abs(watermark_score(f)) < THRESHOLD_Z for f in frames)
    assert all(watermark_score(embed_watermark(f)) >= THRESHOLD_Z for f in frames[:2])


def test_the_watermark_is_faint_and_the_label_sits_in_its_corner():
    portrait = np.asarray(__import__("PIL.Image", fromlist=["Image"]).open(ASSETS / "portraits" / "astronaut.png")
                          .convert("RGB"))
    marked = embed_watermark(portrait)
    assert np.abs(marked.astype(int) - portrait).max() <= 3
    labelled = draw_label(portrait, "top-left", 1.0)
    changed = np.argwhere(np.any(labelled != portrait, axis=2))
    assert changed[:, 0].max() < portrait.shape[0] // 4 and changed[:, 1].max() < portrait.shape[1] // 3
    off = mark_frame(portrait, Marks(label=False))
    assert np.array_equal(off, marked)


def test_turning_the_label_off_is_recorded_in_the_file(tmp_path):
    out = tmp_path / "frames"
    assert main(["run", str(REPO / "graphs" / "portrait_to_images.json"), "--quiet",
                 "--set", f"out.path={out}", "--set", "out.synthetic_label=false"]) == 0
    found = detect_file(out / "frame_000000.png")
    assert found.marked and "visible label off (turned off explicitly)" in found.tag


def test_detect_exit_codes(studio_video, tmp_path, capsys):
    assert main(["detect", str(studio_video)]) == 0
    assert "MARKED" in capsys.readouterr().out
    assert main(["detect", str(ASSETS / "portraits" / "astronaut.png")]) == 1
    assert "not marked" in capsys.readouterr().out
    assert main(["detect", str(tmp_path / "missing.mp4")]) == 2
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    assert main(["detect", str(broken)]) == 2
    assert "cannot read the video" in capsys.readouterr().err
