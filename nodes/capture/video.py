"""Video files and cameras through imageio-ffmpeg (ffmpeg ships inside its wheel)."""
from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import EndOfStream, ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port

DECODE_ERRORS = (OSError, RuntimeError, ValueError)  # what imageio-ffmpeg raises for bad input


class VideoReader:
    """Frames of one video file as uint8 (H, W, 3) arrays; raises ReenactError for unreadable files."""

    def __init__(self, path: Path):
        self.path = path
        self._frames = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        try:
            meta = next(self._frames)
        except (StopIteration, *DECODE_ERRORS) as exc:
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
        except DECODE_ERRORS as exc:
            raise ReenactError(f"decoding failed: {first_line(exc)}", where=str(self.path)) from None
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3)

    def close(self) -> None:
        self._frames.close()


class VideoFile(Node):
    schema = NodeSchema(
        type_id="capture.video", title="Video File", category="capture",
        help="Plays a video file (mp4, mov, webm, gif, ...) frame by frame; each frame carries its own timestamp.",
        outputs=(Port("image", ports.IMAGE, "the current frame"),),
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


NODES = [VideoFile]
