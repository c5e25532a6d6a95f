"""Shared fixtures: a registry *instance* with small fake nodes (no global patching)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from app.runtime.context import FrameContext
from nodes import default_registry
from app.runtime.options import resolve
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.registry import Registry
from app.runtime.schema import Action, NodeSchema, Param, ParamKind, Port

REPO = Path(__file__).resolve().parents[1]

# Frame banks, autosaves and signing keys that tests make go to a folder of the test session's own, never
# into the user's ~/.local/state (a test that needs its own folder still sets REENACT_STATE_DIR itself).
os.environ.setdefault("REENACT_STATE_DIR", tempfile.mkdtemp(prefix="reenact-test-state-"))


class Counter(Node):
    """A volatile source: 0, 1, 2, ... one per frame."""

    schema = NodeSchema("test.counter", "Counter", "test", "counts frames",
                        outputs=(Port("value", ports.FLOAT),), volatile=True)

    def open(self, run):
        self.n = 0

    def process(self, ctx: FrameContext) -> dict:
        self.n += 1
        return {"value": float(self.n - 1)}


class Constant(Node):
    """A static source that counts how often it really runs."""

    schema = NodeSchema("test.constant", "Constant", "test", "a constant",
                        outputs=(Port("value", ports.FLOAT),),
                        params=(Param("value", ParamKind.FLOAT, 1.0, "the value", minimum=-100, maximum=100),))
    runs = 0

    def process(self, ctx: FrameContext) -> dict:
        type(self).runs += 1
        return {"value": self.params.value}


class Gain(Node):
    schema = NodeSchema("test.gain", "Gain", "test", "value times gain",
                        inputs=(Port("value", ports.FLOAT),), outputs=(Port("value", ports.FLOAT),),
                        params=(Param("gain", ParamKind.FLOAT, 1.0, "gain", minimum=0.0, maximum=2.0),),
                        actions=(Action("reset", "Reset", "sets the gain memory back"),))

    def __init__(self, node_id, params):
        super().__init__(node_id, params)
        self.actions = []

    def process(self, ctx: FrameContext, value: float) -> dict:
        return {"value": value * self.params.gain}

    def run_action(self, name: str) -> None:
        self.actions.append(name)


class Add(Node):
    schema = NodeSchema("test.add", "Add", "test", "a + b (b optional)",
                        inputs=(Port("a", ports.FLOAT), Port("b", ports.FLOAT, optional=True)),
                        outputs=(Port("value", ports.FLOAT),))

    def process(self, ctx: FrameContext, a: float, b: float | None = None) -> dict:
        return {"value": a + (b or 0.0)}


class Flaky(Node):
    """Raises while its input is in the `fail_on` set of values."""

    schema = NodeSchema("test.flaky", "Flaky", "test", "fails on some values",
                        inputs=(Port("value", ports.FLOAT),), outputs=(Port("value", ports.FLOAT),))
    fail_on: set = set()

    def process(self, ctx: FrameContext, value: float) -> dict:
        if value in self.fail_on:
            raise ValueError(f"bad value {value}")
        return {"value": value}


class Sink(Node):
    """Records what reaches it, and whether it was opened and closed."""

    schema = NodeSchema("test.sink", "Sink", "test", "records values",
                        inputs=(Port("value", ports.FLOAT),), volatile=True)
    log: list = []
    lifecycle: list = []

    def open(self, run):
        type(self).lifecycle.append(("open", self.node_id))

    def close(self):
        type(self).lifecycle.append(("close", self.node_id))

    def process(self, ctx: FrameContext, value: float) -> dict:
        type(self).log.append((ctx.index, value))
        return {}


class Text(Node):
    schema = NodeSchema("test.text", "Text", "test", "a string", outputs=(Port("text", ports.STRING),))

    def process(self, ctx):
        return {"text": "hi"}


class BadOpen(Node):
    schema = NodeSchema("test.badopen", "Bad open", "test", "cannot open until it is given a device",
                        outputs=(Port("value", ports.FLOAT),),
                        params=(Param("device", ParamKind.STRING, "", "which device"),), volatile=True)
    closes = 0

    def open(self, run):
        self.params_changed({"device"})

    def params_changed(self, names):
        if not self.params.device:
            raise RuntimeError("device missing")

    def close(self):
        BadOpen.closes += 1

    def process(self, ctx):
        return {"value": 0.0}


FAKE_NODES = [Counter, Constant, Gain, Add, Flaky, Sink, Text, BadOpen]


@pytest.fixture
def registry() -> Registry:
    Constant.runs = BadOpen.closes = 0
    Sink.log = []
    Sink.lifecycle = []
    Flaky.fail_on = set()
    reg = Registry()
    reg.register_all(FAKE_NODES, "tests")
    return reg


@pytest.fixture(scope="session")
def studio_registry() -> Registry:
    """The real registry: every node module of the project."""
    return default_registry(plugins=False)


@pytest.fixture(scope="session")
def gpu():
    """A headless GL context; the GL tests skip cleanly where none can be created."""
    from app.runtime.errors import ReenactError
    from app.runtime.gpu.context import GpuContext

    try:
        context = GpuContext.create(resolve().gpu)
    except ReenactError as exc:
        pytest.skip(f"no OpenGL here: {exc.message}")
    yield context
    context.release()


@pytest.fixture(scope="session")
def portraits():
    """The bundled portraits as uint8 RGB arrays."""
    from nodes.capture.image import read_image_file

    folder = REPO / "assets" / "portraits"
    return {name: read_image_file(folder / file, 2048)[0]
            for name, file in (("astronaut", "astronaut.png"), ("hopper", "grace_hopper.jpg"))}


@pytest.fixture(scope="session")
def detector():
    from nodes.track.mediapipe_face import FaceMeshDetector

    return FaceMeshDetector(static=True, max_faces=2)


# The editor's window tests need their own process with an X display (dearpygui cannot be re-created
# in one process, and its GLX context must not share a thread with the EGL tests): see test_editor_window.
collect_ignore = [] if os.environ.get("REENACT_UI_TESTS") else ["ui"]


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need CUDA; elsewhere they are skipped, with the reason shown."""
    if not any(item.get_closest_marker("gpu") for item in items):
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (marker gpu)")
    for item in items:
        if item.get_closest_marker("gpu"):
            item.add_marker(skip)


def reference_track(timestamp: float, valid: bool = True, shift: float = 0.0):
    """The reference face, frontal, 80 px per unit at (200 + shift, 200) in a 400x400 frame."""
    import numpy as np

    from nodes.track.face import face_track
    from nodes.track.face_model import from_head_space, reference_shape
    from nodes.track.types import FaceTrack, HeadPose

    if not valid:
        return FaceTrack.invalid((400, 400), timestamp)
    points = from_head_space(reference_shape(), HeadPose(np.eye(3), np.array([200.0 + shift, 200.0, 0.0]), 80.0))
    return face_track(points, (400, 400), timestamp)
