"""A virtual camera (pyvirtualcam), so a video call or a streaming tool can take the studio's frames.

On Linux pyvirtualcam writes to a v4l2loopback device, a kernel module that is not there by default:
without it the node fails to start and says what to install, before the first frame.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.output.provenance import MARK_PARAMS, Marks, mark_frame

LOOPBACK_MODULE = Path("/sys/module/v4l2loopback")
LOOPBACK_HINT = ("install and load v4l2loopback: `sudo apt install v4l2loopback-dkms`, then "
                 "`sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=\"Reenact Studio\"`")


class VirtualCamera(Node):
    schema = NodeSchema(
        type_id="output.virtualcam", title="Virtual Camera", category="output",
        help="Sends frames to a virtual camera that video-call and streaming apps can pick (pyvirtualcam: "
             "v4l2loopback on Linux, OBS's virtual camera on Windows and macOS). The camera takes the first "
             "frame's size. Frames are marked as synthetic (invisible watermark and by default a visible label).",
        inputs=(Port("image", ports.IMAGE),),
        params=(Param("device", ParamKind.STRING, "", "virtual camera device, e.g. /dev/video10; empty: the first "
                      "one found", max_length=200),
                Param("fps", ParamKind.FLOAT, 0.0, "frame rate announced to apps; 0: the source's, else 30",
                      minimum=0.0, maximum=240.0),
                *MARK_PARAMS),
        volatile=True,
        live=True,
    )
    loopback_module = LOOPBACK_MODULE  # tests point this elsewhere

    def open(self, run: RunContext) -> None:
        if sys.platform.startswith("linux") and not self.loopback_module.exists():
            raise ReenactError("no virtual camera device: the v4l2loopback kernel module is not loaded",
                               hint=LOOPBACK_HINT)
        try:
            import pyvirtualcam
        except ImportError:
            raise ReenactError("pyvirtualcam is not installed", hint="pip install pyvirtualcam") from None
        self._pyvirtualcam = pyvirtualcam
        self._fps = self.params.fps or run.frame_rate or 30.0
        self._camera = None

    def process(self, ctx: FrameContext, image: Image) -> dict:
        if self._camera is None:
            self._camera = self._start(image.width, image.height)
        elif (image.width, image.height) != (self._camera.width, self._camera.height):
            raise ReenactError(f"frame size changed from {self._camera.width}x{self._camera.height} to "
                               f"{image.width}x{image.height}", hint="a camera keeps one size; resize before it")
        self._camera.send(np.ascontiguousarray(mark_frame(image.rgb(), Marks.from_params(self.params))))
        return {}

    def _start(self, width: int, height: int):
        try:
            return self._pyvirtualcam.Camera(width, height, self._fps, fmt=self._pyvirtualcam.PixelFormat.RGB,
                                             device=self.params.device or None)
        except RuntimeError as exc:  # pyvirtualcam's one error type: no device, device busy, format refused
            raise ReenactError(f"the virtual camera did not open: {exc}",
                               hint=LOOPBACK_HINT if sys.platform.startswith("linux") else
                               "install OBS Studio and start its virtual camera once") from None

    def status(self) -> str:
        camera = getattr(self, "_camera", None)
        return f"sending to {camera.device}" if camera is not None else ""

    def close(self) -> None:
        if getattr(self, "_camera", None) is not None:
            self._camera.close()
            self._camera = None


NODES = [VirtualCamera]
