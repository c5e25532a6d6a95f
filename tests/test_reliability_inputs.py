"""Issue 17, items 11 and 13: broken and huge images, empty and folder paths, truncated or faceless drivers,
absurd refiner metadata: a message or notice and the right exit code, never a traceback or advice that does
not apply."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image as PILImage

from app.cli import main
from app.runtime.context import FrameContext
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.gpu.image import Image
from app.runtime.paths import resolve_asset
from nodes.capture.image import read_image_file
from nodes.refine.net import NetConfig
from tests.conftest import REPO
from tests.test_video import make


def header_only_png(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height RGB but holds no pixels: what a decompression bomb looks like
    from its header, in a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))
    return path


def corrupted_png(path: Path) -> Path:
    """The astronaut with its compressed pixels scrambled (header and chunk layout intact)."""
    data = bytearray((REPO / "assets" / "portraits" / "astronaut.png").read_bytes())
    start = data.find(b"IDAT") + 200
    data[start:start + 4000] = bytes(b ^ 0xFF for b in data[start:start + 4000])
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("make, says", [
    (lambda p: header_only_png(p, 14200, 14200), "over 150 megapixels"),
    (lambda p: header_only_png(p, 13000, 13000), "over 150 megapixels"),  # 169: Pillow only warns
    (corrupted_png, "cannot read the image"),
])
def test_detect_says_why_an_image_is_unreadable_and_exits_2(tmp_path, capsys, make, says):
    path = make(tmp_path / "bad.png")
    assert main(["detect", str(path)]) == 2  # 1 would mean "not marked"
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


@pytest.mark.parametrize("name, make, says", [
    ("folder.png", lambda p: p.mkdir(), "folder.png: is a folder, not a file (name a file in it)"),
    ("empty.mp4", lambda p: p.write_bytes(b""), "empty.mp4: the file is empty (0 bytes)"),
    ("missing.png", lambda p: None, "missing.png: no such file (check the path)"),
])
def test_detect_says_what_a_path_is_when_it_is_not_a_file_to_check(tmp_path, capsys, name, make, says):
    make(tmp_path / name)  # a folder was "no such file"; an empty file was ffmpeg's "Invalid data found"
    assert main(["detect", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


@pytest.mark.parametrize("content", [b"", b"just some text\n"])
def test_a_target_that_is_not_an_image_gets_no_advice_to_install_a_plugin(tmp_path, content):
    path = tmp_path / "target.png"
    path.write_bytes(content)
    with pytest.raises(ReenactError) as info:
        read_image_file(path, 2048)
    assert "cannot read the image: not an image file" in info.value.message and "pip" not in info.value.message


@pytest.mark.parametrize("name", ["clip.mp4", "clip.jpg"])
def test_a_video_as_the_target_gives_its_first_frame_whatever_its_name(tmp_path, name):
    """A clip saved under a photo's name was "not an image file"; it is read as the video it is, and the
    notice says so (a photo named .mp4 was already read as the photo it is)."""
    import imageio.v3 as iio

    clip = REPO / "tests" / "data" / "real" / "single_face.mp4"
    path = tmp_path / name
    path.write_bytes(clip.read_bytes())
    pixels, notices = read_image_file(path, 2048)
    first = iio.imread(clip, index=0)
    assert pixels.shape == first.shape and np.abs(pixels.astype(int) - first).mean() < 2
    assert "a video" in notices and "first frame is used" in notices and "graphs/video_target.json" in notices


def test_a_169_megapixel_target_is_refused_as_documented(tmp_path):
    with pytest.raises(ReenactError, match="over 150 megapixels"):
        read_image_file(header_only_png(tmp_path / "huge.png", 13000, 13000), 2048)


def test_an_empty_or_folder_asset_path_is_refused_not_resolved_to_a_folder(tmp_path):
    with pytest.raises(ReenactError, match="no file set"):
        resolve_asset("", tmp_path)
    (tmp_path / "clips").mkdir()
    with pytest.raises(ReenactError, match="'clips' is a folder, not a file"):
        resolve_asset("clips", tmp_path)


def test_a_truncated_driver_ends_with_a_notice(studio_registry, tmp_path):
    whole, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"  # index first, so the cut file still opens
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(REPO / "assets/driving/hopper_talks.mp4"),
                    "-c", "copy", "-movflags", "+faststart", str(whole)], check=True, timeout=60)
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    node, run = make(studio_registry, "capture.video", path=str(cut))
    frames = 0
    with pytest.raises(EndOfStream):
        while True:
            node.process(FrameContext(frames, 0.0, run))
            frames += 1
    node.close()
    assert 0 < frames < 240
    assert len(run.notices) == 1 and "could not decode all of it" in run.notices[0] and "cut short" in run.notices[0]


def test_a_clip_cut_before_its_index_or_with_a_damaged_header_says_which(tmp_path):
    """A recording cut short before its index was "Invalid data found when processing input", and a file
    whose header names no streams "holds only sound, or only a cover picture"."""
    from nodes.capture.video import VideoReader

    whole, cut, headless = tmp_path / "whole.mp4", tmp_path / "cut.mp4", tmp_path / "headless.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(REPO / "tests/data/real/single_face.mp4"),
                    "-c", "copy", str(whole)], check=True, timeout=60)  # its index last, as a recorder writes it
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    headless.write_bytes(data.replace(b"trak", b"xxxx"))  # the index no longer names its tracks
    for path, says in ((cut, "the file is cut short: it ends before its index"),
                       (headless, "the file is damaged: its header names no streams at all")):
        with pytest.raises(ReenactError, match=says):
            VideoReader(path)


def test_a_cut_short_image_is_said_to_be_cut_short_not_of_the_wrong_kind(tmp_path):
    data = (REPO / "assets" / "portraits" / "grace_hopper.jpg").read_bytes()
    for name, keep in (("half.jpg", len(data) // 2), ("head.jpg", 600), ("as.png", len(data) // 2)):
        (tmp_path / name).write_bytes(data[:keep])
        with pytest.raises(ReenactError) as info:
            read_image_file(tmp_path / name, 2048)
        assert "the file is cut short" in info.value.message and "use a PNG" not in info.value.message, name


def test_a_driver_without_any_face_says_so(studio_registry):
    node, run = make(studio_registry, "track.face")
    for index in range(3):
        assert not node.process(FrameContext(index, 0.0, run), image=Image(np.full((96, 96, 3), 90, np.uint8)))[
            "track"].valid
    node.close()
    assert run.notices == ["face: no face in any of the 3 frames, so nothing it drives moved"]


def test_refiner_metadata_with_an_absurd_input_size_is_refused():
    meta = NetConfig().metadata()
    for size in ("0", "-5", "1000000000"):
        with pytest.raises(ReenactError, match="out of range"):
            NetConfig.from_metadata({**meta, "input_size": size}, "w.safetensors")


def assert_prints_nothing_but_done(script: str) -> None:
    """Run the Python script, which writes 'done' to descriptor 2 at its end, and check that nothing else
    reached either stream."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0 and done.stderr == "done" and done.stdout == "", done.stderr


