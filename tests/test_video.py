"""Video in and out: timestamps, odd sizes, finalization, and clear errors for bad files or no camera."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from app.runtime.context import FrameContext, RunContext, SourceClock
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.gpu.image import Image
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


def test_a_clip_passes_over_the_frames_a_live_run_has_no_time_for_looping_or_not(studio_registry):
    node, run = make(studio_registry, "capture.video", path=str(CLIP), loop=True)
    read = lambda: node.process(FrameContext(0, 0.0, run))["image"].timestamp  # noqa: E731
    assert read() == 0.0
    run.source.pass_over(3)  # the run's thread asks; the next frame read is three on
    assert read() == pytest.approx(4 / 30, abs=1e-5) and read() == pytest.approx(5 / 30, abs=1e-5)
    run.source.pass_over(240)  # past the end of a 240-frame clip: round again, time still running forward
    assert read() == pytest.approx(246 / 30, abs=1e-5)
    node.params.keep_time = False
    assert run.source.pass_over(5) == 0
    assert read() == pytest.approx(247 / 30, abs=1e-5)  # every frame, slower than recorded
    node.close()
    assert run.source.pass_over.passed == 243 and node.status() == "243 frames passed over to keep the clip's time"
    node, run = make(studio_registry, "capture.video", path=str(CLIP))
    read()
    run.source.pass_over(500)  # a clip played once ends on the way: its last frame shows, then it ends
    assert read() == pytest.approx(239 / 30, abs=1e-5) and run.source.pass_over.passed == 238
    with pytest.raises(EndOfStream):
        node.process(FrameContext(0, 0.0, run))
    node.close()


@pytest.mark.parametrize("content, expected", [(b"", "the file is empty"),
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
        assert "the file is cut short" in exc.message
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
    assert node.beside_seconds() > 0.0  # marking and encoding, on the writer's thread: the frame budget counts it
    assert not list(tmp_path.glob(".*partial*"))


def test_video_output_refuses_a_size_change_and_unknown_types(studio_registry, tmp_path):
    node, run = make(studio_registry, "output.video", path=str(tmp_path / "a.mp4"))
    node.process(FrameContext(0, 0.0, run), image=Image(np.zeros((64, 64, 3), np.uint8)))
    with pytest.raises(ReenactError, match="frame size changed"):
        node.process(FrameContext(1, 0.0, run), image=Image(np.zeros((32, 64, 3), np.uint8)))
    node.close()
    with pytest.raises(ReenactError, match="unsupported video type"):
        make(studio_registry, "output.video", path=str(tmp_path / "a.avi"))


def test_missing_camera_is_a_clear_error_and_is_retried(studio_registry):
    node, run = make(studio_registry, "capture.webcam", device=63, timeout=0.5)
    try:
        with pytest.raises(ReenactError, match="no camera at /dev/video63: .*plug a camera in or pick another "
                                               "with the device param; it is retried until it is there"):
            node.process(FrameContext(0, 0.0, run))
    finally:
        node.close()


class NoCamera:
    """A camera that is not there, however often it is asked for."""

    def __init__(self):
        self.attempts = 0

    def __call__(self, device, width, height, fps):
        self.attempts += 1
        raise ReenactError(f"no camera at {device}", hint="no camera is connected")


def test_a_missing_camera_does_not_hold_up_the_frames_of_a_graph_it_is_in(studio_registry, monkeypatch):
    """A graph driven by a clip, with a webcam node beside it on a machine with no camera, ran at 1-2 fps:
    each frame waited FRAME_WAIT for a camera frame that could not come, the first the 5 s timeout. Now
    the frames of a graph slower than the camera (here 40 ms a frame, 30 fps asked for) wait for nothing,
    and each fails with the same message, which the graph reports once."""
    from nodes.capture.webcam import Webcam

    camera = NoCamera()
    monkeypatch.setattr(Webcam, "connect", staticmethod(camera))
    monkeypatch.setattr(Webcam, "RETRY_FIRST", 0.005)
    monkeypatch.setattr(Webcam, "RETRY_MAX", 0.01)
    monkeypatch.setattr(Webcam, "FRAME_WAIT", 5.0)
    node, run = make(studio_registry, "capture.webcam", timeout=5.0, fps=30.0)
    messages, started = set(), time.monotonic()
    try:
        for i in range(6):
            with pytest.raises(ReenactError) as failed:
                node.process(FrameContext(i, 0.0, run))
            messages.add(failed.value.message)
            time.sleep(0.04)  # the rest of the graph's frame
    finally:
        node.close()
    assert time.monotonic() - started < 4.0  # not one wait for the camera
    assert camera.attempts > 2 and len(messages) == 1, messages
    assert "no camera at /dev/video0: no camera is connected" in messages.pop()


def test_a_missing_camera_holds_a_graph_of_nothing_else_to_the_camera_rate(studio_registry, monkeypatch):
    """Asked for frames back to back (a headless run of the camera alone), a missing camera fails no more
    often than the camera would give frames, so the loop does not spin on a core."""
    from nodes.capture.webcam import Webcam

    monkeypatch.setattr(Webcam, "connect", staticmethod(NoCamera()))
    node, run = make(studio_registry, "capture.webcam", fps=20.0)
    try:
        with pytest.raises(ReenactError):
            node.process(FrameContext(0, 0.0, run))
        started = time.monotonic()
        for i in range(1, 6):
            with pytest.raises(ReenactError, match="no camera at"):
                node.process(FrameContext(i, 0.0, run))
        assert time.monotonic() - started >= 5 / 20.0 - 0.01
    finally:
        node.close()


def test_a_camera_that_is_there_hands_each_frame_out_once_and_waits_for_the_next(studio_registry, monkeypatch):
    """The pacing of a camera that exists is kept: a graph faster than it waits for its next frame."""
    from nodes.capture.webcam import Webcam

    def slow_camera(device, width, height, fps):
        def frames():
            for i in range(10 ** 6):
                time.sleep(0.03)
                yield bytes([i % 256]) * (8 * 6 * 3)
        return frames(), (8, 6)

    monkeypatch.setattr(Webcam, "connect", staticmethod(slow_camera))
    node, run = make(studio_registry, "capture.webcam", timeout=5.0)
    try:
        images = [node.process(FrameContext(i, 0.0, run))["image"] for i in range(5)]
    finally:
        node.close()
    stamps = [image.timestamp for image in images]
    assert all(b - a >= 0.02 for a, b in zip(stamps, stamps[1:])), stamps
    assert len({int(image.numpy()[0, 0, 0]) for image in images}) == 5  # five frames, none twice


class FakeCamera:
    """Missing for two attempts, then 30 frames and unplugged, missing once more, then live for good."""

    def __init__(self):
        self.attempts = 0

    def __call__(self, device, width, height, fps):
        self.attempts += 1
        if self.attempts in (1, 2, 4):
            raise ReenactError(f"no camera at {device}")
        count = 30 if self.attempts == 3 else 10 ** 6

        def frames():
            for i in range(count):
                time.sleep(0.002)
                yield bytes([i % 256]) * (8 * 6 * 3)
        return frames(), (8, 6)


def test_a_camera_that_disappears_is_reconnected_with_backoff(studio_registry, monkeypatch):
    from nodes.capture.webcam import Webcam

    camera = FakeCamera()
    monkeypatch.setattr(Webcam, "connect", staticmethod(camera))
    monkeypatch.setattr(Webcam, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(Webcam, "RETRY_MAX", 0.04)
    monkeypatch.setattr(Webcam, "FRAME_WAIT", 0.01)
    node, run = make(studio_registry, "capture.webcam", timeout=2.0, fps=240.0)  # gone longer than a frame
    outcomes = []
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (camera.attempts >= 5 and outcomes[-1:] == ["frame"]):
            try:
                node.process(FrameContext(len(outcomes), 0.0, run))
                outcomes.append("frame")
            except ReenactError as exc:
                outcomes.append(exc.what)
            time.sleep(0.003)
    finally:
        node.close()
    assert camera.attempts >= 5 and outcomes[-1] == "frame"
    first_frame = outcomes.index("frame")
    gone = [o for o in outcomes[first_frame:] if o != "frame"]
    said = ("reconnecting", "no camera at", "no frame from the camera yet", "connecting to the camera")
    assert gone and all(any(s in o for s in said) for o in gone)  # it said why while the camera was gone


def test_a_clip_whose_path_is_edited_plays_the_new_clip_or_says_why_it_cannot(studio_registry, tmp_path):
    """Edited while it plays (the editor's inspector), the driver reads the new clip from its start; given a
    path that is not there it stops and says so (it had played on with the old clip, the error unseen), and
    starts again once the path is fixed."""
    from app.runtime.graph import Graph, NodeSpec
    from app.runtime.scheduler import Scheduler

    graph = Graph()
    graph.add(NodeSpec("driver", "capture.video", params={"path": str(CLIP)}))
    scheduler = Scheduler(graph, studio_registry)
    scheduler.open()
    try:
        for _ in range(3):
            scheduler.step()
        assert scheduler.output("driver", "image").timestamp == pytest.approx(2 / 30)
        other = REPO / "tests" / "data" / "real" / "single_face.mp4"
        scheduler.set_param("driver", "path", str(other))
        assert scheduler.step() == [] and scheduler.output("driver", "image").timestamp == 0.0
        assert scheduler.output("driver", "image").width != 308  # single_face.mp4's frames, not the clip's
        scheduler.set_param("driver", "path", str(tmp_path / "gone.mp4"))
        failures = scheduler.step() + scheduler.step()
        assert [f.node_id for f in failures] == ["driver", "driver"] and "not found" in failures[0].message
        scheduler.set_param("driver", "path", str(CLIP))
        assert scheduler.step() == [] and scheduler.output("driver", "image").width == 308
    finally:
        scheduler.close()


def test_window_without_display_errors_or_skips(studio_registry, monkeypatch):
    """Skipped, it needs no GLFW either: the GPU machines' image has none, and a headless preset ran there."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setitem(sys.modules, "glfw", None)  # importing it raises ImportError
    with pytest.raises(ReenactError, match="no display"):
        make(studio_registry, "output.window")
    node, run = make(studio_registry, "output.window", without_display="skip")
    assert node.process(FrameContext(0, 0.0, run), image=Image(np.zeros((8, 8, 3), np.uint8))) == {}
    assert "skipped" in run.notices[0]


def run_into_full_disk(studio_registry, monkeypatch, type_id, path, frames=5):
    """Point the node's partial files at /dev/full, where every write fails with 'no space left'."""
    target_dir = path if type_id == "output.images" else path.parent
    target_dir.mkdir(parents=True, exist_ok=True)
    full = target_dir / ".full.partial"
    full.symlink_to("/dev/full")
    for module in ("nodes.output.folders", "nodes.output.video"):
        monkeypatch.setattr(f"{module}.partial_path", lambda target: full)
    node, run = make(studio_registry, type_id, path=str(path))
    errors = []
    for i in range(frames):
        try:
            node.process(FrameContext(i, 0.0, run), image=Image(np.full((64, 64, 3), i * 40 % 256, np.uint8)))
        except ReenactError as exc:
            errors.append(exc.message)
    try:
        node.close()
    except ReenactError as exc:
        errors.append(exc.message)
    return errors


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_a_clear_error_and_no_video_is_passed_off_as_finished(studio_registry, tmp_path, monkeypatch):
    target = tmp_path / "out" / "clip.mp4"
    errors = run_into_full_disk(studio_registry, monkeypatch, "output.video", target, frames=40)
    assert errors and any("disk full" in e or "not kept" in e or "could not be finalized" in e for e in errors)
    assert not target.exists()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_stops_image_frames_cleanly(studio_registry, tmp_path, monkeypatch):
    folder = tmp_path / "frames"
    errors = run_into_full_disk(studio_registry, monkeypatch, "output.images", folder, frames=1)
    assert errors and "No space left on device" in errors[0]
    assert not (folder / "frame_000000.png").exists()


def test_an_encoder_that_dies_mid_clip_stops_the_output_with_a_clear_error_and_keeps_no_file(studio_registry,
                                                                                          tmp_path):
    """Frames go to ffmpeg from a writer thread beside the graph: a failed write shows a frame or two later,
    and closing neither hangs nor passes the file off as finished."""
    target = tmp_path / "clip.mp4"
    node, run = make(studio_registry, "output.video", path=str(target))
    frame = lambda i: Image(np.full((64, 64, 3), 40 * i, np.uint8))  # noqa: E731
    node.process(FrameContext(0, 0.0, run), image=frame(0))
    node._encoder.kill()
    node._encoder.wait()
    errors = []
    for i in range(1, 6):
        try:
            node.process(FrameContext(i, i / 30, run), image=frame(i))
        except ReenactError as exc:
            errors.append(exc.message)
    assert len(errors) >= 2 and all("writing the video failed" in e for e in errors)  # from a frame or two on
    started = time.monotonic()
    with pytest.raises(ReenactError, match="not kept"):
        node.close()
    assert time.monotonic() - started < 5.0 and not target.exists()


def test_the_frame_writer_counts_whole_frames_and_never_blocks_once_writing_failed():
    from nodes.output.pipe_writer import PipeWriter

    class BreaksOnThird:
        calls = 0

        def write(self, data):
            self.calls += 1
            if self.calls == 3:
                raise BrokenPipeError("the encoder is gone")
            return len(data)

    writer = PipeWriter(BreaksOnThird(), "test-writer", bytes)
    for _ in range(10):  # each put waits while a frame is queued: a stopped writer would hang here
        writer.put(b"frame")
    writer.finish()
    assert writer.written == 2 and writer.failed and isinstance(writer.error, BrokenPipeError)
    assert writer.busy_seconds > 0.0
    writer = PipeWriter(BreaksOnThird(), "test-writer", lambda frame: bytes(frame))  # a frame that cannot be made
    for frame in (b"frame", None, b"frame"):
        writer.put(frame)
    writer.finish()
    assert writer.written == 1 and isinstance(writer.error, TypeError)


def test_frames_read_ahead_come_whole_and_in_order_and_the_end_stays_the_end():
    import io

    from nodes.capture.video import AHEAD, _FramesAhead

    frames = _FramesAhead(io.BytesIO(b"aaaa" + b"bbbb" + b"cc"), 4)
    assert [frames.take() for _ in range(5)] == [b"aaaa", b"bbbb", b"cc", b"cc", b"cc"]
    frames.stop()
    full = _FramesAhead(io.BytesIO(b"x" * 4 * (AHEAD + 5)), 4)  # nobody takes: its reader waits for room
    time.sleep(0.2)
    started = time.monotonic()
    full.stop()
    assert time.monotonic() - started < 2.0


def test_an_unwritable_output_path_is_refused_before_rendering(studio_registry, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReenactError, match="cannot write there"):
        make(studio_registry, "output.video", path=str(blocker / "clip.mp4"))


@pytest.mark.parametrize("ffmpeg_complains", [True, False])
def test_a_clip_cut_short_is_known_as_damaged_whether_or_not_ffmpeg_says_so(tmp_path, monkeypatch, ffmpeg_complains):
    """ffmpeg logs "partial file" for a clip cut in half only most of the time; its header's length
    tells it too. An intact clip is not taken for a damaged one."""
    import subprocess

    from nodes.capture import video

    if not ffmpeg_complains:
        monkeypatch.setattr(video, "_ERROR", video.re.compile(r"(?!)"))  # matches nothing
    whole = tmp_path / "faststart.mp4"  # index first, so the cut file opens and its damage comes mid-stream
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(CLIP), "-c", "copy",
                    "-movflags", "faststart", str(whole)], check=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for clip, damaged in ((whole, False), (cut, True)):
        reader = video.VideoReader(clip)
        try:
            while reader.read() is not None:
                pass
        finally:
            reader.close()
        assert bool(reader.errors) is damaged, list(reader.errors)


