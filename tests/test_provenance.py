"""Marks on the studio's outputs: watermark, visible label, metadata tag, and `reenact detect`.
Content credentials (C2PA) are tested in test_credentials.py."""
from __future__ import annotations

import re
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image as PILImage

from app.cli import main
from app.cli.detect import detect_file
from nodes.output import watermark
from nodes.output.provenance import Marks, draw_label, mark_frame
from nodes.output.watermark import THRESHOLD, embed_watermark, watermark_score
from tests.conftest import REPO

ASSETS = REPO / "assets"
REAL = REPO / "tests" / "data" / "real"
UNMARKED_CEILING = 7.0  # measured on everything below: at most 5.3 (6.5 over 614 frames); THRESHOLD is 9


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory):
    """The default signing key goes here, never into the user's home."""
    folder = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REENACT_STATE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def studio_video(tmp_path_factory, state_dir):
    out = tmp_path_factory.mktemp("marked") / "demo.mp4"
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--frames", "60", "--quiet",
                 "--set", f"out.path={out}"]) == 0
    return out


def ffmpeg(source, target, filters="null", crf=28):
    """Re-encode as people do to video: H.264 at `crf`, metadata stripped, through ffmpeg `filters`."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-vf", filters,
                    "-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p", "-map_metadata", "-1", str(target)],
                   check=True, timeout=120)
    return target


def test_studio_video_is_marked_in_every_frame_and_tagged(studio_video):
    found = detect_file(studio_video)
    assert found.marked and found.confidence >= 0.99 and found.statistic >= THRESHOLD + 3
    assert found.alignment.shown == pytest.approx((1.0, 1.0), abs=0.03) and not found.alignment.mirrored
    assert "Reenact Studio synthetic output" in found.tag and "visible label on" in found.tag


# A crop of 20% per side keeps 36% of the picture; "scale" sets it back to a standard size (the demo is 512²).
CROP_20 = "crop=trunc(iw*0.3)*2:trunc(ih*0.3)*2:iw*0.2:ih*0.2"
EDITS = {
    "crf28": ("null", 28, (1.0, 1.0), False),
    "crf35": ("null", 35, (1.0, 1.0), False),
    "half size": ("scale=256:256", 28, (1.0, 1.0), False),
    "crop 20% per side": (CROP_20, 28, (0.6, 0.6), False),
    "crop 20% per side, rescaled to 640x360": (f"{CROP_20},scale=640:360", 28, (0.6, 0.6), False),
    "horizontal flip": ("hflip", 28, (1.0, 1.0), True),
    "crop, rescale and flip": (f"{CROP_20},scale=512:512,hflip", 28, (0.6, 0.6), True),
    "crop one corner, half size, flip": ("crop=iw*0.8:ih*0.8:0:0,scale=206:206,hflip", 28, (0.8, 0.8), True),
}


@pytest.mark.parametrize("edit", EDITS)
def test_the_mark_survives_what_people_do_to_video(studio_video, tmp_path, edit):
    filters, crf, shown, mirrored = EDITS[edit]
    found = detect_file(ffmpeg(studio_video, tmp_path / "edited.mp4", filters, crf))
    assert found.marked and found.statistic >= THRESHOLD + 1.5, found
    assert found.alignment.shown == pytest.approx(shown, abs=0.04) and found.alignment.mirrored is mirrored
    assert found.tag == "" and found.credentials is None  # stripped: the watermark alone carries it


def test_a_single_marked_real_picture_survives_crop_and_flip():
    picture = np.asarray(PILImage.open(REAL / "smile_teeth.jpg").convert("RGB"))
    marked = embed_watermark(picture)
    cropped = marked[102:410, 102:410]  # 20% off each side (512 -> 308)
    rescaled = np.asarray(PILImage.fromarray(cropped[:, ::-1]).resize((512, 512), PILImage.Resampling.BILINEAR))
    for edited in (marked[:, ::-1], cropped, rescaled):
        assert watermark_score(np.ascontiguousarray(edited)) >= THRESHOLD + 2
    assert watermark_score(picture) < UNMARKED_CEILING


def _real_media():
    found = sorted(p for p in REAL.iterdir() if p.suffix != ".md")
    found += [ASSETS / "portraits" / "astronaut.png", ASSETS / "portraits" / "grace_hopper.jpg",
              ASSETS / "driving" / "hopper_talks.mp4"]
    return found


@pytest.mark.parametrize("path", _real_media(), ids=lambda p: p.name)
def test_real_footage_and_portraits_are_never_marked(path):
    found = detect_file(path)
    assert not found.marked and found.frames_marked == 0 and found.legacy_frames == 0 and found.tag == ""
    assert found.statistic < UNMARKED_CEILING, found


def test_edited_real_footage_is_not_marked_either(tmp_path):
    for filters in (f"{CROP_20},scale=640:360", "hflip", "scale=320:180"):
        found = detect_file(ffmpeg(REAL / "single_face.mp4", tmp_path / "edited.mp4", filters))
        assert not found.marked and found.statistic < UNMARKED_CEILING, (filters, found)


def test_unmarked_synthetic_frames_score_low():
    rng = np.random.default_rng(3)
    ramp = np.linspace(0, 255, 300, dtype=np.float32)
    noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    ramp = np.repeat(np.repeat(ramp[None, :, None], 200, 0), 3, 2).astype(np.uint8)
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert all(watermark_score(f) < UNMARKED_CEILING for f in (noise, ramp, flat))
    assert watermark_score(embed_watermark(ramp)) >= THRESHOLD and watermark_score(embed_watermark(flat)) >= THRESHOLD


def test_files_marked_with_the_first_scheme_are_still_detected(tmp_path):
    """reenact-wm-1 (until this change): the 64×64 non-periodic grid, stretched over the frame at ±3."""
    portrait = np.asarray(PILImage.open(ASSETS / "portraits" / "grace_hopper.jpg").convert("RGB"))
    stretched = PILImage.fromarray(watermark._legacy_pattern()).resize(portrait.shape[1::-1], PILImage.Resampling.BILINEAR)
    old = np.clip(portrait + np.round(np.asarray(stretched) * 3)[..., None], 0, 255).astype(np.uint8)
    PILImage.fromarray(old).save(tmp_path / "old.png")
    found = detect_file(tmp_path / "old.png")
    assert found.marked and found.legacy_frames == 1 and found.statistic < THRESHOLD


def test_the_watermark_is_faint_and_the_label_sits_in_its_corner():
    portrait = np.asarray(PILImage.open(ASSETS / "portraits" / "astronaut.png").convert("RGB"))
    marked = embed_watermark(portrait)
    assert np.abs(marked.astype(int) - portrait).max() <= 3
    labelled = draw_label(portrait, "top-left", 1.0)
    changed = np.argwhere(np.any(labelled != portrait, axis=2))
    assert changed[:, 0].max() < portrait.shape[0] // 4 and changed[:, 1].max() < portrait.shape[1] // 3
    off = mark_frame(portrait, Marks(label=False))
    assert np.array_equal(off, marked)


def test_turning_the_label_off_is_recorded_in_the_file(tmp_path, state_dir):
    out = tmp_path / "frames"
    assert main(["run", str(REPO / "graphs" / "portrait_to_images.json"), "--quiet",
                 "--set", f"out.path={out}", "--set", "out.synthetic_label=false"]) == 0
    found = detect_file(out / "frame_000000.png")
    assert found.marked and "visible label off (turned off explicitly)" in found.tag


def test_detect_says_marked_with_exit_0(studio_video, tmp_path, capsys):
    edited = ffmpeg(studio_video, tmp_path / "cropped.mp4", f"{CROP_20},scale=512:512,hflip")
    assert main(["detect", str(edited)]) == 0
    out = capsys.readouterr().out
    assert f"{edited}: MARKED as synthetic" in out
    assert re.search(r"shows (59|60|61)% × (59|60|61)% of the written frame, mirrored left-right", out)
    assert "metadata tag: none" in out and "content credentials: none" in out


def test_detect_checks_the_mark_without_the_credentials_package(studio_video, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "c2pa", None)  # as if c2pa-python were not installed
    assert main(["detect", str(studio_video)]) == 0
    out = capsys.readouterr().out
    assert "MARKED as synthetic" in out
    assert "content credentials: not checked (c2pa-python is not installed: pip install c2pa-python)" in out


def test_detect_says_not_marked_with_exit_1(capsys):
    assert main(["detect", str(ASSETS / "portraits" / "astronaut.png")]) == 1
    out = capsys.readouterr().out
    assert "astronaut.png: not marked" in out and "found on their own in 0 of 1 frames" in out


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"\x00" * 100, "cannot read the video"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "cannot read the image"),
])
def test_detect_says_unreadable_with_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / ("broken.png" if content and content.startswith(b"\x89PNG") else "broken.mp4")
    if content is not None:
        path.write_bytes(content)
    assert main(["detect", str(path)]) == 2
    captured = capsys.readouterr()
    assert f"error: {path}: {message}" in captured.err and "Traceback" not in captured.err + captured.out
