"""Video files and cameras through imageio-ffmpeg (ffmpeg ships inside its wheel)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import EndOfStream, ReenactError, first_line
from app.runtime.image import Image
from app.runtime.node import Node
from app.runtime.ports import PortType
from app.runtime.schema import NodeSchema, Param, ParamKind, PathRole, Port
from nodes._provenance import MARK_PARAMS, Marks, mark_frame
from nodes.output import prepare_output_dir

_DECODE_ERRORS = (OSError, RuntimeError, ValueError)  # what imageio-ffmpeg raises for bad input


class VideoReader:
    """Frames of one video file as uint8 (H, W, 3) arrays; raises ReenactError for unreadable files."""

    def __init__(self, path: Path):
        self.path = path
        self._frames = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        try:
            meta = next(self._frames)
        except (StopIteration, *_DECODE_ERRORS) as exc:
            raise ReenactError(f"cannot read the video: {first_line(exc)}", where=str(path),
                               hint="check that it is a video file ffmpeg can decode (mp4, mov, webm, gif, ...)") from None
        self.width, self.height = meta["size"]
        self.fps = float(meta.get("fps") or 30.0) or 30.0

    def read(self) -> np.ndarray | None:
        """The next frame, or None at the end."""
        try:
            data = next(self._frames)
        except StopIteration:
            return None
        except _DECODE_ERRORS as exc:
            raise ReenactError(f"decoding failed: {first_line(exc)}", where=str(self.path)) from None
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3)

    def close(self) -> None:
        self._frames.close()


class VideoFile(Node):
    schema = NodeSchema(
        type_id="capture.video", title="Video File", category="capture",
        help="Plays a video file (mp4, mov, webm, gif, ...) frame by frame; each frame carries its own timestamp.",
        outputs=(Port("image", PortType.IMAGE, "the current frame"),),
        params=(Param("path", ParamKind.PATH, "", "video file, relative to the preset's folder or assets/"),
                Param("loop", ParamKind.BOOL, False, "start again at the end (else the run ends there)")),
        volatile=True,
    )

    def open(self, run: RunContext) -> None:
        if not self.params.path:
            raise ReenactError("no video file set", hint="set the path param, e.g. --set driver.path=clip.mp4")
        self._path = run.asset(self.params.path)
        self._reader = VideoReader(self._path)
        self._index, self._time_offset = 0, 0.0

    def process(self, ctx: FrameContext) -> dict:
        pixels = self._reader.read()
        if pixels is None:
            if self._index == 0:
                raise ReenactError("the video has no frames", where=str(self._path))
            if not self.params.loop:
                raise EndOfStream
            self._time_offset += self._index / self._reader.fps  # time keeps running forward
            self._reader.close()
            self._reader, self._index = VideoReader(self._path), 0
            return self.process(ctx)
        timestamp = self._time_offset + self._index / self._reader.fps
        self._index += 1
        return {"image": Image(pixels.copy(), timestamp)}

    def close(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self._reader.close()
            self._reader = None


def open_v4l2(device: Path, width: int, height: int, fps: float):
    """Start reading a V4L2 camera: (iterator of raw RGB frames, (width, height)); ReenactError if it
    cannot be opened."""
    if not device.exists():
        raise ReenactError(f"no camera at {device}")
    frames = imageio_ffmpeg.read_frames(str(device), input_params=[
        "-f", "v4l2", "-framerate", f"{fps:g}", "-video_size", f"{width}x{height}"])
    try:
        meta = next(frames)
    except (StopIteration, *_DECODE_ERRORS) as exc:
        raise ReenactError(f"cannot open the camera {device}: {first_line(exc)}") from None
    return frames, tuple(meta["size"])


class Webcam(Node):
    """A background thread reads the camera and keeps only the newest frame, so lag cannot build up.
    A camera that is missing or goes away is retried with growing pauses; meanwhile the node fails
    with a status (its downstream waits, the rest of the graph keeps running) and recovers by itself."""

    schema = NodeSchema(
        type_id="capture.webcam", title="Webcam", category="capture",
        help="A camera (Linux V4L2 device /dev/videoN). Only the newest frame is kept, so a slow graph skips "
             "frames instead of falling behind. A missing or unplugged camera is retried until it is back.",
        outputs=(Port("image", PortType.IMAGE),),
        params=(Param("device", ParamKind.INT, 0, "camera number N of /dev/videoN", minimum=0, maximum=63),
                Param("width", ParamKind.INT, 640, "requested width", minimum=16, maximum=4096),
                Param("height", ParamKind.INT, 480, "requested height", minimum=16, maximum=4096),
                Param("fps", ParamKind.FLOAT, 30.0, "requested frame rate", minimum=1.0, maximum=240.0),
                Param("timeout", ParamKind.FLOAT, 5.0, "seconds to wait for the first frame", minimum=0.5,
                      maximum=60.0)),
        volatile=True,
    )
    RETRY_FIRST, RETRY_MAX = 0.5, 5.0  # seconds between reconnection attempts, doubling up to the max
    connect = staticmethod(open_v4l2)  # tests put a fake camera here

    def open(self, run: RunContext) -> None:
        self._latest: tuple[np.ndarray, float] | None = None
        self._problem = "connecting to the camera"
        self._first = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"webcam-{self.params.device}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        device, wait = Path(f"/dev/video{self.params.device}"), self.RETRY_FIRST
        while not self._stop.is_set():
            try:
                frames, (width, height) = self.connect(device, self.params.width, self.params.height, self.params.fps)
            except ReenactError as exc:
                self._problem = f"{exc.what}; retrying in {wait:g} s"
            else:
                wait = self.RETRY_FIRST
                self._problem = self._stream(frames, width, height)
            self._latest = None  # a stale picture must not pass for live video
            self._stop.wait(wait)
            wait = min(self.RETRY_MAX, wait * 2)

    def _stream(self, frames, width: int, height: int) -> str:
        """Keep the newest frame until the camera stops; returns why it stopped."""
        self._problem = ""
        try:
            for data in frames:
                if self._stop.is_set():
                    break
                self._latest = (np.frombuffer(data, np.uint8).reshape(height, width, 3), time.monotonic())
            return "the camera stopped sending frames; reconnecting"
        except _DECODE_ERRORS as exc:
            return f"the camera failed ({first_line(exc)}); reconnecting"
        finally:
            frames.close()

    def status(self) -> str:
        return self._problem or "live"

    def process(self, ctx: FrameContext) -> dict:
        if self._first:  # only the first frame may wait; later frames never block the graph
            deadline = time.monotonic() + self.params.timeout
            while self._latest is None and time.monotonic() < deadline:
                time.sleep(0.005)
            self._first = False
        latest = self._latest
        if latest is None:
            raise ReenactError(self._problem or "no frame from the camera yet",
                               hint="plug a camera in or pick another (device param); the graph carries on")
        pixels, timestamp = latest
        return {"image": Image(pixels.copy(), timestamp)}

    def close(self) -> None:
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self._thread.join(timeout=2.0)


class VideoOutput(Node):
    """H.264 (or VP9 for .webm) through ffmpeg. The file is written under a temporary name and appears
    under its own name only once it is finalized and read back, also after Ctrl-C."""

    schema = NodeSchema(
        type_id="output.video", title="Video File Output", category="output",
        help="Writes frames to a video file (.mp4, .mov, .mkv: H.264; .webm: VP9). Odd sizes are padded by one "
             "pixel. The file is finalized when the run stops, also on Ctrl-C, and checked to be readable. Frames are "
             "marked as synthetic (invisible watermark, metadata tag, and by default a small visible label).",
        inputs=(Port("image", PortType.IMAGE),),
        params=(Param("path", ParamKind.PATH, "renders/out.mp4", "output file, relative to the working directory",
                      role=PathRole.OUTPUT),
                Param("fps", ParamKind.FLOAT, 30.0, "frame rate of the file", minimum=1.0, maximum=240.0),
                Param("quality", ParamKind.INT, 18, "constant rate factor: lower is better and larger",
                      minimum=0, maximum=51),
                *MARK_PARAMS),
        volatile=True,
    )

    _CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}

    def open(self, run: RunContext) -> None:
        self._path = run.output(self.params.path)
        if self._path.suffix.lower() not in self._CODECS:
            raise ReenactError(f"unsupported video type '{self._path.suffix}'", where=str(self._path),
                               hint=f"use one of {', '.join(self._CODECS)}")
        prepare_output_dir(self._path.parent)
        self._partial = self._path.with_name(f".{self._path.stem}.partial{self._path.suffix}")
        self._writer = None
        self._size: tuple[int, int] | None = None
        self._failure = ""  # why writing failed: the file is then never passed off as finished
        self.written = 0

    def process(self, ctx: FrameContext, image: Image) -> dict:
        pixels = mark_frame(image.rgb(), Marks.from_params(self.params))
        if self._writer is None:
            self._size = (image.width, image.height)
            self._writer = self._start(image.width + image.width % 2, image.height + image.height % 2)
        elif (image.width, image.height) != self._size:
            raise ReenactError(f"frame size changed from {self._size[0]}x{self._size[1]} to "
                               f"{image.width}x{image.height}", hint="a video keeps one size; resize before output")
        if image.width % 2 or image.height % 2:  # H.264 in yuv420p needs even sides: repeat the edge
            pixels = np.pad(pixels, ((0, image.height % 2), (0, image.width % 2), (0, 0)), mode="edge")
        if self._failure:
            raise ReenactError(self._failure, where=str(self._path), hint="free some space or choose another path")
        try:
            self._writer.send(np.ascontiguousarray(pixels).tobytes())
        except (OSError, RuntimeError) as exc:
            self._failure = f"writing the video failed: {first_line(exc)}"
            raise ReenactError(self._failure, where=str(self._path), hint="is the disk full?") from None
        self.written += 1
        return {}

    def _start(self, width: int, height: int):
        codec = self._CODECS[self._path.suffix.lower()]
        writer = imageio_ffmpeg.write_frames(str(self._partial), (width, height), fps=self.params.fps, codec=codec,
                                             quality=None, macro_block_size=1, pix_fmt_out="yuv420p",
                                             output_params=["-crf", str(self.params.quality), "-metadata",
                                                            f"comment={Marks.from_params(self.params).metadata()}"])
        writer.send(None)  # start ffmpeg
        return writer

    def close(self) -> None:
        writer, self._writer = getattr(self, "_writer", None), None
        if writer is None:
            return
        try:
            writer.close()
            frames, _ = imageio_ffmpeg.count_frames_and_secs(str(self._partial))
        except (OSError, RuntimeError) as exc:
            self._partial.unlink(missing_ok=True)
            raise ReenactError(f"the video could not be finalized: {first_line(exc)}", where=str(self._path),
                               hint="nothing was kept; is the disk full?") from None
        if self._failure:
            self._partial.unlink(missing_ok=True)
            raise ReenactError(f"the video was not kept: {self._failure}", where=str(self._path),
                               hint="free some space or choose another path, then render again")
        if frames != self.written:
            self._partial.unlink(missing_ok=True)
            raise ReenactError(f"the finished video has {frames} frames, {self.written} were written",
                               where=str(self._path), hint="is the disk full?")
        os.replace(self._partial, self._path)


NODES = [VideoFile, Webcam, VideoOutput]