def test_without_a_working_ffmpeg_a_run_stops_with_what_to_do(tmp_path, monkeypatch, capsys):
    from app.cli import main
    from nodes.capture.video import VideoReader

    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", str(tmp_path / "no-ffmpeg-here"))  # set, but wrong
    assert main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--frames", "2", "--quiet",
                 "--set", f"out.path={tmp_path / 'out.mp4'}"]) == 1
    err = capsys.readouterr().err
    assert "cannot run ffmpeg: No such file or directory" in err and "point IMAGEIO_FFMPEG_EXE at" in err
    assert "Traceback" not in err and not (tmp_path / "out.mp4").exists()

    def none_found():  # what imageio-ffmpeg does when its own binary is gone and none is installed
        raise RuntimeError("No ffmpeg exe could be found.")

    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")
    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", none_found)
    with pytest.raises(ReenactError, match="no ffmpeg found") as raised:
        VideoReader(REPO / "tests" / "data" / "real" / "single_face.mp4")
    assert "pip install --force-reinstall imageio-ffmpeg" in raised.value.hint


@pytest.mark.parametrize("line, rate", [
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 23.98 fps, 23.98 tbr, 24k tbn", 24000 / 1001),
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 29.97 fps, 29.97 tbr, 30k tbn", 30000 / 1001),
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 1 fps, 1 tbr, 16384 tbn", 1.0),  # not 1000/1001
    ("Stream #0:0: Video: gif, bgra, 64x64, 2 fps, 2 tbr, 100 tbn", 2.0),
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 300 fps, 300 tbr, 19200 tbn", 300.0),  # a high-speed clip
    ("Stream #0:0: Video: vp8, yuv420p, 640x360, 1k tbr, 1k tbn", 0.0),  # a time base, not a rate
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 23.67 fps, 24 tbr, 12288 tbn", 24.0),  # frames all 1/24 s apart
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 29.5 fps, 29.97 tbr, 90k tbn", 30000 / 1001),  # a few dropped
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 26.49 fps, 120 tbr, 90k tbn", 26.49),  # a time base: the average
    ("Stream #0:0: Video: h264, yuv420p, 640x360, 5 fps, 30 tbr, 15360 tbn", 30.0),  # a frame held 12 s of a 30 fps clip
    ("Stream #0:0: Video: h264, yuv420p(tv, bt709, top first), 1920x1080, 29.97 fps, 59.94 tbr, 90k tbn",
     30000 / 1001),  # an interlaced clip's tbr counts fields
])
def test_the_header_rate_keeps_what_the_clip_says(line, rate):
    from nodes.capture.video import VideoReader

    assert VideoReader._header_rate(line) == pytest.approx(rate, abs=1e-6)


