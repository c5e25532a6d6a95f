"""The studio features driven with real input (xdotool) under Xvfb, checked in the document, on the disk
and on screen (screenshots under $REENACT_UI_SHOTS when set). Run by test_editor_window.py."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import dearpygui.dearpygui as dpg
import pytest

from app.editor.live_status import Transport
from app.runtime.graph import Endpoint, Link
from tests.ui.test_editor_input import (SCENE, EMPTY_CANVAS, centre, click, drag, key, labelled, pin, settle,
                                        title, type_text, xdotool)
from tests.ui.test_editor_ui import pump

pytestmark = pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool for real input events")

CLIP = "driving/hopper_talks.mp4"  # under assets/
STUDIO = {
    **SCENE,
    "nodes": [*SCENE["nodes"], {"id": "clip", "type": "capture.video", "params": {"path": CLIP}},
              {"id": "thumb", "type": "image.resize", "params": {"width": 96}},
              {"id": "frames", "type": "output.images", "params": {"path": "frames"}}],
    "links": [*SCENE["links"], {"from": ["clip", "image"], "to": ["thumb", "image"]},
              {"from": ["thumb", "image"], "to": ["frames", "image"]}],
    "ui": {"nodes": {**SCENE["ui"]["nodes"], "clip": {"pos": [580, 300]}, "thumb": {"pos": [580, 450]},
                     "frames": {"pos": [820, 300]}}},
}


def shot(name: str) -> Path | None:
    """The whole X screen as a PNG, for a person to look at (only where $REENACT_UI_SHOTS is set)."""
    folder = os.environ.get("REENACT_UI_SHOTS")
    if not folder or shutil.which("import") is None:  # ImageMagick's
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = Path(folder) / f"{name}.png"
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    return path


@pytest.fixture
def studio(window, tmp_path, monkeypatch):
    """The studio scene opened, paused, in a folder of its own (the image sequence writes there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "studio.json").write_text(json.dumps(STUDIO))
    window.editor.open(tmp_path / "studio.json", discard=True)
    settle(window)
    yield tmp_path
    window.dialogs._close_render()  # a failed test must not leave the dialog over the canvas
    window.editor.pause()
    if window.editor.recording:
        window.editor.record(False)
    window.editor.live.max_fps = 30
    settle(window)


def in_popup(window, label: str) -> int:
    """An entry of the canvas' right-click palette."""
    def inside(item: int) -> bool:
        while item:
            if item == window.add_menu.window:
                return True
            item = dpg.get_item_parent(item)
        return False
    return next(i for i in dpg.get_all_items() if dpg.get_item_label(i) == label and inside(i))


def status(window):
    return window.editor.live.status()


def test_an_edit_typed_while_paused_shows_on_the_frame_on_screen(window, studio):
    editor = window.editor
    editor.set_preview("small")
    click(window, centre(labelled("Step", "mvButton")))
    assert pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape)[1] == 128
    frame = status(window).frame
    click(window, title("small"))
    click(window, centre(labelled("width", "mvInputText")))
    key(window, "ctrl+a")
    type_text(window, "64")
    key(window, "Return")
    assert pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape[1] == 64)
    assert status(window).frame == frame and status(window).transport is Transport.PAUSED
    shot("paused_edit_redrawn")


def test_playing_writes_nothing_until_record_is_switched_on(window, studio):
    assert "not recording" in pump(window, lambda: window.canvas.badge("frames"))
    click(window, centre(labelled("Play", "mvButton")))
    pump(window, lambda: status(window).frame > 10)
    assert not (studio / "frames").exists()
    shot("playing_not_recording")
    click(window, centre(labelled("Record", "mvCheckbox")))
    pump(window, lambda: (studio / "frames").exists() and len(list((studio / "frames").iterdir())) > 3)
    assert pump(window, lambda: not window.canvas.badge("frames") and status(window).recording)
    click(window, centre(labelled("Record", "mvCheckbox")))
    pump(window, lambda: not status(window).recording)


