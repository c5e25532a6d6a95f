"""The editor driven as a user drives it: real clicks, drags and keys (xdotool) on the window under Xvfb,
then the document, the widgets and the log are checked. Run by test_editor_window.py."""
from __future__ import annotations

import json
import shutil
import subprocess
import time

import dearpygui.dearpygui as dpg
import pytest

from app.editor.notes import Tone
from app.editor.live_status import Transport
from app.runtime.graph import Endpoint
from tests.conftest import REPO
from tests.ui.test_editor_ui import pump

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool for real input events")

SCENE = {
    "format": "reenact-studio/graph", "format_version": 1, "meta": {"name": "scene"},
    "nodes": [{"id": "target", "type": "capture.image", "params": {"path": "portraits/astronaut.png"}},
              {"id": "resize", "type": "image.resize", "params": {"width": 256}},
              {"id": "small", "type": "image.resize", "params": {"width": 128}},
              {"id": "clock", "type": "util.clock"}, {"id": "scale", "type": "util.scale"},
              {"id": "number", "type": "util.number"}, {"id": "scale2", "type": "util.scale"}],
    "links": [{"from": ["target", "image"], "to": ["resize", "image"]},
              {"from": ["resize", "image"], "to": ["small", "image"]},
              {"from": ["clock", "seconds"], "to": ["scale", "value"]},
              {"from": ["number", "value"], "to": ["scale2", "value"]}],
    "ui": {"nodes": {"target": {"pos": [20, 40]}, "resize": {"pos": [300, 40]}, "small": {"pos": [580, 40]},
                     "clock": {"pos": [20, 300]}, "scale": {"pos": [300, 300]},
                     "number": {"pos": [20, 450]}, "scale2": {"pos": [300, 450]}}},
}
HOPPER = (150, 128, 3)  # `small` shows me.jpg (Grace Hopper) 128 wide; the astronaut is square
EMPTY_CANVAS = (700, 780)  # below the scene's nodes
NODE_PADDING = 8  # pins sit this far outside a node's content
MENU_BAR_Y, MENU_FIRST_ROW_Y, MENU_ROW = 9, 33, 17


@pytest.fixture
def scene(window, tmp_path):
    """The scene opened in the editor; next to it a photo to pick (me.jpg) and another preset."""
    (tmp_path / "scene.json").write_text(json.dumps(SCENE))
    (tmp_path / "other.json").write_text(json.dumps({**SCENE, "meta": {"name": "other"}}))
    shutil.copy(REPO / "assets" / "portraits" / "grace_hopper.jpg", tmp_path / "me.jpg")
    window.editor.open(tmp_path / "scene.json", discard=True)
    settle(window)
    yield tmp_path
    window.editor.pause()
    window.editor.live.max_fps = 30


# ----------------------------------------------------------------- input
def settle(window, frames: int = 8, seconds: float = 0.12) -> None:
    """Pump at least `frames` UI frames and `seconds`: on a loaded machine X delivers events late."""
    started = time.monotonic()
    done = 0
    while done < frames or time.monotonic() - started < seconds:
        window.frame()
        done += 1


