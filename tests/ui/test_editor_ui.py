"""The editor window, driven through its own actions under Xvfb (run by test_editor_window.py)."""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image as PILImage

from app.editor.actions import Editor
from app.editor.window import EditorWindow
from app.presets import dumps_preset, load_preset
from app.runtime.errors import ReenactError
from nodes import default_registry
from app.runtime.graph import Endpoint
from app.runtime.node import Node
from app.runtime import ports
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from tests.conftest import REPO

GRAPHS = REPO / "graphs"


class Explode(Node):
    """Passes images through, or raises while `explode` is on."""

    schema = NodeSchema("test.explode", "Explode", "test", "raises on demand",
                        inputs=(Port("image", ports.IMAGE),), outputs=(Port("image", ports.IMAGE),),
                        params=(Param("explode", ParamKind.BOOL, False, "raise every frame"),))

    def process(self, ctx, image):
        if self.params.explode:
            raise ReenactError("exploded on purpose")
        return {"image": image}


@pytest.fixture(scope="module")
def window(tmp_path_factory, monkeypatch_module):
    work = tmp_path_factory.mktemp("work")
    monkeypatch_module.chdir(work)  # the shipped presets write renders/ into the working directory
    monkeypatch_module.setenv("REENACT_STATE_DIR", str(work / "state"))
    registry = default_registry()
    registry.register(Explode, "tests")
    window = EditorWindow(Editor(registry))
    yield window
    window.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def pump(window: EditorWindow, until, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        window.frame()
        value = until()
        if value.size if isinstance(value, np.ndarray) else value:
            return value
    raise AssertionError("the editor did not get there in time")


def status(window):
    return window.editor.live.status()


@pytest.mark.parametrize("name", sorted(p.name for p in GRAPHS.glob("*.json")))
def test_every_shipped_preset_opens_and_runs(window, name):
    editor = window.editor
    editor.open(GRAPHS / name, discard=True)
    editor.play()
    graph = editor.document.graph
    pump(window, lambda: status(window).frame >= 3 or status(window).failures)
    pump(window, lambda: set(window.canvas.node_ids()) == set(graph.nodes))
    assert window.canvas.link_count() == len(graph.links)
    if name == "webcam_to_portrait.json":  # no camera here: the badge says so
        assert "camera" in pump(window, lambda: window.canvas.badge("driver"))
    else:
        assert not status(window).failures
    editor.pause()


def test_add_link_refuse_delete_undo_redo_copy_paste(window):
    editor = window.editor
    editor.open(GRAPHS / "demo.json", discard=True)
    links = len(editor.document.graph.links)
    resize = editor.add_node("image.resize", (700, 450))
    assert editor.link(Endpoint("render", "image"), Endpoint(resize, "image"))
    assert editor.link(Endpoint("render", "image"), Endpoint("retarget", "source")) is None
    pump(window, lambda: window.canvas.link_count() == links + 1)
    assert "takes FaceTrack" in editor.messages[-1].text
    editor.delete([resize])
    pump(window, lambda: resize not in window.canvas.node_ids() and window.canvas.link_count() == links)
    editor.undo()
    pump(window, lambda: resize in window.canvas.node_ids() and window.canvas.link_count() == links + 1)
    editor.redo()
    pump(window, lambda: resize not in window.canvas.node_ids())
    editor.copy(["retarget"])
    assert editor.paste() == ["retarget_2"]
    pump(window, lambda: "retarget_2" in window.canvas.node_ids())
    assert editor.document.graph.nodes["retarget_2"].params == editor.document.graph.nodes["retarget"].params


def test_a_live_param_edit_changes_the_previewed_pixels(window):
    editor = window.editor
    editor.open(GRAPHS / "portrait_to_images.json", discard=True)
    editor.set_preview("resize")
    editor.play()
    before = pump(window, lambda: window.preview.pixels is not None and window.preview.pixels)
    editor.set_param("resize", "width", 200)
    after = pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape != before.shape
                 and window.preview.pixels)
    assert after.shape[1] == 200
    editor.pause()


def test_a_node_that_raises_shows_its_badge_and_the_rest_keeps_running(window):
    editor = window.editor
    editor.open(GRAPHS / "demo.json", discard=True)
    boom = editor.add_node("test.explode", (700, 450))
    editor.link(Endpoint("render", "image"), Endpoint(boom, "image"))
    editor.play()
    pump(window, lambda: status(window).frame > 3)
    editor.set_param(boom, "explode", True)
    assert "exploded on purpose" in pump(window, lambda: window.canvas.badge(boom))
    frame = status(window).frame
    pump(window, lambda: status(window).frame > frame + 5)
    assert set(status(window).failures) == {boom}
    editor.set_param(boom, "explode", False)
    pump(window, lambda: not window.canvas.badge(boom))
    editor.pause()


def test_save_then_reload_gives_the_same_graph(window, tmp_path):
    editor = window.editor
    editor.open(GRAPHS / "video_to_portrait.json", discard=True)
    editor.set_param("retarget", "yaw_gain", 1.5)
    saved = editor.save_as(tmp_path / "edited.json")
    text = saved.read_text()
    editor.open(saved)
    pump(window, lambda: set(window.canvas.node_ids()) == set(editor.document.graph.nodes))
    assert dumps_preset(editor.document.to_preset()) == text
    assert load_preset(saved, editor.registry).runnable


def test_a_screenshot_is_written_and_shows_the_window(window, tmp_path):
    editor = window.editor
    editor.open(GRAPHS / "demo.json", discard=True)
    editor.select(["retarget"])
    editor.play()
    pump(window, lambda: window.preview.pixels is not None and status(window).frame > 5)
    editor.pause()
    shot = np.asarray(PILImage.open(window.screenshot(tmp_path / "shot.png")).convert("RGB"))
    assert shot.shape[0] > 400 and shot.shape[1] > 800
    assert shot.std() > 20  # not a blank or single-colour frame
    colourful = np.abs(shot[..., 0].astype(int) - shot[..., 2].astype(int)) > 60
    assert colourful.mean() > 0.02  # the portrait in the preview, not only grey UI