def test_render_to_file_shows_where_it_writes_and_its_progress(window, studio):
    editor = window.editor
    click(window, centre(labelled("Render to file...", "mvButton")))
    dialog = labelled("Render to file", "mvWindowAppItem")
    texts = [dpg.get_value(i) for i in dpg.get_item_children(dialog, 1) if dpg.get_item_type(i).endswith("::mvText")]
    assert any(str(studio / "frames") in t for t in texts)
    (x0, y0), (w, h) = dpg.get_item_pos(dialog), dpg.get_item_rect_size(dialog)
    middle = (x0 + w // 2, y0 + h // 2)
    assert abs(middle[0] - 800) < 40 and abs(middle[1] - 450) < 40  # centred in the 1600x900 window
    field = next(i for i in dpg.get_item_children(dialog, 1) if dpg.get_item_type(i).endswith("::mvInputText"))
    assert dpg.get_value(field) == "240"  # the clip's length
    x, y = dpg.get_item_rect_min(field)
    click(window, (x + 20, y + 8))  # in the number, not on its label
    key(window, "ctrl+a")
    type_text(window, "6")
    key(window, "Return")
    shot("render_dialog")
    click(window, centre(labelled("Render", "mvButton")))
    pump(window, lambda: editor.render is not None and editor.render.progress.finished)
    settle(window)
    shot("render_done")
    assert len(list((studio / "frames").glob("*.png"))) == 6
    assert "frames - done" in dpg.get_item_configuration(labelled("", "mvProgressBar"))["overlay"]
    assert editor.messages[-1].text == f"rendered 6 frames to {studio / 'frames'}"
    click(window, centre(labelled("Close", "mvButton")))


def test_the_timeline_counts_scrubs_and_loops(window, studio):
    editor = window.editor
    editor.step()
    assert pump(window, lambda: dpg.get_value(window.transport.counter).startswith("frame 1 / 240"))
    (x0, y0), (x1, y1) = dpg.get_item_rect_min(window.transport.scrub), dpg.get_item_rect_max(window.transport.scrub)
    click(window, (x0 + (x1 - x0) // 2, (y0 + y1) // 2))  # half way along the clip
    pump(window, lambda: status(window).seeking is None and status(window).frame > 100)
    settle(window)
    assert 110 <= status(window).frame <= 130 and status(window).transport is Transport.PAUSED
    shot("timeline_seeked")
    click(window, centre(window.transport.loop_box))
    assert editor.document.graph.nodes["clip"].params["loop"] is True


def test_a_clip_slower_than_the_frame_cap_plays_at_its_own_rate_and_the_status_line_says_so(window, studio):
    window.editor.live.max_fps = 60  # the studio's clip is 30 fps
    window.editor.play()
    assert pump(window, lambda: "(the clip's 30)" in dpg.get_value(window.transport.stats))
    window.editor.live.max_fps = 15  # a cap below the clip's rate holds it instead, and nothing is said
    assert pump(window, lambda: "(the clip's" not in dpg.get_value(window.transport.stats))


def test_a_node_that_cannot_be_bypassed_has_its_box_disabled(window, studio):
    click(window, title("clock"))
    box = labelled("Bypass", "mvCheckbox")
    assert not dpg.get_item_configuration(box)["enabled"]
    click(window, centre(box))
    assert not window.editor.document.graph.nodes["clock"].bypassed


def test_reset_puts_a_param_back_to_its_default(window, studio):
    editor = window.editor
    editor.set_param("scale", "gain", 3.0)
    click(window, title("scale"))
    reset = next(i for i in dpg.get_all_items() if dpg.get_item_label(i) == "R" and dpg.is_item_visible(i)
                 and dpg.get_item_user_data(i) == "gain")
    click(window, centre(reset))
    assert editor.document.graph.nodes["scale"].params["gain"] == 1.0


def test_an_empty_search_says_so_and_right_click_adds_at_the_cursor(window, studio):
    click(window, centre(window.palette.search))
    type_text(window, "zzqx")
    assert pump(window, lambda: dpg.is_item_visible(window.palette._nothing))
    assert dpg.get_value(window.palette._nothing) == "no node matches 'zzqx'"
    shot("palette_no_match")
    key(window, "ctrl+a", "BackSpace")
    at = (EMPTY_CANVAS[0] - 200, EMPTY_CANVAS[1] - 60)
    xdotool(window, "mousemove", *at)
    expected = window.canvas.to_grid(at)
    xdotool(window, "click", 3)
    shot("right_click_menu")
    click(window, centre(in_popup(window, "Clock")))
    assert window.editor.selection == ["clock_2"]
    x, y = window.editor.document.layout["clock_2"]
    assert abs(x - expected[0]) < 2 and abs(y - expected[1]) < 2
    click(window, centre(labelled("Number", "mvSelectable")))  # from the side palette: in view, not stacked
    x, y = window.editor.document.layout["number_2"]
    (cx, cy), (cw, ch) = window.canvas.corner(), dpg.get_item_rect_size(window.canvas.widget)
    gx, gy = window.canvas.to_grid((cx, cy))
    assert gx <= x < gx + cw - 100 and gy <= y < gy + ch - 100
    settle(window)
    shot("nodes_added")
    (ax, ay), (bx, by) = dpg.get_item_rect_min(labelled("number_2", "mvNode")), dpg.get_item_rect_max(labelled("number_2", "mvNode"))
    for node_id in window.editor.document.graph.nodes:  # it hides no other node
        if node_id != "number_2":
            (cx, cy), (dx, dy) = dpg.get_item_rect_min(labelled(node_id, "mvNode")), dpg.get_item_rect_max(labelled(node_id, "mvNode"))
            assert bx < cx or dx < ax or by < cy or dy < ay, node_id


def test_right_click_on_a_node_opens_its_menu_not_the_add_menu(window, studio):
    """It opened the add menu, as on empty canvas. Its Rename takes the id typed, Return renaming."""
    xdotool(window, "mousemove", *title("number"))
    xdotool(window, "click", 3)
    assert dpg.is_item_shown(window.add_menu.node_menu) and not dpg.is_item_shown(window.add_menu.window)
    click(window, centre(labelled("Rename...", "mvSelectable")))
    assert dpg.is_item_shown(window.add_menu.rename_box) and dpg.get_value(window.add_menu.rename_field) == "number"
    key(window, "ctrl+a")
    type_text(window, "n2")
    pump(window, lambda: dpg.get_value(window.add_menu.rename_field) == "n2")
    key(window, "Return")
    pump(window, lambda: "n2" in window.editor.document.graph.nodes)
    settle(window)
    xdotool(window, "mousemove", *title("n2"))
    xdotool(window, "click", 3)
    click(window, centre(labelled("Delete", "mvSelectable")))
    assert "n2" not in window.editor.document.graph.nodes and not dpg.is_item_shown(window.add_menu.node_menu)


def test_the_message_log_lists_messages_with_their_node_and_copies_them(window, studio):
    editor = window.editor
    editor.set_param("clip", "path", "no_such_clip.mp4")
    editor.restart()
    pump(window, lambda: "clip" in status(window).failures)
    settle(window)
    # the frames still tick: the status bar says the clip failed, not a bare "playing"
    assert "but 'clip' failed (the red node says why)" in dpg.get_value(window.transport.stats)
    click(window, centre(window.messages.line))
    assert dpg.is_item_shown(window.messages.panel)
    log = dpg.get_value(window.messages.text)
    assert "[clip] could not start" in log and all(len(line) <= 100 for line in log.splitlines())
    click(window, centre(labelled("Copy all", "mvButton")))
    assert dpg.get_clipboard_text() == log
    shot("message_log")
    dpg.configure_item(window.messages.panel, show=False)


def test_the_preview_fills_the_window_and_back(window, studio):
    editor = window.editor
    editor.set_preview("target")
    editor.step()
    pump(window, lambda: window.preview.pixels is not None)
    image = next(i for i in dpg.get_all_items() if dpg.get_item_type(i).endswith("::mvImage"))
    before = dpg.get_item_rect_size(image)
    xdotool(window, "mousemove", 800, 450)
    key(window, "ctrl+p")
    settle(window, frames=12)
    shot("preview_full_window")
    grown = dpg.get_item_rect_size(image)
    assert grown[1] > before[1] * 1.3
    key(window, "ctrl+p")
    settle(window, frames=12)
    shot("preview_back")
    assert abs(dpg.get_item_rect_size(image)[1] - before[1]) < 20 and dpg.is_item_visible(window.canvas.widget)


def test_params_of_a_big_node_are_grouped(window, studio):
    node = window.editor.add_node("retarget.face")
    settle(window)
    for group in ("pose", "mouth", "eyes", "expression", "smoothing"):
        labelled(group, "mvCollapsingHeader")
    shot(f"grouped_params_{node}")


def test_a_paused_editor_sleeps(window, studio):
    """Not a speed test: a paused editor must not spin (it used ~90% of a core)."""
    window.editor.pause()
    settle(window)

    def run_main_loop(seconds: float) -> float:
        """The share of a core the process used while the editor's main loop ran this long."""
        cpu, started = time.process_time(), time.monotonic()
        while time.monotonic() - started < seconds:
            frame_started = time.perf_counter()
            window.frame()
            window.pace(frame_started)
        return (time.process_time() - cpu) / (time.monotonic() - started)

    run_main_loop(2.0)  # past the full-speed time after the last input
    assert run_main_loop(3.0) < 0.5


def test_a_playing_editor_leaves_the_cores_to_the_graph(window, studio, monkeypatch):
    """Not a speed test: beside a playing graph that needs its cores, drawing the window takes about
    BUSY_UI_SHARE of a core however long a frame of it takes to draw (software GL: 40-50 ms, which took
    the graph down to half its headless rate when drawn for every frame of it)."""
    from app.editor import window as windows

    monkeypatch.setattr(windows, "GRAPH_AT_EASE", 0.0)  # never at ease: the window's share does not grow
    window.editor.live.max_fps = 30  # the studio's 240-frame clip plays for 8 s
    window.editor.play()

    def drawing_share(seconds: float) -> float:
        drawing, started = 0.0, time.monotonic()
        while time.monotonic() - started < seconds:
            frame_started = time.perf_counter()
            window.frame()
            drawing += time.perf_counter() - frame_started
            window.pace(frame_started)
        return drawing / (time.monotonic() - started)

    drawing_share(2.0)  # past the full-speed time after the last input
    assert window.editor.live.status().transport is Transport.PLAYING
    assert drawing_share(3.0) < 1.5 * windows.BUSY_UI_SHARE  # 0.92 when drawn for every frame the graph makes


def test_the_windows_share_grows_while_a_capped_graph_has_headroom_and_gives_way_when_it_has_none(window):
    """Under a frame cap the graph often needs less than its cores: the preview then draws more often,
    and gives the time back as soon as the graph's work nears its frame time, down to BUSY_UI_SHARE,
    which it keeps without a cap (the graph takes what it can)."""
    from app.editor import window as windows
    from app.editor.live_status import LiveStatus

    def settled(busy: float, frames: int = 200) -> float:
        for _ in range(frames):
            share = window._share_beside(LiveStatus(busy=busy))
        return share

    assert settled(0.0) == windows.BUSY_UI_SHARE
    assert settled(0.55) == windows.MOST_UI_SHARE  # video_to_portrait at 30 fps on this machine
    assert settled(0.8, frames=50) == windows.MOST_UI_SHARE  # between the two: it stays, it does not flap
    assert settled(0.95, frames=3) < windows.MOST_UI_SHARE  # pressed: it gives way within a few frames
    assert settled(0.95) == windows.BUSY_UI_SHARE  # a cap the graph cannot reach is as no cap
    assert settled(0.8, frames=50) == windows.BUSY_UI_SHARE
    assert settled(0.0, frames=1) == windows.BUSY_UI_SHARE


def test_a_link_let_go_on_empty_canvas_offers_the_nodes_that_take_it_and_links_the_one_chosen(window, studio):
    editor = window.editor
    drop = (EMPTY_CANVAS[0] - 300, EMPTY_CANVAS[1] - 40)
    drag(window, pin(window, "target", "image", output=True), drop)
    assert dpg.is_item_shown(window.add_menu.window)
    shot("link_dropped_menu")
    assert dpg.is_item_shown(in_popup(window, "Resize")) and not dpg.is_item_shown(in_popup(window, "Clock"))
    click(window, centre(in_popup(window, "Resize")))
    assert editor.selection == ["resize_2"]
    assert editor.document.graph.links[-1] == Link(Endpoint("target", "image"), Endpoint("resize_2", "image"))
    x, y = editor.document.layout["resize_2"]
    expected = window.canvas.to_grid(drop)
    assert abs(x - expected[0]) < 2 and abs(y - expected[1]) < 2


def test_the_ab_split_of_frames_of_other_shapes_keeps_each_ones_aspect(window, studio):
    def button(node_id: str, side: str) -> int:
        return next(i for i in dpg.get_all_items() if dpg.get_item_user_data(i) == (node_id, "image", side))

    editor = window.editor
    click(window, centre(button("resize", "a")))  # the astronaut, 256x256
    click(window, centre(button("thumb", "b")))  # Grace Hopper, 96x112: taller than wide
    editor.step()
    pixels = pump(window, lambda: window.preview.pixels is not None and window.preview.pixels.shape[:2] == (256, 256)
                  and window.preview.pixels)
    shot("ab_split")
    right = pixels[:, 140:]  # B's side: Hopper scaled to 256 high is ~219 wide, centred: bars at both edges
    assert (right[:, -15:] == 0).all() and right[:, 20:100].std() > 20


def test_a_damaged_autosave_is_said_to_be_damaged_on_the_status_bar(window, studio):
    editor = window.editor
    autosave = editor.storage.autosave_path(studio / "studio.json")
    autosave.parent.mkdir(parents=True, exist_ok=True)
    autosave.write_text('{"format": "reenact-studio/graph", "nodes": [')
    os.utime(studio / "studio.json", (0, 0))  # the autosave is the newer one
    window.request(lambda: editor.open(studio / "studio.json", discard=True))
    settle(window)
    line = dpg.get_item_label(window.messages.line)
    assert "autosave of studio.json is damaged" in line and "recovered" not in line
    shot("damaged_autosave")


def test_the_preview_title_names_what_the_graph_shown_previews(window, studio):
    """A graph opened or made new whose preview has no frame yet kept the last graph's title (a new graph
    read "Preview: refine.image"): the title is redrawn when the ports chosen change, frames or not."""
    editor = window.editor
    editor.set_preview("thumb")
    pump(window, lambda: dpg.get_value(window.preview._title) == "Preview: thumb.image")
    editor.new(discard=True)
    pump(window, lambda: dpg.get_value(window.preview._title) == "Preview: nothing (click A on an output port)")


def test_a_key_typed_wakes_the_window_as_a_mouse_move_does(window, studio):
    """At rest the window draws five frames a second and takes one input event a frame: typing with the mouse
    still, 26 keys took 2 s to show. A key keeps it at full rate for a while, as a mouse move does."""
    window._active_until = 0.0
    key(window, "a")
    assert window._active_until > time.monotonic()