def wait_for(window, condition, what: str, seconds: float = 5.0) -> None:
    """Pump UI frames until `condition()` holds: an event X delivers after `settle` is still handled."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"the editor never {what}"
        window.frame()


def xdotool(window, *args) -> None:
    subprocess.run(["xdotool", *map(str, args)], check=True)
    settle(window)


def click(window, at, double: bool = False) -> None:
    xdotool(window, "mousemove", *at)
    xdotool(window, "click", "--repeat", 2 if double else 1, "--delay", 80, 1)


def drag(window, start, end) -> None:
    xdotool(window, "mousemove", *start)
    xdotool(window, "mousedown", 1)
    xdotool(window, "mousemove", (start[0] + end[0]) // 2, (start[1] + end[1]) // 2)
    xdotool(window, "mousemove", *end)
    xdotool(window, "mouseup", 1)


def key(window, *keys: str) -> None:
    xdotool(window, "key", *keys)


def type_text(window, text: str) -> None:
    xdotool(window, "type", "--delay", 30, text)


# ----------------------------------------------------------------- finding things on screen
def labelled(label: str, kind: str) -> int:
    """The one item of this type (mvButton, mvMenuItem, ...) with this label."""
    found = [i for i in dpg.get_all_items()
             if dpg.get_item_label(i) == label and dpg.get_item_type(i).endswith(f"::{kind}")]
    if len(found) > 1:  # the canvas' right-click palette repeats the side palette's entries, hidden
        found = [i for i in found if dpg.is_item_visible(i)]
    assert len(found) == 1, f"{len(found)} {kind} items labelled {label!r}"
    return found[0]


def centre(item: int) -> tuple[int, int]:
    (x0, y0), (x1, y1) = dpg.get_item_rect_min(item), dpg.get_item_rect_max(item)
    return (x0 + x1) // 2, (y0 + y1) // 2


def title(node_id: str) -> tuple[int, int]:
    x, y = dpg.get_item_rect_min(labelled(node_id, "mvNode"))
    return x + 20, y + 2


def pin(window, node_id: str, port: str, output: bool) -> tuple[int, int]:
    attribute = window.canvas.pin(Endpoint(node_id, port), output)
    node = dpg.get_item_parent(attribute)
    _, y = centre(dpg.get_item_children(attribute, 1)[0])
    if output:
        return dpg.get_item_rect_max(node)[0] + NODE_PADDING, y
    return dpg.get_item_rect_min(node)[0] - NODE_PADDING, y


def menu(window, name: str, entry: str) -> None:
    """Open a menu of the menu bar and click an entry above its first separator (dearpygui reports
    no rectangle for menu entries: they are rows of MENU_ROW pixels)."""
    bar = labelled(name, "mvMenu")
    x, _ = dpg.get_item_pos(bar)
    click(window, (x + 12, MENU_BAR_Y))
    row = [dpg.get_item_label(item) for item in dpg.get_item_children(bar, 1)].index(entry)
    click(window, (x + 20, MENU_FIRST_ROW_Y + MENU_ROW * row))


def pick_in_file_dialog(window, label: str) -> None:
    """Click `label` in the open file dialog's list, then OK."""
    click(window, centre(window.dialogs.browser.entry_item(label)))
    click(window, centre(labelled("OK", "mvButton")))
    settle(window)  # what the dialog chose runs on the frame after it closed


# ----------------------------------------------------------------- the tests
def test_a_file_picked_with_the_dialog_is_stored_as_chosen_and_runs(window, scene):
    editor = window.editor
    click(window, title("target"))
    assert editor.selection == ["target"]
    shutil.copy(scene / "me.jpg", scene / "you.jpg")
    editor.set_param("target", "path", "you.jpg")
    click(window, centre(labelled("...", "mvButton")))
    browser = window.dialogs.browser  # it opens beside the file the param names now, that file named
    assert browser.folder == scene and dpg.get_value(browser.name_field) == "you.jpg"
    pick_in_file_dialog(window, "me.jpg")
    assert editor.document.graph.nodes["target"].params["path"] == "me.jpg"  # relative to the preset
    assert dpg.get_value(labelled("path", "mvInputText")) == "me.jpg"
    editor.step()
    assert pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape) == HOPPER
    assert not editor.live.status().failures


def test_file_open_shows_presets_first_and_opens_the_one_clicked(window, scene):
    (scene / "Sub").mkdir()
    (scene / ".hidden.json").write_text("{}")
    menu(window, "File", "Open...")
    assert window.dialogs.browser.labels() == ["..", "Sub/", "other.json", "scene.json"]  # no hidden ones
    pick_in_file_dialog(window, "other.json")
    assert window.editor.document.path == scene / "other.json"
    assert window.editor.messages[-1].text == f"opened {scene / 'other.json'}"


def test_the_minimap_is_off_until_the_view_menu_shows_it(window, scene):
    """Shown, it covers the nodes in the canvas's corner (their timings, the select node's picture)."""
    shown = lambda: dpg.get_item_configuration(window.canvas.widget)["minimap"]  # noqa: E731
    assert not shown()
    menu(window, "View", "Minimap")
    wait_for(window, shown, "the minimap shown")
    menu(window, "View", "Minimap")
    wait_for(window, lambda: not shown(), "the minimap hidden again")


