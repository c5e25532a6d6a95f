"""The editor's studio features, headless: redraw while paused, Record and Render to file, the timeline,
the damaged autosave, file modes, auto-layout, param groups, the A/B split, cameras, the virtual camera."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

from app.editor.actions import Editor
from app.editor.notes import Tone
from app.editor.document import Document
from app.editor.live import LiveGraph
from app.editor.live_status import Transport
from app.editor.param_groups import group_params
from app.editor.preview import compose_split
from app.presets import parse_preset
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from app.runtime.graph import Endpoint
from app.runtime.scheduler import Scheduler
from nodes import default_registry
from nodes.capture.webcam import Webcam, list_cameras
from nodes.output.virtualcam import VirtualCamera
from tests.conftest import REPO
from tests.test_editor_actions import build_chain, wait_for

CLIP = REPO / "assets" / "driving" / "hopper_talks.mp4"


@pytest.fixture(scope="module")
def studio():
    registry = default_registry(plugins=False)
    assert registry.require("output.virtualcam") is VirtualCamera  # in the palette and `reenact nodes`
    return registry


@pytest.fixture
def editor(studio, tmp_path, monkeypatch):
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    editor = Editor(studio, LiveGraph(studio, max_fps=0))
    yield editor
    editor.close()


def images_graph(editor: Editor, folder: str = "frames") -> None:
    """clip -> resize -> image sequence in `folder`."""
    clip, resize, out = (editor.add_node(t) for t in ("capture.video", "image.resize", "output.images"))
    editor.set_param(clip, "path", str(CLIP))
    editor.set_param(resize, "width", 64)
    editor.set_param(out, "path", folder)
    editor.link(Endpoint(clip, "image"), Endpoint(resize, "image"))
    editor.link(Endpoint(resize, "image"), Endpoint(out, "image"))


def small_chain(editor: Editor) -> None:
    editor.link(Endpoint(editor.add_node("util.clock"), "seconds"), Endpoint(editor.add_node("util.scale"), "value"))


def test_an_edit_while_paused_redraws_the_frame_on_screen(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    editor = Editor(registry, LiveGraph(registry, max_fps=0))
    try:
        build_chain(editor)
        editor.set_preview("gain")
        editor.step()
        editor.step()
        wait_for(lambda: editor.live.status().outputs.get(Endpoint("gain", "value")) == 1.0)
        frame = editor.live.status().frame
        editor.set_param("gain", "gain", 2.0)
        wait_for(lambda: editor.live.status().outputs.get(Endpoint("gain", "value")) == 2.0)
        assert editor.live.status().frame == frame and editor.live.status().transport is Transport.PAUSED
    finally:
        editor.close()


def test_playing_writes_nothing_until_record_is_on(editor, tmp_path):
    images_graph(editor)
    editor.play()
    wait_for(lambda: editor.live.status().frame > 5)
    assert "not recording" in editor.live.status().idle["images"] and not (tmp_path / "frames").exists()
    editor.record(True)
    wait_for(lambda: (tmp_path / "frames").exists() and any((tmp_path / "frames").iterdir()))
    wait_for(lambda: "images" not in editor.live.status().idle and editor.live.status().recording)


def test_a_restart_while_recording_keeps_the_take_before_it(editor, tmp_path):
    """Restart (or Play at the clip's end, or a seek back) while recording wrote the new take over the one
    just made, and said nothing. A recording never replaces anything: each take goes beside the last."""
    images_graph(editor)
    editor.set_param("video", "loop", True)  # still playing when recording starts again
    editor.play()
    editor.record(True)
    wait_for(lambda: len(list((tmp_path / "frames").glob("*.png"))) > 5)
    editor.restart()
    wait_for(lambda: len(list((tmp_path / "frames-2").glob("*.png"))) > 5)
    wait_for(lambda: "frames is kept: recording to frames-2 beside it" in editor.live.status().message)
    taken = len(list((tmp_path / "frames").glob("*.png")))
    editor.record(False)
    wait_for(lambda: not editor.live.status().recording)
    editor.record(True)  # a second recording: beside both
    wait_for(lambda: (tmp_path / "frames-3").exists())
    assert len(list((tmp_path / "frames").glob("*.png"))) == taken


def test_every_notice_of_nodes_opening_together_reaches_the_message_log(editor):
    """Nodes opening together say their notices in one frame; the log took only the last of them (a
    driver's "read at 55x64" was lost behind the refiner's "no weights set")."""
    for _ in range(2):
        clip = editor.add_node("capture.video")
        editor.set_param(clip, "path", str(CLIP))
        editor.set_param(clip, "max_side", 64)
    editor.step()
    said = wait_for(lambda: [text for _, text in editor.live.status().said if "are read at 55x64" in text][1:] and
                    editor.live.status().said)
    assert [number for number, _ in said] == sorted({number for number, _ in said})  # numbered, each once


def test_render_to_file_writes_the_clip_and_reports_where(editor, tmp_path):
    images_graph(editor, "render")
    job = editor.render_to_file(4)
    assert job.paths == [str(tmp_path / "render")]
    assert job.wait(120) and job.progress.finished and job.progress.fraction == 1.0
    editor.render_finished()
    assert len(list((tmp_path / "render").glob("*.png"))) == 4
    assert editor.messages[-1].text == f"rendered 4 frames to {tmp_path / 'render'}"



def test_a_render_whose_output_never_gets_a_frame_says_so_last(editor, tmp_path):
    """A smoother put before retarget with nothing feeding it: every frame retarget waits, and the video is never
    written. Render to file said "rendered 3 frames to out.mp4" over it, as `reenact run` had exited 0."""
    from tests.test_run_waits import RETARGET_WAITED, smoother_fed_by_nothing

    editor.open(smoother_fed_by_nothing(tmp_path), discard=True)
    editor.set_param("out", "path", str(tmp_path / "out.mp4"))
    editor.set_param("render", "size", 64)
    job = editor.render_to_file(3)
    assert job.wait(120) and job.progress.done == 3
    editor.render_finished()
    assert [m.text for m in list(editor.messages)[-2:]] == [f"rendered 3 frames to {tmp_path / 'out.mp4'}",
                                                      "render: " + RETARGET_WAITED.replace("all 4", "all 3")]
    assert editor.messages[-1].tone is Tone.WARNING and not (tmp_path / "out.mp4").exists()


def test_a_render_whose_upstream_fails_every_frame_says_last_that_nothing_was_written(editor, tmp_path):
    """QA: a portrait path that is not there, and Render to file ended on "rendered 240 frames to ...mp4"."""
    editor.open(REPO / "graphs" / "demo.json", discard=True)
    editor.delete(["window"])
    editor.set_param("target", "path", str(tmp_path / "nope.png"))
    editor.set_param("out", "path", str(tmp_path / "out.mp4"))
    job = editor.render_to_file(3)
    assert job.wait(120) and job.progress.done == 3 and "target" in job.progress.failures
    editor.render_finished()
    assert list(editor.messages)[-1].text == ("render: 'out' got no frame, as a node upstream failed on every frame "
                                              "(said above): nothing was written")
    assert not (tmp_path / "out.mp4").exists() and job.progress.summary == "3 / 3 frames - nothing written"

def test_render_refuses_a_graph_without_outputs_or_with_idle_nodes(editor):
    build = editor.add_node("image.resize")
    with pytest.raises(ReenactError, match="would idle"):
        editor.render_to_file(3)
    editor.delete([build])
    editor.add_node("capture.image")
    with pytest.raises(ReenactError, match="no node that writes a file"):
        editor.render_to_file(3)


def test_the_timeline_knows_the_clip_seeks_and_loops(editor):
    images_graph(editor)
    clip = wait_for(lambda: editor.live.status().clip)
    assert clip.node_id == "video" and clip.frames > 30 and clip.loops is False
    editor.seek(20)
    wait_for(lambda: editor.live.status().frame == 21 and editor.live.status().seeking is None)
    editor.seek(3)  # backwards: the clip starts again
    wait_for(lambda: editor.live.status().frame == 4 and editor.live.status().seeking is None)
    editor.set_loop(True)
    assert editor.document.graph.nodes["video"].params["loop"] is True
    wait_for(lambda: editor.live.status().clip.loops)


def test_a_clip_played_under_a_lower_frame_cap_keeps_its_own_time(studio, tmp_path, monkeypatch):
    """hopper_talks.mp4 is 30 fps; under a 10 fps cap it played at a third of its speed. Its frames the
    cap has no time for are passed over (the timeline counts them), unless it is to show every one."""
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    editor = Editor(studio, LiveGraph(studio, max_fps=10))

    def frames_a_second() -> float:
        first = wait_for(lambda: editor.live.status().frame >= 3 and editor.live.status())
        started = time.monotonic()
        time.sleep(1.5)
        return (editor.live.status().frame - first.frame) / (time.monotonic() - started)

    try:
        images_graph(editor)
        wait_for(lambda: editor.live.status().clip)
        editor.live.play()
        assert frames_a_second() > 0.75 * 30  # its own time (every frame it could show: 10)
        editor.live.pause()
        editor.set_param("video", "keep_time", False)
        editor.seek(0)
        wait_for(lambda: editor.live.status().seeking is None and editor.live.status().frame == 1)
        editor.live.play()
        assert frames_a_second() < 0.5 * 30
    finally:
        editor.close()


def test_a_damaged_autosave_is_reported_as_damaged_and_kept_aside(editor, tmp_path):
    small_chain(editor)
    path = editor.save_as(tmp_path / "work.json")
    autosave = editor.storage.autosave_path(path)
    autosave.parent.mkdir(parents=True, exist_ok=True)
    autosave.write_text('{"format": "reenact-studio/graph", "nodes": [')
    os.utime(path, (0, 0))  # the autosave is newer
    editor.open(path, discard=True)
    said = [m.text for m in editor.messages]
    assert any("autosave of work.json is damaged" in text for text in said)
    assert not any("recovered" in text for text in said) and not editor.document.dirty
    assert not autosave.exists() and list(autosave.parent.glob("*.damaged-*.json"))


def test_saving_keeps_a_normal_file_mode(editor, tmp_path):
    small_chain(editor)
    old = os.umask(0o022)
    try:
        path = editor.save_as(tmp_path / "new.json")
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o664)
        editor.set_param("scale", "gain", 0.5)
        editor.save()
        assert stat.S_IMODE(path.stat().st_mode) == 0o664
    finally:
        os.umask(old)


def test_a_preset_without_positions_is_laid_out_left_to_right(studio):
    text = (REPO / "graphs" / "video_to_portrait.json").read_text()
    preset = json.loads(text)
    preset.pop("ui")
    document = Document(studio, parse_preset(json.dumps(preset), studio, REPO / "graphs"))
    layout = document.layout
    assert len(set(layout.values())) == len(layout)  # none hides another
    for link in document.graph.links:
        assert layout[link.source.node][0] < layout[link.target.node][0]


def test_many_params_are_grouped(studio):
    groups = dict(group_params(studio.require("retarget.face").schema))
    assert {"pose", "mouth", "eyes", "expression", "smoothing"} <= set(groups)
    assert "yaw_gain" in [p.name for p in groups["pose"]] and "mouth_gain" in [p.name for p in groups["mouth"]]
    assert "portrait_smile" in [p.name for p in groups["mouth"]]
    assert group_params(studio.require("image.resize").schema)[0][0] is None  # few params: one list


def test_the_split_keeps_the_b_side_aspect():
    a = Image(np.full((100, 200, 3), 50, np.uint8), 0.0)
    b = Image(np.full((100, 100, 3), 200, np.uint8), 0.0)  # square B beside a wide A
    out = compose_split(a, b, 0.0)  # all B
    assert out.shape == (100, 200, 3)
    assert (out[:, :50] == 0).all() and (out[:, 150:] == 0).all()  # bars, not a stretch
    assert (out[:, 52:148] == 200).all()


def test_cameras_are_listed_from_sysfs(tmp_path, monkeypatch):
    for number, name in ((2, "Logitech C920"), (0, "Integrated Camera")):
        (tmp_path / f"video{number}").mkdir()
        (tmp_path / f"video{number}" / "name").write_text(name + "\n")
    assert list_cameras(tmp_path) == {0: "Integrated Camera", 2: "Logitech C920"}
    monkeypatch.setattr("nodes.capture.webcam.V4L2_CLASS", tmp_path)
    monkeypatch.setattr("nodes.capture.webcam.list_cameras.__defaults__", (tmp_path,))
    assert Webcam.param_choices("device") == {"0: Integrated Camera": 0, "2: Logitech C920": 2}
    assert Webcam.param_choices("width") is None


def test_the_virtual_camera_says_what_to_install_when_v4l2loopback_is_missing(studio, tmp_path, monkeypatch):
    from app.runtime.graph import Graph, NodeSpec

    monkeypatch.setattr(VirtualCamera, "loopback_module", tmp_path / "no_such_module")
    graph = Graph()
    graph.add(NodeSpec("target", "capture.image", params={"path": "portraits/astronaut.png"}))
    graph.add(NodeSpec("cam", "output.virtualcam"))
    graph.connect("target", "image", "cam", "image")
    scheduler = Scheduler(graph, studio)
    failures = scheduler.open()
    scheduler.close()
    assert len(failures) == 1 and failures[0].node_id == "cam"
    assert "v4l2loopback kernel module is not loaded" in failures[0].message
    assert "apt install v4l2loopback-dkms" in failures[0].message and "modprobe" in failures[0].message


def test_the_virtual_camera_reports_a_device_that_does_not_open(studio, tmp_path, monkeypatch):
    from app.runtime.graph import Graph, NodeSpec

    monkeypatch.setattr(VirtualCamera, "loopback_module", tmp_path)  # "loaded", but there is no device
    graph = Graph()
    graph.add(NodeSpec("target", "capture.image", params={"path": "portraits/astronaut.png"}))
    graph.add(NodeSpec("cam", "output.virtualcam", params={"device": str(tmp_path / "video99")}))
    graph.connect("target", "image", "cam", "image")
    scheduler = Scheduler(graph, studio)
    assert scheduler.open() == []
    failures = scheduler.step()
    scheduler.close()
    assert len(failures) == 1 and "the virtual camera did not open" in failures[0].message
    assert Tone.WARNING  # the editor shows node failures as warnings with the node id


def test_bench_writes_the_presets_outputs_elsewhere(tmp_path):
    """`reenact bench` measures the output nodes too, but into a temporary folder: the preset's own
    renders are never overwritten."""
    done = subprocess.run([sys.executable, "-m", "app.cli", "bench", str(REPO / "graphs" / "portrait_to_images.json"),
                           "--frames", "2", "--warmup", "0", "--quiet"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, env={**os.environ, "REENACT_STATE_DIR": str(tmp_path / "state")})
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "renders").exists()


def test_play_at_the_end_of_the_clip_starts_it_again(editor):
    editor.add_node("capture.motion")
    editor.set_param("motion", "duration", 0.2)  # 6 frames at 30 fps
    editor.play()
    wait_for(lambda: editor.live.status().transport is Transport.ENDED)
    assert "Play starts it again" in editor.live.status().message
    editor.live.max_fps = 30  # 0.2 s to watch it play again
    editor.play()
    wait_for(lambda: editor.live.status().transport is Transport.PLAYING)
    wait_for(lambda: editor.live.status().transport is Transport.ENDED)
    assert editor.live.status().clip.frames == 6


def test_rendering_switches_recording_off(editor, tmp_path):
    images_graph(editor, "render")
    editor.record(True)
    job = editor.render_to_file(2)
    assert not editor.recording and job.wait(120)


def test_a_refusal_stays_on_the_status_bar_a_while_after_notes():
    from app.editor.notes import Message
    from app.editor.message_log import DONE_HOLD_S, WARNING_HOLD_S, headline

    refusal = Message("link refused: it would make a cycle", Tone.WARNING, at=100.0)
    note = Message("refine: no weights set", Tone.NOTE, at=100.5, node="refine")
    assert headline([refusal, note], now=101.0) is refusal
    assert headline([refusal, note], now=100.0 + WARNING_HOLD_S + 0.1) is note
    assert headline([note, refusal], now=101.0) is refusal
    saved = Message("saved /tmp/work.json", Tone.OK, at=200.0)
    budget = Message("frame budget: the preview is drawn smaller", Tone.NOTE, at=200.2)
    assert headline([refusal, saved, budget], now=201.0) is saved
    assert headline([refusal, saved, budget], now=200.0 + DONE_HOLD_S + 0.1) is budget


def test_a_cancelled_render_stops_and_says_so(editor, tmp_path):
    images_graph(editor, "render")
    job = editor.render_to_file(240)
    job.cancel()
    assert job.wait(120) and job.progress.cancelled and job.progress.done < 240
    editor.render_finished()
    assert editor.messages[-1].text.startswith("cancelled after ") and editor.messages[-1].tone is Tone.WARNING


def test_the_progress_of_a_cancelled_render_shows_where_it_stopped():
    """It read full, "140 / 240 frames - done", beside "cancelled after 140 frames"."""
    from app.editor.render_job import RenderProgress

    cancelled = RenderProgress(240, done=140, finished=True, cancelled=True)
    assert cancelled.fraction == 140 / 240 and cancelled.summary == "140 / 240 frames - cancelled"
    ended_sooner = RenderProgress(300, done=240, finished=True)  # the clip ended: complete
    assert ended_sooner.fraction == 1.0 and ended_sooner.summary == "240 / 300 frames - done"
    running = RenderProgress(240, done=60)
    assert running.fraction == 0.25 and running.summary == "60 / 240 frames"


def test_a_render_knows_which_of_its_outputs_it_would_write_over(tmp_path):
    """Asked before, as Save As asks: a render replaces its files where Record writes beside them."""
    from app.editor.render_job import taken_outputs

    (tmp_path / "out.mp4").write_bytes(b"an earlier render")
    (tmp_path / "frames").mkdir()
    (tmp_path / "frames" / "frame_000000.png").write_bytes(b"png")
    (tmp_path / "empty").mkdir()
    paths = [str(tmp_path / name) for name in ("out.mp4", "frames", "empty", "new.mp4")]
    assert taken_outputs(paths) == paths[:2]