@pytest.mark.parametrize("stored, sar, shown", [((320, 360), "2", (640, 360)), ((641, 361), "1", (641, 361))])
def test_a_clip_of_wide_pixels_is_read_at_the_shape_a_player_shows(tmp_path, stored, sar, shown):
    """A camcorder's or an anamorphic clip stores wide pixels (its sample aspect ratio): read as stored,
    the driver's face was tracked squeezed to half its width (face found in 53 of 72 frames, smile
    correlation 0.25). Square pixels, at any size, come through as they are."""
    import subprocess

    from nodes.capture.video import VideoReader

    real = REPO / "tests" / "data" / "real" / "single_face.mp4"
    clip = tmp_path / "stored.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(real), "-frames:v", "3", "-vf",
                    f"scale={stored[0]}:{stored[1]},setsar={sar}", "-c:v", "libx264", "-crf", "12",
                    "-pix_fmt", "yuv444p", "-an", str(clip)], check=True)
    reader, original = VideoReader(clip), VideoReader(real)
    try:
        frame, expected = reader.read(), original.read()
    finally:
        reader.close()
        original.close()
    assert frame.shape == (shown[1], shown[0], 3)
    if shown == (640, 360):
        assert np.abs(frame.astype(float) - expected).mean() < 4.0


@pytest.mark.parametrize("kind", ["sound only", "sound and a cover picture"])
def test_a_file_without_a_video_stream_says_so(tmp_path, kind):
    """A driver that holds only sound said "Error opening output files: Invalid argument"; an MP3 with its
    album cover (a podcast picked by mistake) drove one frame with the cover and called the file damaged."""
    import subprocess

    from nodes.capture.video import VideoReader

    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    sound = tmp_path / "sound.mp3"
    subprocess.run([ffmpeg, "-v", "error", "-f", "lavfi", "-i", "sine=duration=1", str(sound)], check=True)
    path = sound
    if kind == "sound and a cover picture":
        path = tmp_path / "with_cover.mp3"
        subprocess.run([ffmpeg, "-v", "error", "-i", str(sound), "-i",
                        str(REPO / "tests" / "data" / "real" / "smile_teeth.jpg"), "-map", "0", "-map", "1",
                        "-c", "copy", "-disposition:v", "attached_pic", "-id3v2_version", "3", str(path)], check=True)
    with pytest.raises(ReenactError, match="has no video stream"):
        VideoReader(path)


