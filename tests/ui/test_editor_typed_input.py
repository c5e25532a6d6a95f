"""What a user types, with real keys (xdotool) under Xvfb: paths into the file dialogs, numbers into sliders
and int fields; and Render to file over an earlier render. Run by test_editor_window.py."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import dearpygui.dearpygui as dpg
import pytest

from app.runtime.graph import Endpoint
from tests.ui import test_editor_input
from tests.ui.test_editor_input import (centre, click, key, labelled, menu, pick_in_file_dialog, settle, title,
                                        type_text, wait_for, xdotool)

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool for real input events")

scene = test_editor_input.scene  # the fixture: the input tests' scene, opened


@pytest.fixture
def tmp_path():
    """A short folder for the scene (pytest's own is 70 characters deep): the paths the tests type cost three
    UI frames a character."""
    short = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))
    yield short
    shutil.rmtree(short, ignore_errors=True)


def type_all(window, text: str) -> None:
    """Type `text` and wait until all of it has arrived: dearpygui takes one input event a frame (a key's press,
    its character, its release)."""
    type_text(window, text)
    settle(window, frames=3 * len(text) + 8)


def type_into_file_dialog(window, text: str) -> None:
    """Type `text` as the open file dialog's file name, then OK."""
    click(window, centre(window.dialogs.browser.name_field))
    key(window, "ctrl+a")
    type_all(window, text)
    click(window, centre(labelled("OK", "mvButton")))
    settle(window)  # what the dialog chose runs on the frame after it closed


def field(name: str) -> int:
    """The inspector's widget for the param `name`, whatever its kind."""
    found = [i for i in dpg.get_all_items() if dpg.get_item_label(i) == name and dpg.is_item_visible(i)]
    assert len(found) == 1, f"{len(found)} widgets labelled {name!r}"
    return found[0]


def said_since(editor, since: float, words: str) -> list[str]:
    """What the editor said with `words` in it from `since` (time.time()) on."""
    return [m.text for m in editor.messages if m.at >= since and words in m.text]


def test_save_as_takes_a_path_typed_in_full_and_refuses_a_folder_that_is_not_there(window, scene):
    """'/tmp/qa/nonexistent_dir/x' typed went to <dialog's folder>/tmp/qa/nonexistent_dir/x.json, its folders
    made on the way, and the status bar said "saved x.json"."""
    editor = window.editor
    since = time.time()
    menu(window, "File", "Save as...")
    type_into_file_dialog(window, str(scene / "nowhere" / "x"))
    assert said_since(editor, since, "could not save") == [
        f"could not save x.json: there is no folder {scene / 'nowhere'} (create the folder first, or choose one that "
        "exists; your changes are still here)"]
    assert not list(scene.rglob("x.json")) and editor.document.path == scene / "scene.json"
    (scene / "my.graphs").mkdir()
    menu(window, "File", "Save as...")
    type_into_file_dialog(window, str(scene / "my.graphs" / "x"))
    saved = scene / "my.graphs" / "x.json"
    assert editor.document.path == saved and saved.is_file() and editor.messages[-1].text == f"saved {saved}"
    editor.open(scene / "scene.json")
    menu(window, "File", "Open...")  # in the scene's folder; a folder's dot was taken for the extension's: my.json
    type_into_file_dialog(window, "my.graphs/x")
    assert editor.document.path == saved and editor.messages[-1].text == f"opened {saved}"


def test_cancel_to_replacing_a_file_goes_back_to_save_as_with_the_name_chosen(window, scene):
    """Cancel dropped the dialog, and the name typed: the user started over."""
    menu(window, "File", "Save as...")
    pick_in_file_dialog(window, "other.json")
    question = labelled("Replace the file?", "mvWindowAppItem")
    assert f"{scene / 'other.json'} already exists" in dpg.get_value(dpg.get_item_children(question, 1)[0])
    click(window, centre(labelled("Cancel", "mvButton")))
    settle(window)
    browser = window.dialogs.browser
    assert browser.is_open() and browser.folder == scene and dpg.get_value(browser.name_field) == "other"
    click(window, centre(labelled("Cancel", "mvButton")))
    assert not browser.is_open() and window.editor.document.path == scene / "scene.json"

def test_a_file_typed_in_full_into_a_params_file_dialog_is_the_one_picked(window, scene):
    """It was refused: "the dialog did not say which file 'me.*' is"."""
    editor = window.editor
    click(window, title("target"))
    click(window, centre(labelled("...", "mvButton")))
    type_into_file_dialog(window, str(scene / "me.jpg"))
    assert editor.document.graph.nodes["target"].params["path"] == "me.jpg"  # relative to the preset


def type_into_slider(window, slider: int, text: str) -> None:
    """Ctrl-click the slider and type `text` over its number (the edit goes on until Return or a click elsewhere)."""
    (x0, y0), (x1, y1) = dpg.get_item_rect_min(slider), dpg.get_item_rect_max(slider)
    xdotool(window, "mousemove", (x0 + x1) // 2, (y0 + y1) // 2)
    xdotool(window, "keydown", "ctrl")
    xdotool(window, "click", 1)
    xdotool(window, "keyup", "ctrl")
    key(window, "ctrl+a")
    type_all(window, text)


def test_a_number_typed_into_a_slider_is_checked_once_when_the_edit_ends(window, scene):
    """450 typed into a 0..100 slider left 45.0 ('4' and '45' applied on the way) and said its refusal at every
    frame until the edit ended; '4q5' was taken as 4 and nothing said."""
    editor = window.editor
    speed = lambda: editor.document.graph.nodes["clock"].params.get("speed", 1.0)  # noqa: E731
    click(window, title("clock"))
    slider = field("speed")
    (x0, y0), (x1, y1) = dpg.get_item_rect_min(slider), dpg.get_item_rect_max(slider)
    for typed, says in (("450", "clock.speed: 450.0 is above the maximum 100.0"),
                        ("1e30", "clock.speed: 1e+30 is above the maximum 100.0")):
        since = time.time()
        type_into_slider(window, slider, typed)
        assert speed() == 1.0  # nothing applied while typing
        key(window, "Return")
        wait_for(window, lambda: said_since(editor, since, "above the maximum"), "checked the number")
        settle(window)  # time to say it again, as it was said at every frame
        assert speed() == 1.0 and dpg.get_value(slider) == 1.0  # back to the value before the edit
        assert said_since(editor, since, "above the maximum") == [says]
    since = time.time()
    type_into_slider(window, slider, "4q5w")  # said once, at the first letter (Ctrl-A's A is no letter typed)
    key(window, "Return")
    wait_for(window, lambda: speed() == 4.0, "took the number before the letter")
    assert said_since(editor, since, "not part of a number") == [
        "clock.speed: 'q' is not part of a number: the slider takes only the number typed before it"]
    xdotool(window, "mousemove", x0 + 10, (y0 + y1) // 2)  # a drag applies as it goes
    xdotool(window, "mousedown", 1)
    xdotool(window, "mousemove", (x0 + x1) // 2, (y0 + y1) // 2)
    wait_for(window, lambda: speed() > 20, "applied the drag before it ended")
    xdotool(window, "mouseup", 1)


def test_a_number_field_is_read_whole_when_the_edit_ends_by_return_or_a_click_elsewhere(window, scene):
    """99999999999999999999 typed was "-1 is below the minimum 0", 4294967296 was taken as 0, '3q0' as 3 and
    nothing said, and a number typed was dropped when the user clicked elsewhere instead of pressing Return."""
    editor = window.editor
    width_param = lambda: editor.document.graph.nodes["resize"].params["width"]  # noqa: E731
    click(window, title("resize"))
    width = field("width")
    x, y = dpg.get_item_rect_min(width)
    elsewhere = dpg.get_item_rect_min(window.inspector.group)  # the node's name atop the inspector
    for typed, end, says in (("99999999999999999999", "Return", "99999999999999999999 is above the maximum 8192"),
                             ("3q0", "click", "'3q0' is not a number")):  # 4294967296: tests/test_editor_dialogs.py
        since = time.time()
        click(window, (x + 20, y + 8))
        key(window, "ctrl+a")
        type_all(window, typed)
        if end == "Return":
            key(window, "Return")
        else:
            click(window, (elsewhere[0] + 20, elsewhere[1] + 6))
        wait_for(window, lambda: said_since(editor, since, "resize.width: "), "checked the number")
        assert said_since(editor, since, "resize.width: ") == [f"resize.width: {says}"]
        assert width_param() == 256 and dpg.get_value(width) == "256"
    click(window, (x + 20, y + 8))
    key(window, "ctrl+a")
    type_all(window, "300")
    click(window, (elsewhere[0] + 20, elsewhere[1] + 6))
    wait_for(window, lambda: width_param() == 300, "applied the number when the user clicked elsewhere")


def test_render_to_file_asks_before_writing_over_an_earlier_render_and_shows_where_a_cancel_stopped(window, scene):
    editor = window.editor
    out = editor.add_node("output.images")
    editor.set_param(out, "path", str(scene / "frames"))
    editor.link(Endpoint("small", "image"), Endpoint(out, "image"))
    earlier = scene / "frames" / "frame_000000.png"
    earlier.parent.mkdir()
    earlier.write_bytes(b"an earlier render")
    menu(window, "Run", "Render to file...")
    dialog = labelled("Render to file", "mvWindowAppItem")
    frames = next(i for i in dpg.get_item_children(dialog, 1) if dpg.get_item_type(i).endswith("::mvInputText"))
    dpg.set_value(frames, "3")
    for answer in ("Cancel", "Replace"):
        click(window, centre(labelled("Render", "mvButton")))
        question = labelled("Replace the file?", "mvWindowAppItem")
        assert str(scene / "frames") in dpg.get_value(dpg.get_item_children(question, 1)[0])
        assert editor.render is None or editor.render.progress.finished
        click(window, centre(labelled(answer, "mvButton")))
    bar = labelled("", "mvProgressBar")
    wait_for(window, lambda: editor.render is not None and editor.render.progress.finished, "rendered", 60)
    settle(window)
    assert earlier.read_bytes() != b"an earlier render" and dpg.get_item_configuration(bar)["overlay"] == \
        "3 / 3 frames - done"
    dpg.set_value(frames, "100000")
    since = time.time()
    click(window, centre(labelled("Render", "mvButton")))
    click(window, centre(labelled("Replace", "mvButton")))
    wait_for(window, lambda: editor.render.progress.done > 0, "started rendering", 60)
    click(window, centre(labelled("Cancel render", "mvButton")))
    wait_for(window, lambda: editor.render.progress.finished, "stopped", 60)
    settle(window)
    stopped = editor.render.progress.done
    assert dpg.get_item_configuration(bar)["overlay"] == f"{stopped} / 100000 frames - cancelled"
    assert dpg.get_value(bar) == pytest.approx(stopped / 100_000, abs=1e-6)
    assert said_since(editor, since, "cancelled after") == [f"cancelled after {stopped} frames to {scene / 'frames'}"]
    click(window, centre(labelled("Close", "mvButton")))


def test_quit_with_an_untitled_graphs_changes_saved_saves_then_quits(window, scene):
    """Save answered to Quit's unsaved-changes question, on a graph never saved: the Save As dialog came up
    with an empty file list (opened in the frame the question closed), and once saved the editor stayed."""
    editor = window.editor
    editor.new(discard=True)
    editor.add_node("capture.motion")
    window.request(window.quit)
    settle(window)
    click(window, centre(labelled("Save", "mvButton")))
    settle(window)
    assert not window.quit_requested  # not until it is saved
    type_into_file_dialog(window, str(scene / "untitled"))
    try:
        assert (scene / "untitled.json").is_file() and window.quit_requested
    finally:
        window.quit_requested = False