def test_file_open_over_unsaved_changes_asks_first(window, scene):
    editor = window.editor
    editor.set_param("scale", "gain", 2.0)
    menu(window, "File", "Open...")
    pick_in_file_dialog(window, "other.json")
    wait_for(window, lambda: any(dpg.get_item_label(i) == "Unsaved changes" and dpg.is_item_visible(i)
                                 for i in dpg.get_all_items()), "showed the unsaved-changes question")
    assert editor.document.path == scene / "scene.json"  # nothing opened before the answer
    click(window, centre(labelled("Discard", "mvButton")))
    wait_for(window, lambda: editor.document.path == scene / "other.json", "opened other.json")
    assert not editor.document.dirty


def test_restart_keeps_a_param_typed_in_the_inspector(window, scene):
    editor = window.editor
    click(window, title("target"))
    click(window, centre(labelled("path", "mvInputText")))
    key(window, "ctrl+a")
    type_text(window, "me.jpg")
    key(window, "Return")
    click(window, centre(labelled("Play", "mvButton")))
    assert pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape) == HOPPER
    before = pump(window, lambda: editor.live.status().frame > 20 and editor.live.status().frame)
    editor.live.max_fps = 5  # time to see the frame count start again, however slow the UI is
    click(window, centre(labelled("Restart", "mvButton")))
    pump(window, lambda: 0 < editor.live.status().frame < before and window.preview.pixels is not None)
    assert window.preview.pixels.shape == HOPPER
    assert editor.document.graph.nodes["target"].params["path"] == "me.jpg"


def test_new_asks_before_discarding_changes(window, scene):
    editor = window.editor
    editor.set_param("scale", "gain", 2.0)
    menu(window, "File", "New")
    question = labelled("Unsaved changes", "mvWindowAppItem")
    (x, y), (w, h) = dpg.get_item_pos(question), dpg.get_item_rect_size(question)
    assert abs(x + w / 2 - 800) < 40 and abs(y + h / 2 - 450) < 60  # in the middle of the window
    click(window, centre(labelled("Cancel", "mvButton")))
    assert editor.document.graph.nodes["scale"].params["gain"] == 2.0 and editor.document.dirty
    menu(window, "File", "New")
    click(window, centre(labelled("Discard", "mvButton")))
    assert editor.document.graph.nodes == {} and editor.document.path is None


def test_selection_stays_on_the_clicked_node_through_edits(window, scene):
    editor = window.editor
    nodes = lambda: set(editor.document.graph.nodes)  # noqa: E731
    click(window, title("number"))
    xdotool(window, "mousemove", *EMPTY_CANVAS)
    key(window, "Delete")
    assert "number" not in nodes() and editor.selection == []
    key(window, "Delete")  # nothing is selected: nothing goes
    assert len(nodes()) == 6 and editor.selection == []
    click(window, title("clock"))
    drag(window, pin(window, "clock", "seconds", output=True), pin(window, "scale2", "value", output=False))
    assert editor.document.graph.links[-1].source == Endpoint("clock", "seconds")
    click(window, centre(labelled("Scale", "mvSelectable")))  # adds scale_2, which the inspector shows
    assert editor.selection == ["scale_2"]
    click(window, title("clock"))
    wait_for(window, lambda: editor.selection == ["clock"], "selected clock")
    xdotool(window, "mousemove", *EMPTY_CANVAS)
    for keys in ("ctrl+z", "ctrl+z", "ctrl+z", "ctrl+y", "ctrl+z"):  # the add, the link, the delete
        revision = editor.document.revision
        key(window, keys)
        wait_for(window, lambda: editor.document.revision != revision, f"handled {keys}")
        assert editor.selection == ["clock"], keys
    assert nodes() == {n["id"] for n in SCENE["nodes"]}
    editor.revert(discard=True)
    settle(window)
    assert editor.selection == []
    key(window, "Delete")
    assert len(nodes()) == 7