def _streams(path: Path) -> tuple[bool, float]:
    """(whether the file has a sound track, its length in seconds), from ffmpeg's header."""
    import re
    import subprocess

    header = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                            capture_output=True, text=True).stderr
    hours, minutes, seconds = re.search(r"Duration: (\d+):(\d+):([\d.]+)", header).groups()
    return ": Audio: " in header, int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.mark.parametrize("suffix, rate, loop", [(".mp4", "0", "false"), (".webm", "0", "false"), (".mp4", "60", "false"),
                                                (".mp4", "24", "false"), (".mp4", "0", "true")])
def test_the_drivers_sound_goes_with_the_faces_that_say_it(tmp_path, suffix, rate, loop):
    """A talking driver's render was silent. Its sound track now comes along, cut to the frames rendered
    (the watermark and signed credentials still there). At another frame rate than the driver's, the file
    keeps the driver's time (its frames repeated or left out), so the sound still fits; so does a looping
    driver's (test_a_looping_drivers_sound_starts_again_with_its_frames)."""
    from app.cli import main
    from app.cli.detect import detect_file

    out = tmp_path / f"out{suffix}"
    assert main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--quiet", "--frames", "30",
                 "--set", f"driver.path={REPO / 'tests' / 'data' / 'real' / 'single_face.mp4'}",
                 "--set", "render.size=256", "--set", f"out.fps={rate}", "--set", f"driver.loop={loop}",
                 "--set", f"out.path={out}"]) == 0
    sound, seconds = _streams(out)
    assert sound
    assert abs(seconds - 1.0) < 0.1  # 30 frames of a 30 fps driver
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == {"0": 30, "60": 60, "24": 24}[rate]
    found = detect_file(out)
    assert found.frames_marked > 0 and found.tag
    if suffix == ".mp4":  # signed after the sound was added
        assert found.credentials is not None and found.credentials.valid


