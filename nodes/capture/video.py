"""Video files through the ffmpeg that ships inside the imageio-ffmpeg wheel."""
from __future__ import annotations

import queue
import re
import subprocess
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.file_kind import VIDEO_FILES
from app.runtime.context import FrameContext, PassOver, RunContext, SourceClock
from app.runtime.errors import EndOfStream, ReenactError
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.capture.ffmpeg import start_ffmpeg
from nodes.capture.video_filters import (DEINTERLACE, DEINTERLACED, FIT, HDR, INTERLACED, SQUARE_PIXELS,
                                           STORED_SIZE, TONE_MAPPED, tone_map)
from nodes.capture.image import still_format
from nodes.capture.video_errors import ANY_STREAM, unreadable_video

_FRAME = re.compile(r"\bn:\s*\d+\s+pts:\s*\S+\s+pts_time:(\S+)")  # a showinfo line: one decoded frame
_DURATION = re.compile(r"\bduration_time:(\S+)")
_SIZE = re.compile(r"\bs:(\d+)x(\d+)")
_NTSC_BASES = (24, 30, 48, 60, 120, 240)  # rates whose NTSC-derived kin (x 1000/1001) a header rounds: 23.98, 29.97
_RATE = re.compile(r", (\d+(?:\.\d+)?)(k?) (fps|tbr)\b")  # "26.49 fps, 120 tbr" on the stream's header line
_ERROR = re.compile(r"\[(?:error|fatal)\] (.+)")  # with -loglevel level+info, ffmpeg's own complaints
# ffmpeg's demuxer and filters log from threads of their own, and showinfo writes its line in pieces: now and
# then (4 of 30 runs of a cut clip beside two busy processes) another thread's message lands inside it, after
# its last field and without its own "[error]" tag
_INSIDE_SHOWINFO = re.compile(r"\btype:\S+ (.+)")
_DAMAGE = re.compile(r"partial file|invalid|error|corrupt|missing|truncated", re.IGNORECASE)
_SOUND = re.compile(r"\bStream #0:\d+\S*: Audio: ")  # an input's sound track on its header
_NO_FILTER = re.compile(r"No such filter")  # an ffmpeg built without a filter asked for
# the raw frames' muxer on a clip with repeated timestamps: about our pipe, not the clip (its frames all come)
_OUR_PIPE = re.compile(r"non monotonically increasing dts to muxer")
_PROMISED = re.compile(r"\bDuration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")  # the container header's length
# a stream may end this much before its container says (another stream, e.g. audio, running longer) before
# it counts as cut short: ffmpeg itself says "partial file" for a cut file only most of the time
SHORTFALL_S, SHORTFALL_SHARE = 0.5, 0.1

AHEAD = 2  # frames read from ffmpeg before they are asked for
BASE_RATE_SHARE, BASE_RATE_MAX = 0.05, 60.0  # see VideoReader._header_rate


