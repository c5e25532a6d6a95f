"""Video files written through the ffmpeg that ships inside the imageio-ffmpeg wheel."""
from __future__ import annotations

import os
import subprocess
import tempfile
from fractions import Fraction

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, PathRole, Port
from nodes.capture.ffmpeg import start_ffmpeg
from nodes.output.credentials import SIGNING_PARAMS, Credentialing
from nodes.output.provenance import MARK_PARAMS, Marks, mark_frame
from nodes.output.folders import partial_path, prepare_output_dir
from nodes.output.frame_clock import FrameClock, LIVE_GAP_S
from nodes.output.pipe_writer import PipeWriter
from nodes.output.sound import LOOP_MOST_S, add_sound


# Encoder effort by name, per codec. x264 at 512x512 on this 2-core CPU, per frame: medium 12 ms,
# veryfast 4.7 ms, ultrafast 2.4 ms (files 1.2x, 1x and 4x veryfast's); VP9 by its realtime speed levels.
_EFFORT = {
    "medium": {"libx264": ("-preset", "medium"), "libvpx-vp9": ("-deadline", "good", "-cpu-used", "2")},
    "veryfast": {"libx264": ("-preset", "veryfast"), "libvpx-vp9": ("-deadline", "realtime", "-cpu-used", "6")},
    "ultrafast": {"libx264": ("-preset", "ultrafast"), "libvpx-vp9": ("-deadline", "realtime", "-cpu-used", "8")},
}