def _beeps(path: Path) -> list[float]:
    """When each beep in a file's sound starts, in seconds (8 kHz mono, loud after quiet)."""
    import subprocess

    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-vn", "-ac", "1", "-ar",
                          "8000", "-f", "s16le", "-"], capture_output=True, check=True).stdout
    loud = np.abs(np.frombuffer(raw, np.int16).astype(np.float32)).reshape(-1, 80).max(axis=1) > 3000  # 10 ms
    return [index / 100 for index in np.flatnonzero(loud[1:] & ~loud[:-1]) + 1]


def test_a_looping_drivers_sound_starts_again_with_its_frames(tmp_path):
    """A looping driver's render was silent. Its sound now repeats as its frames do: a 1 s clip beeping at
    0.2 s, looped over 2.5 s, beeps at 0.2, 1.2 and 2.2 s (ffmpeg's own loop would drift by the sound's and
    the frames' difference in length, which the clip's sound is cut and padded to)."""
    import subprocess

    from app.cli import main

    clip = tmp_path / "beep.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "color=gray:s=64x64:r=30:d=1",
                    "-f", "lavfi", "-i", "aevalsrc='if(between(t,0.2,0.3),0.5*sin(2*PI*880*t),0)':d=1.05:s=44100",
                    "-c:v", "libx264", "-c:a", "aac", str(clip)], check=True)
    assert _beeps(clip) == pytest.approx([0.2], abs=0.03)
    out = tmp_path / "out.mp4"
    assert main(["run", str(_copy_graph(clip)), "--quiet", "--frames", "75", "--set", "driver.loop=true",
                 "--set", f"out.path={out}"]) == 0
    assert _beeps(out) == pytest.approx([0.2, 1.2, 2.2], abs=0.03) and abs(_streams(out)[1] - 2.5) < 0.1


def test_sound_that_cannot_be_added_leaves_the_video_as_it_was(tmp_path):
    """The driver's file gone (or unreadable) by the time the video is finished: the frames stay, silent,
    with the reason, and no half-written file beside them."""
    import shutil

    from nodes.output.sound import add_sound

    video = tmp_path / "out.mp4"
    shutil.copy(REPO / "tests" / "data" / "real" / "single_face.mp4", video)
    before = video.read_bytes()
    problem = add_sound(video, 72, 30.0, tmp_path / "gone.mp4")
    assert problem and video.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def _numbered_clip(path: Path, times: str, count: int) -> None:
    """A clip of `count` (at most 30) flat grey frames, frame n at video level 16 + 7n, each at the time the
    expression `times` of N (its index) gives in seconds, with a sound track."""
    import subprocess

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    f"color=black:s=64x64:r=60:d={count / 60}", "-f", "lavfi", "-i", "sine=duration=5",
                    "-vf", f"geq=lum='16+7*N':cb=128:cr=128,setpts='({times})/TB'", "-fps_mode", "passthrough",
                    "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv444p", "-shortest",
                    "-video_track_timescale", "1000", str(path)], check=True)


