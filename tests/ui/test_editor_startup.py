"""`reenact edit GRAPH` as it starts: on screen, playing, a preview at once; the webcam's camera picker.
Its own file (process): it opens the window the way the command does. Run by test_editor_window.py."""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

import app.editor as editor_app
from app.editor.live_status import Transport
from app.runtime.options import resolve
from nodes import default_registry
from tests.conftest import REPO
from tests.ui.test_editor_studio_ui import shot
from tests.ui.test_editor_ui import pump


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """One window for the module: dearpygui has one context per process."""
    folder = tmp_path_factory.mktemp("startup")
    cameras = folder / "video4linux"
    (cameras / "video0").mkdir(parents=True)
    (cameras / "video0" / "name").write_text("Studio Cam\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the preset's outputs would land here (they must not: nothing records)
        patch.setenv("REENACT_STATE_DIR", str(folder / "state"))
        patch.setattr("nodes.capture.webcam.list_cameras.__defaults__", (cameras,))
        window = editor_app.open_window(default_registry(plugins=False), resolve(editor=True),
                                        REPO / "graphs" / "portrait_to_images.json")
        yield window, folder
        window.close()


def test_the_editor_opens_on_screen_playing_with_a_preview_and_writes_nothing(opened):
    window, folder = opened
    assert dpg.get_viewport_pos() == [0, 0]  # its top-left corner on the screen, not hanging off it
    assert pump(window, lambda: window.editor.live.status().transport is Transport.PLAYING and
                window.preview.pixels is not None)
    pump(window, lambda: window.editor.live.status().frame > 5)
    assert not (folder / "renders").exists()
    assert "not recording" in pump(window, lambda: window.canvas.badge("out"))
    shot("startup_playing")


def test_the_webcam_device_is_picked_from_the_cameras_connected(opened):
    window, _ = opened
    node = window.editor.add_node("capture.webcam")
    pump(window, lambda: window.inspector.node_id == node)
    combo = next(i for i in dpg.get_all_items() if dpg.get_item_label(i) == "device"
                 and dpg.get_item_type(i).endswith("::mvCombo"))
    assert dpg.get_item_configuration(combo)["items"] == ["0: Studio Cam"]
    assert dpg.get_value(combo) == "0: Studio Cam"
    shot("camera_picker")