def test_a_refused_cycle_shows_its_reason_first_and_errors_keep_the_layout(window, scene):
    editor = window.editor
    drag(window, pin(window, "small", "image", output=True), pin(window, "resize", "image", output=False))
    shown = dpg.get_item_label(window.messages.line)
    assert shown.startswith("link refused: linking small.image to resize.image would make a cycle")
    assert editor.messages[-1].tone is Tone.WARNING
    canvas_at = dpg.get_item_rect_min(labelled("target", "mvNode"))
    (scene / "broken.json").write_text('{\n  "format": oops\n}\n')
    window.request(lambda: editor.open(scene / "broken.json"))
    settle(window)
    shown = dpg.get_item_label(window.messages.line)
    assert "\n" not in shown and "line 2, column 13" in shown
    assert dpg.get_item_rect_min(labelled("target", "mvNode")) == canvas_at
    history = " ".join(dpg.get_value(window.messages.text).split())  # the log panel (wrapped), newest first
    assert -1 < history.index("line 2, column 13") < history.index("would make a cycle")


def test_link_wires_start_at_output_pins(window, scene):
    wires = dpg.get_item_children(window.canvas.widget, 0)
    assert len(wires) == len(SCENE["links"])
    for wire in wires:
        start, end = (dpg.get_item_configuration(wire)[end] for end in ("attr_1", "attr_2"))
        assert dpg.get_item_configuration(start)["attribute_type"] == dpg.mvNode_Attr_Output
        assert dpg.get_item_configuration(end)["attribute_type"] == dpg.mvNode_Attr_Input


def test_keys_typed_into_a_field_stay_there_while_the_mouse_is_over_the_canvas(window, scene):
    editor = window.editor
    editor.copy(["clock"])
    layout = dict(editor.document.layout)
    click(window, title("target"))
    click(window, centre(labelled("path", "mvInputText")))
    key(window, "End")
    xdotool(window, "mousemove", *EMPTY_CANVAS)
    key(window, "BackSpace", "Delete", "space", "f", "ctrl+v", "ctrl+z")  # not: delete, play, frame all, paste, undo
    key(window, "Return")
    assert set(editor.document.graph.nodes) == {n["id"] for n in SCENE["nodes"]}
    assert editor.document.layout == layout and editor.live.status().transport is Transport.PAUSED
    assert editor.document.graph.nodes["target"].params["path"] != "portraits/astronaut.png"  # the field's edit


def test_timings_say_cached_only_for_nodes_that_are(window, scene):
    editor = window.editor
    editor.live.max_fps = 0
    editor.play()
    pump(window, lambda: editor.live.status().frame > 300)  # past two timing windows
    settle(window)  # the canvas shows a status from after frame 300
    assert "cached" in window.canvas.timing("scale2") and "cached" in window.canvas.timing("target")
    assert "ms" in window.canvas.timing("scale") and "cached" not in window.canvas.timing("scale")


def test_the_preview_grows_with_its_area_and_stays_put_while_the_params_scroll(window, scene):
    editor = window.editor
    editor.step()
    pump(window, lambda: window.preview.pixels is not None)
    image = next(i for i in dpg.get_all_items() if dpg.get_item_type(i).endswith("::mvImage"))
    area = dpg.get_item_parent(dpg.get_item_parent(image))
    shown = dpg.get_item_rect_size(image)
    (left, top), (width, height) = dpg.get_item_pos(area), dpg.get_item_rect_size(area)
    right, bottom = left + width, top + height
    (x, _), (canvas_width, _) = (f(dpg.get_item_parent(window.canvas.widget)) for f in (dpg.get_item_pos,
                                                                                         dpg.get_item_rect_size))
    canvas_right = x + canvas_width
    drag(window, (canvas_right, 600), (canvas_right - 300, 600))  # the canvas' edge: a wider side panel
    drag(window, ((left + right) // 2, bottom), ((left + right) // 2, bottom + 150))  # the preview's edge
    grown = dpg.get_item_rect_size(image)
    assert grown[0] > shown[0] + 100 and grown[1] > shown[1] + 100
    click(window, title("target"))
    at = dpg.get_item_rect_min(image)
    xdotool(window, "mousemove", (left + right) // 2, bottom + 250)  # over the params
    xdotool(window, "click", "--repeat", 5, 5)  # the mouse wheel, down
    assert dpg.get_item_rect_min(image) == at