def _copy_graph(clip: Path) -> Path:
    """A graph beside `clip` that writes it, as it plays, to a video file (out.path to set)."""
    graph = clip.parent / "copy.json"
    graph.write_text(json.dumps({"format": "reenact-studio/graph", "format_version": 1, "nodes": [
        {"id": "driver", "type": "capture.video", "params": {"path": clip.name}},
        {"id": "out", "type": "output.video", "params": {"path": "unused.mp4", "synthetic_label": False}}],
        "links": [{"from": ["driver", "image"], "to": ["out", "image"]}]}))
    return graph


def _frame_numbers(path: Path) -> list[int]:
    """Each frame's number in a clip of _numbered_clip's frames, every frame as stored."""
    from nodes.capture.video import VideoReader

    reader, numbers = VideoReader(path), []
    while (frame := reader.read()) is not None:
        numbers.append(round(float(frame[16:48, 16:48].mean()) * 219 / 255 / 7))  # levels 16-235 shown 0-255
    reader.close()
    return numbers


def test_a_variable_rate_clip_is_written_with_each_frame_at_its_own_time_and_its_sound(tmp_path):
    """A phone clip's frames came at 60 fps, then at 15: written one frame a slot at its average rate, the
    first third sped by at twice its speed and the rest crawled, up to 0.5 s off its own times, and its
    sound was left out. Each frame now fills the slots from its own time to the next frame's (pipelined too, where
    the clip is read on another thread), and the sound comes along."""
    from app.cli import main
    from nodes.capture.video import VideoReader

    clip = tmp_path / "varying.mp4"
    _numbered_clip(clip, "if(lt(N,20),N/60,(N-15)/15)", 30)  # 20 frames in 1/3 s, then 10 in 2/3 s
    times = [n / 60 if n < 20 else (n - 15) / 15 for n in range(30)]
    reader = VideoReader(clip)
    fps = reader.fps  # the clip's rate, which the file is written at (its base rate: 60)
    reader.close()
    graph = _copy_graph(clip)
    for pipelined in ([], ["--pipeline"]):
        out = tmp_path / f"out{len(pipelined)}.mp4"
        assert main(["run", str(graph), "--quiet", *pipelined, "--set", f"out.path={out}"]) == 0
        shown = _frame_numbers(out)
        assert abs(len(shown) - (times[-1] * fps + 1)) <= 1  # up to the last frame (a slot: its shortest)
        ends = [*times[1:], times[-1] + 1 / 15]
        for slot, number in enumerate(shown):  # the frame shown is the one the source showed then
            assert times[number] - 0.5 / fps <= slot / fps <= ends[number] + 0.5 / fps, (slot, number)
        assert _streams(out)[0] is True


def _loudness(path: Path, seconds: float) -> float:
    """The root mean square of the first `seconds` of a file's sound, full scale 1."""
    import subprocess

    pcm = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-t", str(seconds),
                          "-ac", "1", "-ar", "8000", "-f", "s16le", "pipe:1"], capture_output=True, check=True).stdout
    return float(np.sqrt(np.mean((np.frombuffer(pcm, np.int16) / 32768.0) ** 2)))


def test_a_recording_started_mid_clip_gets_the_sound_from_there_and_one_that_jumped_none(studio_registry,
                                                                                          tmp_path):
    """Recording turned on in the editor at the clip's second 1 (silent before, a tone after): the file's
    sound starts at second 1, with its first frame; a source whose time jumps back under the output leaves
    the file silent, saying why."""
    import subprocess

    sound = tmp_path / "tone_after_1s.m4a"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "aevalsrc='if(gt(t,1),0.5*sin(2*PI*440*t),0)':d=3", str(sound)], check=True)
    for times, heard in (([1.0 + n / 10 for n in range(10)], True), ([1.0, 1.1, 1.2, 0.0, 0.1], False)):
        path = tmp_path / f"recorded{len(times)}.mp4"
        node, run = make(studio_registry, "output.video", path=str(path))
        run.source = SourceClock(10.0, sound=sound)
        for i, seconds in enumerate(times):
            node.process(FrameContext(i, 0.0, run), image=Image(np.full((64, 64, 3), 9 * i, np.uint8), seconds))
        node.close()
        assert _streams(path)[0] is heard
        if heard:
            assert _loudness(path, 0.5) > 0.2
        else:
            assert any("the source's time jumped" in notice for notice in run.notices)