class VideoOutput(Node):
    """H.264 (or VP9 for .webm) through ffmpeg. The file is written under a temporary name and appears
    under its own name only once it is finalized and read back, also after Ctrl-C."""

    schema = NodeSchema(
        type_id="output.video", title="Video File Output", category="output",
        help="Writes frames to a video file (.mp4, .mov, .mkv: H.264; .webm: VP9) at a constant rate, each frame "
             "for as long as the source showed it (a phone's variable-rate clip keeps its timing; at another rate "
             "than the source's, frames are repeated or left out), with the driving video's sound. Odd sizes are "
             "padded by one pixel. The file is finalized when the run stops, also on Ctrl-C, and checked to be readable. Frames are "
             "marked as synthetic (invisible watermark, metadata tag, signed C2PA content credentials in .mp4 and .mov, "
             "and by default a small visible label).",
        inputs=(Port("image", ports.IMAGE),),
        params=(Param("path", ParamKind.PATH, "renders/out.mp4", "output file, relative to the working directory",
                      role=PathRole.OUTPUT),
                Param("fps", ParamKind.FLOAT, 0.0, "frame rate of the file; 0: the source's (a driving "
                      "video's own rate), 30 where the graph has no timed source", minimum=0.0, maximum=240.0),
                Param("quality", ParamKind.INT, 18, "constant rate factor: lower is better and larger",
                      minimum=0, maximum=51),
                Param("speed", ParamKind.ENUM, "veryfast", "encoder effort (x264's presets): medium makes files "
                      "about a fifth smaller for about 2.5x the encoding time; ultrafast takes half the time of "
                      "veryfast for files several times larger", choices=tuple(_EFFORT)),
                *MARK_PARAMS, *SIGNING_PARAMS),
        volatile=True,
        degrade=(Degrade("speed", ("ultrafast",), "larger files (the same quality) for half the encoding time"),),
    )

    _CODECS = {".mp4": "libx264", ".mov": "libx264", ".mkv": "libx264", ".webm": "libvpx-vp9"}

    def open(self, run: RunContext) -> None:
        self._run = run
        self._path = run.output(self.params.path)
        if self._path.is_dir():  # found now, not after rendering every frame; first: a folder has no type
            raise ReenactError("is a folder, not a video file", where=str(self._path),
                               hint="name a file, e.g. --set out.path=renders/clip.mp4")
        if self._path.suffix.lower() not in self._CODECS:
            raise ReenactError(f"unsupported video type '{self._path.suffix}'", where=str(self._path),
                               hint=f"use one of {', '.join(self._CODECS)}")
        if 0 < self.params.fps < 1:  # a file of one frame a minute is not a video; it ran long past its source
            raise ReenactError(f"a frame rate of {self.params.fps:g} fps is too low for a video",
                               where=f"{self.node_id}.fps", hint="set 1 fps or more, or 0 for the source's own")
        prepare_output_dir(self._path.parent)
        self._replacing = self._path.exists()  # a render replaces its file (the editor keeps it: RunContext.output)
        self._credentials = Credentialing(run, self.params)
        self._partial = partial_path(self._path)
        self._encoder: subprocess.Popen | None = None
        self._writer: PipeWriter | None = None
        self._size: tuple[int, int] | None = None
        self._clock: FrameClock | None = None
        self._held: tuple[np.ndarray, Marks] | None = None  # written once the next frame says for how long

    @property
    def written(self) -> int:
        """Frames wholly written to the encoder."""
        return self._writer.written if self._writer is not None else 0

    def process(self, ctx: FrameContext, image: Image) -> dict:
        if self._encoder is None:
            self._size = (image.width, image.height)
            source = self._run.source
            # frames follow their own times where a source keeps time (else each fills one slot); a camera's
            # are the wall clock's, and a pause between two of its frames is not part of what it filmed
            self._clock = FrameClock(self.params.fps or self._run.frame_rate or 30.0,
                                     max_gap=LIVE_GAP_S if source is not None and source.live else None)
            self._timed = source is not None and image.timestamp is not None
            self._encoder = self._start(image.width + image.width % 2, image.height + image.height % 2)
            self._writer = PipeWriter(self._encoder.stdin, f"{self.node_id}-writer", _marked_bytes)
        elif (image.width, image.height) != self._size:
            raise ReenactError(f"frame size changed from {self._size[0]}x{self._size[1]} to "
                               f"{image.width}x{image.height}", hint="a video keeps one size; resize before output")
        if failure := self._write_failure():
            raise ReenactError(failure, where=str(self._path),
                               hint="is the disk full? Free some space or choose another path")
        self._write_held(self._clock.covered(image.timestamp if self._timed else None))
        self._held = (image.rgb(), Marks.from_params(self.params))
        return {}

    def _write_held(self, copies: int) -> None:
        if self._held is not None and copies:
            self._writer.put(self._held, copies)

    def _write_failure(self) -> str:
        """Why writing frames failed, '' while it has not (frames are written beside the graph, so this
        is known a frame or two late); the file is then never passed off as finished."""
        error = self._writer.error
        if error is None:
            return ""
        gone = isinstance(error, (OSError, ValueError))  # the encoder, or its pipe
        return f"writing the video failed: {self._encoder_says('ffmpeg stopped') if gone else first_line(error)}"

    def _start(self, width: int, height: int) -> subprocess.Popen:
        """ffmpeg encoding raw RGB frames from its stdin. Our own process rather than imageio-ffmpeg's
        writer, which kills ffmpeg when a second Ctrl-C lands inside it: here the frames already sent
        are still finalized (ffmpeg drops a frame cut short)."""
        fps = Fraction(self._clock.fps).limit_denominator(100_000)
        codec = self._CODECS[self._path.suffix.lower()]
        self._log = tempfile.TemporaryFile()  # ffmpeg's messages: a file never fills up and blocks it
        return start_ffmpeg(
            ["-y", "-hide_banner", "-nostdin", "-loglevel", "error",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(fps), "-i", "pipe:0",
             "-an", "-c:v", codec, "-pix_fmt", "yuv420p",
             "-threads", str(self._run.options.threads.codec), *_EFFORT[self.params.speed][codec],
             "-crf", str(self.params.quality),
             "-metadata", f"comment={Marks.from_params(self.params).metadata()}", str(self._partial)],
            stdin=subprocess.PIPE, bufsize=0, stdout=subprocess.DEVNULL, stderr=self._log,
            start_new_session=True)  # Ctrl-C is ours to handle, not ffmpeg's

    def _encoder_says(self, default: str) -> str:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else default

    def close(self) -> None:
        encoder, self._encoder = getattr(self, "_encoder", None), None
        if encoder is None:
            return
        try:
            problem = self._finalize(encoder)
            if not problem:  # signed before the rename: the final name gets the signed file
                self._credentials.sign(self._partial, self._path, Marks.from_params(self.params).assertion())
        except BaseException:  # a further Ctrl-C while finalizing: leave no unplayable file behind
            encoder.kill()
            self._writer.abandon()
            self._partial.unlink(missing_ok=True)
            raise
        finally:
            self._log.close()
        if problem:
            self._partial.unlink(missing_ok=True)
            raise ReenactError(f"the video was not kept: {problem}", where=str(self._path),
                               hint="free some space or choose another path, then render again")
        os.replace(self._partial, self._path)
        self._run.notice(f"{self.node_id}: wrote {self._path}" + (" (replacing the file that was there)"
                                                                 if self._replacing else ""))

    def _finalize(self, encoder: subprocess.Popen) -> str:
        """Let ffmpeg finish the file, then read it back; returns why it cannot be kept, or ''."""
        self._write_held(self._clock.last())
        self._writer.finish()  # every frame handed over is written, or writing failed
        encoder.stdin.close()
        exit_code = encoder.wait()
        if failure := self._write_failure():
            return failure
        if exit_code != 0:
            return f"ffmpeg failed: {self._encoder_says('no reason given')}"
        try:
            frames, _ = imageio_ffmpeg.count_frames_and_secs(str(self._partial))
        except RuntimeError as exc:
            return f"it cannot be read back: {first_line(exc)}"
        if frames != self.written:
            return f"the finished video has {frames} frames, {self.written} were sent"
        self._carry_sound()
        return ""

    def _carry_sound(self) -> None:
        """The source's sound track into the finished frames, from where they start in the source, where they
        kept its time (else the words would drift from the faces); where that fails, the video stays silent
        and the run says why."""
        source, clock = self._run.source, self._clock
        if not self._timed or source.sound is None:
            return
        if clock.jumped:
            self._run.notice(f"{self.node_id}: the video is silent: the source's time jumped while it was written "
                             "(it started again, or a camera's frames stopped a while), so its sound would not go "
                             "with the faces")
            return
        period = source.sound_period() if source.sound_period is not None else None
        if period is not None and period > LOOP_MOST_S:
            self._run.notice(f"{self.node_id}: the video is silent: the looping clip {source.sound.name} lasts "
                             f"{period:.0f} s, and a looping sound over {LOOP_MOST_S:.0f} s is left out")
            return
        loop = None if period is None else (source.sound_from, period)
        if problem := add_sound(self._partial, self.written, clock.fps, source.sound, source.sound_from + clock.origin,
                                loop):
            self._run.notice(f"{self.node_id}: the video is silent: adding the sound of {source.sound.name} failed "
                             f"({problem})")


def _marked_bytes(frame: tuple[np.ndarray, Marks]) -> bytes:
    """A frame's pixels with its marks, as ffmpeg reads them (on the writer's thread)."""
    pixels = mark_frame(*frame)
    height, width = pixels.shape[:2]
    if width % 2 or height % 2:  # H.264 in yuv420p needs even sides: repeat the edge
        pixels = np.pad(pixels, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(pixels).tobytes()


NODES = [VideoOutput]