class _FramesAhead:
    """Reads a pipe in chunks of one frame's bytes on a thread of its own, up to AHEAD frames ahead. A
    frame is several times a pipe's buffer, so ffmpeg cannot get ahead by itself: read when asked for, each
    frame waited for most of its transfer (1.4 ms at 308x360). At the end (or on an error) the short last
    chunk is what every later take() returns."""

    def __init__(self, pipe, size: int):
        self._pipe, self._size = pipe, size
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=AHEAD)
        self._stopping = False
        self._thread = threading.Thread(target=self._read_all, name="ffmpeg-frames", daemon=True)
        self._thread.start()

    def take(self) -> bytes:
        data = self._chunks.get()
        if len(data) < self._size:
            self._chunks.put(data)  # the end stays the end (there is room: this was the last one in)
        return data

    def stop(self) -> None:
        """Call once ffmpeg is gone: the thread ends at its pipe's end without waiting for room."""
        self._stopping = True
        self._thread.join()

    def _read_all(self) -> None:
        while True:
            try:
                data = self._pipe.read(self._size)
            except (OSError, ValueError):  # the pipe closed under it
                data = b""
            while not self._stopping:
                try:
                    self._chunks.put(data, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._stopping or len(data) < self._size:
                return


@dataclass(frozen=True)
class _FrameInfo:
    time: float | None  # presentation time in seconds; None where the stream has none
    duration: float | None
    size: tuple[int, int]


def _seconds(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:  # "NOPTS"
        return None


def _header_rates(line: str) -> dict[str, float]:
    """The rates a stream's header line gives, by kind: "fps" (its average), "tbr" (its base rate)."""
    return {kind: float(value) * (1000 if k else 1) for value, k, kind in _RATE.findall(line)}


class VideoReader:
    """The frames of a video file exactly as recorded: uint8 (H, W, 3) arrays, each with its own
    presentation time. Raises ReenactError when the file has no decodable frame.

    ffmpeg passes the frames through without frame-rate conversion (a variable-rate phone clip keeps
    its frames and its timing), and its showinfo filter logs each frame's timestamp on stderr before
    the frame reaches stdout, so a frame's time is always known by the time its pixels are read.

    fps: the stream's rate (for outputs that follow the source; see `_header_rate`); average_fps: its frames
    over its length, as its header says (for live playback, a frame at a time); time: the last frame's
    presentation time, counted from the first frame; duration: that frame's duration; starts_at: the first
    frame's time on the file's timeline (from its start: its sound may start before its video).
    """

    def __init__(self, path: Path, threads: int = 0, max_side: int = 0):
        """threads: ffmpeg's decoding and filtering threads (0: ffmpeg's own choice, one per core); max_side:
        larger frames are scaled down to this on their longest side (0: read at their own size)."""
        self.path, self._max_side = path, max_side
        self.fps = self.average_fps = 0.0
        self.stored_size: tuple[int, int] | None = None  # the frames' size in the file, from its header
        self.has_sound = False  # the file has a sound track (its header, read before the first frame)
        # the (matrix, primaries, transfer) its header names where the transfer is HDR's (a phone's clip)
        self.hdr: tuple[str, str, str] | None = None
        self.interlaced = False  # its header gives a field order
        self._promised: float | None = None  # seconds, from the container's header
        self._ended = False
        self.unfixed = ""  # what could not be done to it (tone-mapped, deinterlaced), and why
        first = self._launch(threads, {})
        fixes = {name: fix for name, fix, needed in ((DEINTERLACED, DEINTERLACE, self.interlaced),
                                                     (TONE_MAPPED, self.hdr and tone_map(*self.hdr), self.hdr))
                 if needed}
        if fixes:  # known from its header only now: read again through them
            first = self._relaunch(threads, fixes)
        if first is None:
            self.close()
            raise unreadable_video(path, self.errors, self.streams)
        self._pending: _FrameInfo | None = first
        self.width, self.height = first.size
        self._frames = _FramesAhead(self._process.stdout, self.width * self.height * 3)
        self.fps = self.fps or 30.0
        if not self.average_fps or abs(self.average_fps - self.fps) <= BASE_RATE_SHARE * self.fps:
            self.average_fps = self.fps  # a steady clip's header average, rounded to two decimals: its rate
        self.starts_at = first.time or 0.0
        self.time, self.duration = 0.0, 1.0 / self.fps

    def _relaunch(self, threads: int, fixes: dict[str, str]) -> _FrameInfo | None:
        """Start again with the `fixes` (what each does: its filters); where that reads no frame (an ffmpeg
        without those filters, colours zscale finds no way from), as stored, saying so in `unfixed`."""
        self.close()
        first = self._launch(threads, fixes)
        if first is None:
            missing = next((error for error in self.errors if _NO_FILTER.search(error)), None)
            self.unfixed = f"it is not {' or '.join(fixes)}: " + (
                f"this ffmpeg lacks a filter for that ({missing}); imageio-ffmpeg's own ffmpeg has them"
                if missing else f"ffmpeg could not ({self._reason('no reason given')})")
            self.close()
            first = self._launch(threads, {})
        return first

    def _launch(self, threads: int, fixes: dict[str, str]) -> _FrameInfo | None:
        """Start ffmpeg with the `fixes` (see `_relaunch`) among the filters every clip gets; returns the first
        frame's info, None where there is none."""
        deinterlace, tone = fixes.get(DEINTERLACED), fixes.get(TONE_MAPPED)
        fit = FIT.format(side=self._max_side) if self._max_side else None
        filters = ",".join(f for f in (deinterlace, SQUARE_PIXELS, fit, tone, "showinfo=checksum=0") if f)
        self._process = start_ffmpeg(
            ["-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+info",
             "-threads", str(threads), "-filter_threads", str(threads or 1), "-i", str(self.path), "-map", "0:V:0",
             "-fps_mode", "passthrough", "-vf", filters,
             "-enc_time_base", "demux",  # else close timestamps collide in the output's coarser time base
             "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)  # Ctrl-C is ours to handle, not ffmpeg's
        self._infos: queue.Queue[_FrameInfo | None] = queue.Queue()  # None: ffmpeg has finished
        self.errors: deque[str] = deque(maxlen=8)  # ffmpeg's last complaints: why it failed, or what is damaged
        self.streams = 0  # the streams its header names
        self._logger = threading.Thread(target=self._read_log, name="ffmpeg-log", daemon=True)
        self._logger.start()
        return self._infos.get()

    def _read_log(self) -> None:
        """Drain stderr (so ffmpeg never blocks on it): frame lines become _FrameInfo; errors are kept."""
        for raw in self._process.stderr:
            line = raw.decode("utf-8", "replace").strip()
            frame = _FRAME.search(line)
            if frame:
                size = _SIZE.search(line)
                duration = _DURATION.search(line)
                self._infos.put(_FrameInfo(_seconds(frame.group(1)), _seconds(duration and duration.group(1)),
                                           (int(size.group(1)), int(size.group(2)))))
                if (inside := _INSIDE_SHOWINFO.search(line)) and _DAMAGE.search(inside.group(1)):
                    self.errors.append(inside.group(1))
            elif (error := _ERROR.search(line)) and not _OUR_PIPE.search(line):
                self.errors.append(error.group(1))
            elif self._promised is None and (promised := _PROMISED.search(line)):
                hours, minutes, seconds = promised.groups()
                self._promised = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
            elif not self.fps and ": Video: " in line:
                self.fps = self._header_rate(line)
                self.average_fps = _header_rates(line).get("fps", 0.0)
                self.hdr = (hdr := HDR.search(line)) and hdr.groups()
                self.interlaced = bool(INTERLACED.search(line))
                stored = STORED_SIZE.search(line)
                self.stored_size = stored and (int(stored.group(1)), int(stored.group(2)))
            elif _SOUND.search(line):
                self.has_sound = True
            if ANY_STREAM.search(line):
                self.streams += 1
        self._infos.put(None)

    @staticmethod
    def _header_rate(line: str) -> float:
        """The stream's frame rate from its header line; 0 where unknown. The header rounds to two decimals:
        23.98 is taken as 24000/1001, as NTSC-derived rates are.
        Its base rate (tbr: the rate every frame's time falls on) where that is a camera's rate (up to
        BASE_RATE_MAX) and the average is near it or below it: a phone's variable-rate clip is recorded at
        its base rate with frames left out or held (26.4 fps on average at 30 tbr; 5 at 30 for a frame held
        12 s), and a container may count a little more time than its frames (no_face.mp4: 23.67 fps, 24 tbr).
        A video written at the average rate left out real frames (19% of a clip that slowed to 10 fps for
        3 s). Else the average, else tbr alone where it is a rate (browser recordings say "1k tbr")."""
        rates = _header_rates(line)
        rate, base = rates.get("fps", 0.0), rates.get("tbr", 0.0)
        if INTERLACED.search(line) and abs(base - 2 * rate) <= BASE_RATE_SHARE * base:
            base = rate  # an interlaced clip's tbr is its field rate (29.97 fps, 59.94 tbr): its frames come at half
        if base and (abs(base - rate) <= BASE_RATE_SHARE * rate or rate < base <= BASE_RATE_MAX):
            rate = base
        if not rate and base <= 240:
            rate = base
        ntsc = round(rate * 1.001) / 1.001
        return ntsc if round(rate * 1.001) in _NTSC_BASES and abs(rate - ntsc) < 0.005 else rate

    def _reason(self, default: str) -> str:
        return self.errors[-1] if self.errors else default

    def read(self) -> np.ndarray | None:
        """The next frame, or None at the end; sets `time` and `duration` to the frame's."""
        info, self._pending = self._pending or self._infos.get(), None
        if info is None:
            self._infos.put(None)  # stay at the end for later calls
            if not self._ended:
                self._ended = True
                self._check_length()
            return None
        data = self._frames.take()
        if len(data) < self.width * self.height * 3:
            raise ReenactError(f"decoding failed: {self._reason('the stream ended inside a frame')}",
                               where=str(self.path))
        if info.time is not None:
            self.time = info.time - self.starts_at
        else:  # a frame without a timestamp follows the previous one
            self.time += self.duration
        self.duration = info.duration or 1.0 / self.fps
        return np.frombuffer(data, np.uint8).reshape(self.height, self.width, 3)

    def _check_length(self) -> None:
        """At the end: a stream that stops well before its container's header says is cut short, even
        where ffmpeg did not complain (it does not, some of the time). Not for a clip with sound: the header's
        length is then its longest stream's, and a clip's sound may well run on after its pictures."""
        shown = self.starts_at + self.time + self.duration
        if (self._promised and not self.errors and not self.has_sound
                and shown < self._promised - max(SHORTFALL_S, SHORTFALL_SHARE * self._promised)):
            self.errors.append(f"the video stops at {shown:.1f} s of the {self._promised:.1f} s its header gives")

    def close(self) -> None:
        self._process.kill()
        self._process.wait()
        if getattr(self, "_frames", None) is not None:
            self._frames.stop()
        self._process.stdout.close()
        self._logger.join()
        self._process.stderr.close()


class VideoFile(Node):
    schema = NodeSchema(
        type_id="capture.video", title="Video File", category="capture",
        help="Plays a video file (mp4, mov, webm, gif, ...) frame by frame, as recorded: each frame carries its "
             "own timestamp, also in variable-frame-rate clips from phones.",
        outputs=(Port("image", ports.IMAGE, "the current frame"),),
        params=(Param("path", ParamKind.PATH, "", "video file, relative to the preset's folder or assets/",
                      files=(VIDEO_FILES,)),
                Param("loop", ParamKind.BOOL, False, "start again at the end (else the run ends there)"),
                Param("max_side", ParamKind.INT, 1920, "larger frames (a phone's 4K) are scaled down to this many "
                      "pixels on their longest side (from the clip's next start); 0: as recorded", minimum=0,
                      maximum=8192),
                Param("keep_time", ParamKind.BOOL, True, "played live (the editor under its frame cap, `reenact "
                      "run` to a window or a virtual camera) slower than the clip: pass over the frames there is "
                      "no time for, so the clip plays at the speed it was recorded at; off: every frame, slower "
                      "than recorded. Renders to a file take every frame")),
        volatile=True,
    )

    def open(self, run: RunContext) -> None:
        self._run, self._path = run, run.asset(self.params.path)
        self._reader = self._opened()
        stored, read = self._reader.stored_size, (self._reader.width, self._reader.height)
        if stored is not None and self.params.max_side and max(stored) > self.params.max_side:
            run.notice(f"{self._path}: its {stored[0]}x{stored[1]} frames are read at {read[0]}x{read[1]} "
                       f"(max_side {self.params.max_side})")
        self._pass_over = PassOver(lambda: self.params.keep_time)
        self._period: float | None = None  # the clip's length, once it has started again
        self._clock = SourceClock(self._reader.fps, pace=self._reader.average_fps,
                                  sound=self._path if self._reader.has_sound else None,
                                  sound_from=self._reader.starts_at, sound_period=lambda: self._period,
                                  pass_over=self._pass_over, frame_duration=lambda: self._reader.duration,
                                  frame_time=lambda: self._reader.time)
        run.timed_source(self._clock)
        if self._reader.unfixed:
            run.notice(f"{self._path}: {self._reader.unfixed}")
        if (still := still_format(self._path)) is not None:  # it plays as a clip of one frame
            run.notice(f"{self._path}: a still {still} picture as the driver: it drives one pose"
                       + (", the same on every frame" if self.params.loop else ", for a single frame")
                       + "; drive with a video, or the webcam preset (graphs/webcam_to_portrait.json)")
        self._time_offset, self._damage_told = 0.0, False

    def params_changed(self, names: set[str]) -> None:
        if names & {"path", "max_side"}:  # another clip from its start; one that will not open fails the node,
            self.close()  # which the scheduler closes (played on, the old clip had hidden the error)
            self._run.untimed_source(self._clock)
            self.open(self._run)

    def process(self, ctx: FrameContext) -> dict:
        pixels = self._next()
        for _ in range(self._pass_over.take()):  # a live run that fell behind: the frames it has no time for
            try:
                pixels = self._next()
            except EndOfStream:  # the clip ends on the way: its last frame shows, as long as it lasts
                break
            self._pass_over.passed += 1
        return {"image": Image(pixels, self._time_offset + self._reader.time)}

    def status(self) -> str:
        passed = self._pass_over.passed if getattr(self, "_pass_over", None) is not None else 0
        return f"{passed} frames passed over to keep the clip's time" if passed else ""

    def _next(self) -> np.ndarray:
        """The clip's next frame: from its start again at its end with `loop`, else EndOfStream."""
        pixels = self._reader.read()
        if pixels is None:
            if self._reader.errors and not self._damage_told:  # frames ffmpeg could not decode are missing
                self._damage_told = True
                self._run.notice(f"{self._path}: ffmpeg could not decode all of it ({self._reader.errors[0]}); "
                                 "the video may be damaged or cut short")
            if not self.params.loop:
                raise EndOfStream
            self._period = self._reader.time + self._reader.duration
            self._time_offset += self._period  # time keeps running forward
            self._reader.close()
            self._reader = self._opened()
            pixels = self._reader.read()
        return pixels

    def _opened(self) -> VideoReader:
        return VideoReader(self._path, self._run.options.threads.codec, self.params.max_side)

    def close(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self._reader.close()
            self._reader = None


NODES = [VideoFile]