@pytest.mark.parametrize("transfer", ["arib-std-b67", "smpte2084"])  # HLG (what phones record), PQ
def test_an_hdr_clip_is_tone_mapped_to_look_as_it_does_on_a_phone(tmp_path, transfer):
    """A phone's HDR clip (10-bit BT.2020, HLG or PQ) was read as if it were SDR: dim, flat and washed
    out, 24-44 levels off. It is now taken to SDR (HDR reference white as SDR white): here an SDR clip
    made HDR comes back within a few levels of itself, the coding loss of the round trip."""
    import subprocess

    import imageio.v3 as iio

    from nodes.capture.video import VideoReader

    source = REPO / "tests" / "data" / "real" / "single_face.mp4"
    clip = tmp_path / f"{transfer}.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(source), "-frames:v", "6", "-vf",
                    f"zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t={transfer}:p=bt2020:m=bt2020nc:r=tv:npl=203,"
                    "format=yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
                    f"log-level=error:colorprim=bt2020:transfer={transfer}:colormatrix=bt2020nc",
                    "-color_primaries", "bt2020", "-color_trc", transfer, "-colorspace", "bt2020nc", str(clip)],
                   check=True)
    reader = VideoReader(clip)
    read = [reader.read().astype(float) for _ in range(6)]
    reader.close()
    real = [frame.astype(float) for frame in iio.imiter(source, plugin="FFMPEG")][:6]
    as_sdr = [frame.astype(float) for frame in iio.imiter(clip, plugin="FFMPEG")]  # no tone mapping
    assert reader.hdr == ("bt2020nc", "bt2020", transfer)
    assert np.mean([np.abs(a - b).mean() for a, b in zip(read, real)]) < 5
    assert np.mean([np.abs(a - b).mean() for a, b in zip(as_sdr, real)]) > 15


def test_an_interlaced_clip_is_deinterlaced_a_frame_for_a_frame(tmp_path):
    """A camcorder's or a TV recording's interlaced frames were read with both fields woven together: every
    moving edge combed (wolfgang's hair and lashes, docs/interlaced_clip_deinterlaced.jpg). Flagged
    interlaced in its header, a clip is now deinterlaced, each frame at its own time."""
    import subprocess

    from nodes.capture.video import VideoReader

    clip = tmp_path / "interlaced.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i",
                    str(REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4"), "-ss", "2.4", "-t", "1",
                    "-vf", "fps=50,tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-flags",
                    "+ilme+ildct", "-x264-params", "tff=1", "-crf", "16", "-an", str(clip)], check=True)
    stored = np.frombuffer(subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(clip), "-f",
                                           "rawvideo", "-pix_fmt", "gray", "pipe:1"], capture_output=True,
                                          check=True).stdout, np.uint8).reshape(-1, 360, 640).astype(float)
    reader, read, times = VideoReader(clip), [], []
    while (frame := reader.read()) is not None:
        read.append(frame.astype(float).mean(axis=2))
        times.append(reader.time)
    reader.close()

    def combing(frames) -> float:  # rows unlike both their neighbours: the fields of two moments woven
        return float(np.mean([np.abs(2 * f[1:-1] - f[:-2] - f[2:]).mean() for f in frames]))

    assert reader.interlaced and len(read) == len(stored) == 25 and times[1] == pytest.approx(0.04)
    assert combing(read) < 0.6 * combing(stored)


def test_an_ffmpeg_without_the_hdr_filters_still_reads_the_clip_and_says_what_it_could_not_do(tmp_path, monkeypatch,
                                                                                             studio_registry):
    """IMAGEIO_FFMPEG_EXE may name a system ffmpeg built without zscale: an HDR clip then failed to read at
    all ("Filter not found"). It is read as it is stored, and the run says it is not tone-mapped, and why."""
    import subprocess

    from nodes.capture import video_filters

    clip = tmp_path / "hlg.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:d=0.2",
                    "-c:v", "libx265", "-x265-params",
                    "log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc",
                    "-pix_fmt", "yuv420p10le", str(clip)],
                   check=True)
    monkeypatch.setattr(video_filters, "TONE_MAP", "zscale_missing_here")
    node, run = make(studio_registry, "capture.video", path=str(clip))
    assert node.process(FrameContext(0, 0.0, run))["image"].width == 64
    node.close()
    assert any("it is not tone-mapped from HDR: this ffmpeg lacks a filter for that (No such filter: "
               "'zscale_missing_here')" in notice for notice in run.notices), run.notices


def test_an_hdr_clip_that_leaves_its_colours_unnamed_is_tone_mapped_as_hdr_and_a_failure_still_reads(tmp_path,
                                                                                                     monkeypatch):
    """A PQ clip whose header names its transfer but not its primaries or matrix stopped the tone map
    (zscale needs them): the clip did not read at all. What the header leaves out is taken as HDR's
    (BT.2020); and whatever else stops the tone map, the clip is read as stored, saying so."""
    import subprocess

    from nodes.capture import video, video_filters

    clip = tmp_path / "pq_unnamed.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=64x64:d=0.2",
                    "-c:v", "libx265", "-x265-params", "log-level=error:transfer=smpte2084", "-pix_fmt",
                    "yuv420p10le", str(clip)], check=True)
    reader = video.VideoReader(clip)
    assert reader.hdr == ("unknown", "unknown", "smpte2084") and reader.read() is not None and not reader.unfixed
    reader.close()
    monkeypatch.setattr(video_filters, "TONE_MAP", "zscale=pin=no_such_primaries")
    reader = video.VideoReader(clip)
    assert reader.read() is not None and reader.unfixed.startswith("it is not tone-mapped from HDR: ffmpeg could not")
    reader.close()


