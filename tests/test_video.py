"""Video in and out: timestamps, odd sizes, finalization, and clear errors for bad files or no camera."""
from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.image import Image
from tests.conftest import REPO

CLIP = REPO / "assets" / "driving" / "hopper_talks.mp4"


def make(registry, type_id, **params):
    node = registry.create(type_id, type_id.split(".")[1], {**registry.require(type_id).schema.defaults(), **params})
    run = RunContext()
    node.open(run)
    return node, run


def test_bundled_clip_plays_with_timestamps_and_ends(studio_registry):
    node, run = make(studio_registry, "capture.video", path=str(CLIP))
    frames = [node.process(FrameContext(i, 0.0, run))["image"] for i in range(240)]
    assert (frames[0].width, frames[0].height) == (308, 360)
    assert [f.timestamp for f in frames[:3]] == pytest.approx([0.0, 1 / 30, 2 / 30])
    with pytest.raises(EndOfStream):
        node.process(FrameContext(240, 0.0, run))
    node.close()


def test_loop_keeps_time_running_forward(studio_registry):
    node, run = make(studio_registry, "capture.video", path=str(CLIP), loop=True)
    stamps = [node.process(FrameContext(i, 0.0, run))["image"].timestamp for i in range(250)]
    assert np.all(np.diff(stamps) > 0) and stamps[245] == pytest.approx(245 / 30)
    node.close()


@pytest.mark.parametrize("content, expected", [(b"", "cannot read the video"),
                                               (b"not a video at all" * 100, "cannot read the video")])
def test_unreadable_video_is_a_clear_error(studio_registry, tmp_path, content, expected):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(ReenactError, match=expected):
        make(studio_registry, "capture.video", path=str(bad))


def test_truncated_video_ends_early_or_errors_clearly(studio_registry, tmp_path):
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(CLIP.read_bytes()[: CLIP.stat().st_size // 2])
    try:
        node, run = make(studio_registry, "capture.video", path=str(cut))
    except ReenactError as exc:  # moov atom at the end: nothing decodable
        assert "cannot read the video" in exc.message
        return
    count = 0
    with pytest.raises((EndOfStream, ReenactError)):
        while True:
            node.process(FrameContext(count, 0.0, run))
            count += 1
    node.close()


def test_video_output_handles_odd_sizes_and_is_readable(studio_registry, tmp_path):
    path = tmp_path / "odd.mp4"
    node, run = make(studio_registry, "output.video", path=str(path))
    rng = np.random.default_rng(1)
    for i in range(12):
        node.process(FrameContext(i, 0.0, run), image=Image(rng.integers(0, 255, (257, 513, 3), np.uint8)))
    assert not path.exists()  # appears only once finalized
    node.close()
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 12
    assert not list(tmp_path.glob(".*partial*"))


def test_video_output_refuses_a_size_change_and_unknown_types(studio_registry, tmp_path):
    node, run = make(studio_registry, "output.video", path=str(tmp_path / "a.mp4"))
    node.process(FrameContext(0, 0.0, run), image=Image(np.zeros((64, 64, 3), np.uint8)))
    with pytest.raises(ReenactError, match="frame size changed"):
        node.process(FrameContext(1, 0.0, run), image=Image(np.zeros((32, 64, 3), np.uint8)))
    node.close()
    with pytest.raises(ReenactError, match="unsupported video type"):
        make(studio_registry, "output.video", path=str(tmp_path / "a.avi"))


def test_missing_camera_is_a_clear_error(studio_registry):
    with pytest.raises(ReenactError, match="no camera at /dev/video63"):
        make(studio_registry, "capture.webcam", device=63)


def test_window_without_display_errors_or_skips(studio_registry, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(ReenactError, match="no display"):
        make(studio_registry, "output.window")
    node, run = make(studio_registry, "output.window", without_display="skip")
    assert node.process(FrameContext(0, 0.0, run), image=Image(np.zeros((8, 8, 3), np.uint8))) == {}
    assert "skipped" in run.notices[0]
