"""Video files and cameras through imageio-ffmpeg (ffmpeg ships inside its wheel)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.image import Image
from app.runtime.node import Node
from app.runtime.ports import PortType
from app.runtime.schema import NodeSchema, Param, ParamKind, PathRole, Port
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
            raise ReenactError(f"cannot read the video: {_first_line(exc)}", where=str(path),
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
            raise ReenactError(f"decoding failed: {_first_line(exc)}", where=str(self.path)) from None
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3)

    def close(self) -> None:
        self._frames.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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


class Webcam(Node):
    """A background thread reads the camera and keeps only the newest frame, so lag cannot build up."""

    schema = NodeSchema(
        type_id="capture.webcam", title="Webcam", category="capture",
        help="A camera (Linux V4L2 device /dev/videoN). Only the newest frame is kept, so a slow graph skips "
             "frames instead of falling behind.",
        outputs=(Port("image", PortType.IMAGE),),
        params=(Param("device", ParamKind.INT, 0, "camera number N of /dev/videoN", minimum=0, maximum=63),
                Param("width", ParamKind.INT, 640, "requested width", minimum=16, maximum=4096),
                Param("height", ParamKind.INT, 480, "requested height", minimum=16, maximum=4096),
                Param("fps", ParamKind.FLOAT, 30.0, "requested frame rate", minimum=1.0, maximum=240.0),
                Param("timeout", ParamKind.FLOAT, 5.0, "seconds to wait for the first frame", minimum=0.5,
                      maximum=60.0)),
        volatile=True,
    )

    def open(self, run: RunContext) -> None:
        device = Path(f"/dev/video{self.params.device}")
        if not device.exists():
            raise ReenactError(f"no camera at {device}", hint="plug one in, pick another --set NODE.device=N, "
                               "or use the motion driver (capture.motion)")
        p = self.params
        self._frames = imageio_ffmpeg.read_frames(str(device), input_params=[
            "-f", "v4l2", "-framerate", f"{p.fps:g}", "-video_size", f"{p.width}x{p.height}"])
        try:
            meta = next(self._frames)
        except (StopIteration, *_DECODE_ERRORS) as exc:
            raise ReenactError(f"cannot open the camera: {_first_line(exc)}", where=str(device)) from None
        self._size = meta["size"]
        self._latest: tuple[np.ndarray, float] | None = None
        self._error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"webcam-{p.device}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        width, height = self._size
        try:
            for data in self._frames:
                if self._stop.is_set():
                    return
                self._latest = (np.frombuffer(data, np.uint8).reshape(height, width, 3), time.monotonic())
            self._error = "the camera stopped sending frames"
        except _DECODE_ERRORS as exc:
            self._error = f"the camera failed: {_first_line(exc)}"

    def process(self, ctx: FrameContext) -> dict:
        deadline = time.monotonic() + self.params.timeout
        while self._latest is None and self._error is None and time.monotonic() < deadline:
            time.sleep(0.005)
        if self._error:
            raise ReenactError(self._error, hint="check the cable, then restart the graph")
        if self._latest is None:
            raise ReenactError(f"no frame from the camera within {self.params.timeout:g} s")
        pixels, timestamp = self._latest
        return {"image": Image(pixels.copy(), timestamp)}

    def close(self) -> None:
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self._frames.close()


class VideoOutput(Node):
    """H.264 (or VP9 for .webm) through ffmpeg. The file is written under a temporary name and appears
    under its own name only once it is finalized and read back, also after Ctrl-C."""

    schema = NodeSchema(
        type_id="output.video", title="Video File Output", category="output",
        help="Writes frames to a video file (.mp4, .mov, .mkv: H.264; .webm: VP9). Odd sizes are padded by one "
             "pixel. The file is finalized when the run stops, also on Ctrl-C, and checked to be readable.",
        inputs=(Port("image", PortType.IMAGE),),
        params=(Param("path", ParamKind.PATH, "renders/out.mp4", "output file, relative to the working directory",
                      role=PathRole.OUTPUT),
                Param("fps", ParamKind.FLOAT, 30.0, "frame rate of the file", minimum=1.0, maximum=240.0),
                Param("quality", ParamKind.INT, 18, "constant rate factor: lower is better and larger",
                      minimum=0, maximum=51)),
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
        self.written = 0

    def process(self, ctx: FrameContext, image: Image) -> dict:
        pixels = image.rgb()
        if self._writer is None:
            self._size = (image.width, image.height)
            self._writer = self._start(image.width + image.width % 2, image.height + image.height % 2)
        elif (image.width, image.height) != self._size:
            raise ReenactError(f"frame size changed from {self._size[0]}x{self._size[1]} to "
                               f"{image.width}x{image.height}", hint="a video keeps one size; resize before output")
        if image.width % 2 or image.height % 2:  # H.264 in yuv420p needs even sides: repeat the edge
            pixels = np.pad(pixels, ((0, image.height % 2), (0, image.width % 2), (0, 0)), mode="edge")
        try:
            self._writer.send(np.ascontiguousarray(pixels).tobytes())
        except (OSError, RuntimeError) as exc:
            raise ReenactError(f"writing the video failed: {_first_line(exc)}", where=str(self._path),
                               hint="is the disk full?") from None
        self.written += 1
        return {}

    def _start(self, width: int, height: int):
        codec = self._CODECS[self._path.suffix.lower()]
        writer = imageio_ffmpeg.write_frames(str(self._partial), (width, height), fps=self.params.fps, codec=codec,
                                             quality=None, macro_block_size=1, pix_fmt_out="yuv420p",
                                             output_params=["-crf", str(self.params.quality)])
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
            raise ReenactError(f"the video could not be finalized: {_first_line(exc)}", where=str(self._path)) from None
        if frames != self.written:
            self._partial.unlink(missing_ok=True)
            raise ReenactError(f"the finished video has {frames} frames, {self.written} were written",
                               where=str(self._path), hint="is the disk full?")
        os.replace(self._partial, self._path)


NODES = [VideoFile, Webcam, VideoOutput]