def test_mediapipe_start_up_lines_never_reach_the_terminal():
    # the graph's threads log after the constructor returns: muting only the constructor let ~2 lines per
    # detector through ("INFO: Created TensorFlow Lite XNNPACK delegate", "W0000 ... Feedback manager")
    script = ("import os\n"
              "from nodes.track.face_finder import FaceFinder\n"
              "from nodes.track.hands import HandDetector\n"
              "from nodes.track.mediapipe_face import FaceMeshDetector\n"
              "for _ in range(4):\n"
              "    for make in (lambda: FaceMeshDetector(False, 1), FaceFinder, HandDetector):\n"
              "        make().close()\n"
              "os.write(2, b'done')\n")
    assert_prints_nothing_but_done(script)


def test_mediapipe_start_up_lines_stay_muted_when_trackers_start_on_several_threads():
    # hands and pose start on their own workers while the face mesh starts on the graph's thread; each
    # muting descriptor 2 on its own let one thread's restore unmute another's start-up (2 lines a run)
    script = ("import os\n"
              "from concurrent.futures import ThreadPoolExecutor\n"
              "import numpy as np\n"
              "from nodes.track.body import PoseDetector\n"
              "from nodes.track.hands import HandDetector\n"
              "from nodes.track.mediapipe_face import FaceMeshDetector\n"
              "frame = np.full((240, 320, 3), 120, np.uint8)\n"
              "def start(make):\n"
              "    detector = make()\n"
              "    detector.detect(frame)\n"
              "    detector.close()\n"
              "makers = (lambda: FaceMeshDetector(False, 1), HandDetector, lambda: PoseDetector(False, 0.5))\n"
              "for _ in range(3):\n"
              "    with ThreadPoolExecutor(3) as pool:\n"
              "        list(pool.map(start, makers))\n"
              "os.write(2, b'done')\n")
    assert_prints_nothing_but_done(script)