def test_a_clip_whose_video_starts_after_its_sound_keeps_them_as_it_has_them(tmp_path):
    """A cut saved with its video starting 1 s into the file, its sound at 0 (here a tone from 1 s on):
    the sound was taken from the file's start, so it came 1 s late against the faces. It is now taken from
    where the frames start."""
    import subprocess

    from app.cli import main

    clip = tmp_path / "late_video.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-itsoffset", "1", "-f", "lavfi", "-i",
                    "testsrc=s=64x64:r=30:d=2", "-f", "lavfi", "-i",
                    "aevalsrc='if(gt(t,1),0.5*sin(2*PI*440*t),0)':d=3", "-c:v", "libx264", "-c:a", "aac",
                    str(clip)], check=True)
    out = tmp_path / "out.mp4"
    assert main(["run", str(_copy_graph(clip)), "--quiet", "--set", f"out.path={out}"]) == 0
    assert _loudness(out, 0.5) > 0.2  # the tone from the first frame on, as in the clip


def test_a_phone_clip_larger_than_max_side_is_read_scaled_down_and_said(studio_registry, tmp_path):
    """A phone's 4K clip, read whole, ran the chain at 21.6 fps where its 1080p copy ran at 41: frames past
    `max_side` are scaled down as they are read (here 640x360 to 64x36), with a notice; 0 reads them whole."""
    for max_side, size in ((64, (64, 36)), (0, (640, 360))):
        node, run = make(studio_registry, "capture.video", path=str(REPO / "tests" / "data" / "real" /
                                                                    "single_face.mp4"), max_side=max_side)
        image = node.process(FrameContext(0, 0.0, run))["image"]
        node.close()
        assert (image.width, image.height) == size
        assert any("its 640x360 frames are read at 64x36 (max_side 64)" in n for n in run.notices) is (max_side == 64)


def test_a_phone_clip_is_written_at_its_base_rate_and_played_live_at_its_average(studio_registry):
    """face_noface.mov, a phone's: 30 fps with frames left out, 26.4 on average. A file takes the base rate
    (no frame left out); live playback, a frame at a time, the average (at 30 it ran 14% fast)."""
    node, run = make(studio_registry, "capture.video", path=str(REPO / "tests" / "data" / "real" / "face_noface.mov"))
    node.close()
    assert run.frame_rate == 30.0 and run.pace_rate == pytest.approx(26.4)


@pytest.mark.parametrize("type_id, params", [("image.resize", {"width": 32}), ("render.overlay", {})])
def test_image_nodes_pass_the_frames_time_on(studio_registry, type_id, params):
    """A video output places each frame by its time: a node between the driver and the output that drops it
    (a resize, the landmark overlay) made the file one frame a slot again, drifting from its sound."""
    from nodes.track.face import face_track
    from nodes.track.face_model import reference_shape

    node, run = make(studio_registry, type_id, **params)
    inputs = {"image": Image(np.zeros((48, 64, 3), np.uint8), 1.25)}
    if type_id == "render.overlay":  # a face to draw: a copy of the frame is made
        inputs["track"] = face_track(reference_shape() * 10 + [32, 24, 0], (64, 48), 1.25)
    out = node.process(FrameContext(0, 0.0, run), **inputs)["image"]
    assert out.timestamp == 1.25 and out is not inputs["image"]


def test_damage_said_inside_another_threads_log_line_is_still_heard():
    """ffmpeg's demuxer logs from a thread of its own, and showinfo writes its line in pieces: beside busy
    processes a cut clip's "partial file" now and then lands inside a frame's line, untagged (seen in CI: the
    cut went unreported and the damaged index was cached)."""
    import queue
    from collections import deque
    from types import SimpleNamespace

    from nodes.capture.video import VideoReader

    log = [b"[Parsed_showinfo_0 @ 0x7f] [info] n:  18 pts:   9216 pts_time:0.6     duration:    512 "
           b"duration_time:0.0333333 fmt:yuv420p cl:left sar:1/1 s:640x360 i:P iskey:0 type:B stream 0, offset "
           b"0x1997f: partial file\n",
           b"[Parsed_showinfo_0 @ 0x7f] [info] \n",
           b"[Parsed_showinfo_0 @ 0x7f] [info] n:  19 pts:   9728 pts_time:0.633333 duration:    512 "
           b"duration_time:0.0333333 fmt:yuv420p cl:left sar:1/1 s:640x360 i:P iskey:0 type:B\n"]
    reader = VideoReader.__new__(VideoReader)
    reader._process = SimpleNamespace(stderr=iter(log))
    reader._infos, reader.errors, reader._promised, reader.fps = queue.Queue(), deque(maxlen=8), None, 0.0
    reader._read_log()
    frames = []
    while (info := reader._infos.get()) is not None:
        frames.append(info)
    assert [f.time for f in frames] == pytest.approx([0.6, 0.633333]) and frames[0].size == (640, 360)
    assert list(reader.errors) == ["stream 0, offset 0x1997f: partial file"]
