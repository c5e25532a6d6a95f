"""Video files written through imageio-ffmpeg (ffmpeg ships inside its wheel)."""
from __future__ import annotations

import os

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, PathRole, Port
from nodes.output.provenance import MARK_PARAMS, Marks, mark_frame
from nodes.output.folders import prepare_output_dir


class VideoOutput(Node):
    """H.264 (or VP9 for .webm) through ffmpeg. The file is written under a temporary name and appears
    under its own name only once it is finalized and read back, also after Ctrl-C."""

    schema = NodeSchema(
        type_id="output.video", title="Video File Output", category="output",
        help="Writes frames to a video file (.mp4, .mov, .mkv: H.264; .webm: VP9). Odd sizes are padded by one "
             "pixel. The file is finalized when the run stops, also on Ctrl-C, and checked to be readable. Frames are "
             "marked as synthetic (invisible watermark, metadata tag, and by default a small visible label).",
        inputs=(Port("image", ports.IMAGE),),
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


NODES = [VideoOutput]
