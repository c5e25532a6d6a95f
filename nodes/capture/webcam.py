"""A V4L2 camera read on a thread that keeps only the newest frame."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from app.runtime.context import FrameContext, RunContext, SourceClock
from app.runtime.errors import ReenactError, first_line
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port

DECODE_ERRORS = (OSError, RuntimeError, ValueError)  # what imageio-ffmpeg raises when a camera fails
V4L2_CLASS = Path("/sys/class/video4linux")


def list_cameras(sysfs: Path = V4L2_CLASS) -> dict[int, str]:
    """The V4L2 devices there are, {N: name} for /dev/videoN, read from sysfs (nothing is opened)."""
    cameras = {}
    for entry in sysfs.glob("video*"):
        number = entry.name[len("video"):]
        if number.isdigit():
            try:
                cameras[int(number)] = (entry / "name").read_text().strip() or entry.name
            except OSError:
                cameras[int(number)] = entry.name
    return dict(sorted(cameras.items()))


def cameras_found() -> str:
    cameras = list_cameras()
    return f"cameras here: {', '.join(f'{n} ({name})' for n, name in cameras.items())}" if cameras else \
        "no camera is connected"


def open_v4l2(device: Path, width: int, height: int, fps: float):
    """Start reading a V4L2 camera: (iterator of raw RGB frames, (width, height)); ReenactError if it
    cannot be opened."""
    if not device.exists():
        raise ReenactError(f"no camera at {device}", hint=cameras_found())
    frames = imageio_ffmpeg.read_frames(str(device), input_params=[
        "-f", "v4l2", "-framerate", f"{fps:g}", "-video_size", f"{width}x{height}"])
    try:
        meta = next(frames)
    except (StopIteration, *DECODE_ERRORS) as exc:
        raise ReenactError(f"cannot open the camera {device}: {first_line(exc)}") from None
    return frames, tuple(meta["size"])


class Webcam(Node):
    """A background thread reads the camera and keeps only the newest frame, so lag cannot build up.
    Each frame is handed out once: a graph faster than the camera waits for the next one. While the camera
    is missing or gone (retried with growing pauses) the node fails at once, each frame with the same message,
    waiting no longer than the camera's own frame interval: the rest of the graph keeps its rate (a wait of
    FRAME_WAIT each frame had held a graph driven by a clip at 1-2 fps), a graph of nothing else uses no CPU
    meanwhile, and the node recovers by itself."""

    schema = NodeSchema(
        type_id="capture.webcam", title="Webcam", category="capture",
        help="A camera (Linux V4L2 device /dev/videoN). Only the newest frame is kept, so a slow graph skips "
             "frames instead of falling behind. A missing or unplugged camera is retried until it is back.",
        outputs=(Port("image", ports.IMAGE),),
        params=(Param("device", ParamKind.INT, 0, "camera number N of /dev/videoN", minimum=0, maximum=63),
                Param("width", ParamKind.INT, 640, "requested width", minimum=16, maximum=4096),
                Param("height", ParamKind.INT, 480, "requested height", minimum=16, maximum=4096),
                Param("fps", ParamKind.FLOAT, 30.0, "requested frame rate", minimum=1.0, maximum=240.0),
                Param("timeout", ParamKind.FLOAT, 5.0, "seconds to wait for the first frame", minimum=0.5,
                      maximum=60.0)),
        volatile=True,
    )
    RETRY_FIRST, RETRY_MAX = 0.5, 5.0  # seconds between reconnection attempts, doubling up to the max
    FRAME_WAIT = 0.5  # seconds a later frame waits for the camera before the node reports why there is none
    connect = staticmethod(open_v4l2)  # tests put a fake camera here

    @classmethod
    def param_choices(cls, name: str) -> dict[str, int] | None:
        """For the editor's camera picker: {"N: name": N} of the cameras connected now."""
        if name != "device":
            return None
        return {f"{n}: {label}": n for n, label in list_cameras().items()} or None

    def open(self, run: RunContext) -> None:
        run.timed_source(SourceClock(self.params.fps, live=True))
        self._arrived = threading.Condition()  # guards _latest, _received, _absent and _problem
        self._latest: tuple[np.ndarray, float] | None = None
        self._received = self._handed_out = 0  # frames counted, so none is handed out twice
        self._absent = False  # the last attempt to connect failed, or the camera stopped: no frame is coming
        self._wait = self.params.timeout  # the first frame may take longer: the camera is starting
        self._due = 0.0  # when a camera at `fps` would have its next frame
        self._problem = "connecting to the camera"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read_loop, name=f"webcam-{self.params.device}", daemon=True)
        self._thread.start()

    def _read_loop(self) -> None:
        device, wait = Path(f"/dev/video{self.params.device}"), self.RETRY_FIRST
        while not self._stop.is_set():
            try:
                frames, (width, height) = self.connect(device, self.params.width, self.params.height, self.params.fps)
            except ReenactError as exc:  # said the same way each retry: the failure is reported once
                self._gone(exc.what + (f": {exc.hint}" if exc.hint else ""))
            else:
                wait = self.RETRY_FIRST
                self._gone(self._stream(frames, width, height))
            self._stop.wait(wait)
            wait = min(self.RETRY_MAX, wait * 2)

    def _stream(self, frames, width: int, height: int) -> str:
        """Keep the newest frame until the camera stops; returns why it stopped."""
        with self._arrived:
            self._absent, self._problem = False, ""
        try:
            for data in frames:
                if self._stop.is_set():
                    break
                with self._arrived:
                    self._latest = (np.frombuffer(data, np.uint8).reshape(height, width, 3), time.monotonic())
                    self._received += 1
                    self._arrived.notify_all()
            return "the camera stopped sending frames; reconnecting"
        except DECODE_ERRORS as exc:
            return f"the camera failed ({first_line(exc)}); reconnecting"
        finally:
            frames.close()

    def _gone(self, problem: str) -> None:
        """No frame is coming until a later attempt connects: frames stop waiting for one."""
        with self._arrived:
            self._absent, self._problem = True, problem
            self._arrived.notify_all()

    def _new_frame(self) -> bool:
        return self._received > self._handed_out

    def status(self) -> str:
        return self._problem or "live"

    def process(self, ctx: FrameContext) -> dict:
        with self._arrived:
            if self._absent:  # held no longer than a camera at `fps` would hold it
                self._arrived.wait_for(self._new_frame, timeout=self._due - time.monotonic())
            else:
                self._arrived.wait_for(lambda: self._new_frame() or self._absent, timeout=self._wait)
            self._wait = self.FRAME_WAIT
            self._due = time.monotonic() + 1.0 / self.params.fps
            if not self._new_frame():
                raise ReenactError(self._problem or "no frame from the camera yet",
                                   hint="plug a camera in or pick another with the device param; it is retried "
                                        "until it is there, and the rest of the graph carries on")
            self._handed_out = self._received
            pixels, timestamp = self._latest
        return {"image": Image(pixels, timestamp)}

    def close(self) -> None:
        if getattr(self, "_stop", None) is not None:
            self._stop.set()
            self._thread.join(timeout=2.0)


NODES = [Webcam]