def test_a_device_or_a_pipe_as_preset_is_refused_instead_of_read_forever(tmp_path):
    from tests.test_cli import reenact  # a subprocess with a timeout: the bug was a hang

    fifo = tmp_path / "graph.json"
    os.mkfifo(fifo)  # opening it for reading blocked until a writer came; /dev/zero filled the memory
    done = reenact("validate", "/dev/zero", str(fifo), str(REPO / "graphs" / "demo.json"))
    assert done.returncode == 2
    for path in ("/dev/zero", fifo):
        assert f"{path}: invalid\n  not a regular file (a device, a pipe or a socket): name a preset file" in done.stderr
    assert "demo.json: valid" in done.stdout and "Traceback" not in done.stderr


def test_a_pipe_as_target_or_driver_stops_the_run_instead_of_blocking_it(tmp_path):
    from tests.test_cli import reenact  # a subprocess with a timeout: the bug was a hang

    os.mkfifo(tmp_path / "target.png")  # Pillow's open waited forever for a writer
    done = reenact("run", str(REPO / "graphs" / "demo.json"), "--quiet", "--set", f"target.path={tmp_path / 'target.png'}",
                   cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "target.png: is not a regular file (a device, a pipe or a socket) (name a file)" in done.stderr
    assert "stopped before the first frame" in done.stderr
    assert [p.name for p in tmp_path.rglob("*") if not p.is_dir()] == ["target.png"]  # no video written


def test_a_portrait_without_a_face_stops_the_run_at_the_first_frame(tmp_path, capsys):
    """The retargeting and the render fail on every frame of a portrait with no face (it never changes): the
    run rendered the whole driver, each frame failing, and said so only at its end."""
    portrait = tmp_path / "wall.png"
    ramp = np.linspace(40, 220, 256, dtype=np.uint8)
    PILImage.fromarray(np.dstack([np.tile(ramp, (256, 1))] * 3)).save(portrait)
    out = tmp_path / "out.mp4"
    code = main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--quiet",
                 "--set", f"driver.path={REPO / 'tests' / 'data' / 'real' / 'single_face.mp4'}",
                 "--set", f"target.path={portrait}", "--set", f"out.path={out}"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "failed at frame 0: no face found in the target portrait (use a portrait with a clear face; a face " \
           "small in a large photo (a group or full-length shot) is not found: crop the photo around it)" in err
    assert "stopped before the first frame" in err and "failed in" not in err and "0 frames" not in err
    assert not out.exists()


def test_a_still_picture_as_the_driver_says_it_drives_one_frame(studio_registry):
    """It played as a clip of one frame: the run wrote a 0.04 s video and said nothing."""
    node, run = make(studio_registry, "capture.video", path=str(REPO / "tests" / "data" / "real" / "smile_teeth.jpg"))
    node.process(FrameContext(0, 0.0, run))
    with pytest.raises(EndOfStream):
        node.process(FrameContext(1, 0.0, run))
    node.close()
    assert any("smile_teeth.jpg: a still JPEG picture as the driver: it drives one pose, for a single frame" in notice
               for notice in run.notices), run.notices
