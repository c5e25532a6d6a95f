"""The editor's actions and the live worker, headless (fake nodes; no dearpygui)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest

from app.editor.actions import Editor, UnsavedChanges
from app.editor.notes import Tone
from app.editor.live import LiveGraph
from app.editor.live_status import Transport
from app.presets import load_preset
from app.runtime.errors import ProblemsError, ReenactError
from app.runtime.graph import Endpoint
from tests.conftest import REPO, Flaky


def wait_for(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out waiting for the live graph")


@contextmanager
def live_editor(registry, tmp_path, monkeypatch):
    """An editor on a live graph of `registry`, unpaced, its autosaves kept under `tmp_path`."""
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    editor = Editor(registry, LiveGraph(registry, max_fps=0))
    try:
        yield editor
    finally:
        editor.close()


@pytest.fixture
def editor(registry, tmp_path, monkeypatch):
    with live_editor(registry, tmp_path, monkeypatch) as made:
        yield made


def build_chain(editor: Editor) -> None:
    counter, gain = editor.add_node("test.counter"), editor.add_node("test.gain")
    editor.link(Endpoint(counter, "value"), Endpoint(gain, "value"))


def test_a_param_edit_reaches_the_running_graph(editor):
    build_chain(editor)
    editor.set_preview("gain")
    editor.play()
    wait_for(lambda: (editor.live.status().outputs.get(Endpoint("gain", "value")) or 0) > 3)
    editor.set_param("gain", "gain", 0.0)
    assert wait_for(lambda: editor.live.status().outputs.get(Endpoint("gain", "value")) == 0.0)



def test_a_node_renamed_while_playing_runs_on_under_its_new_id_with_its_preview_and_selection(editor):
    build_chain(editor)
    editor.set_preview("gain")
    editor.select(["gain"])
    editor.play()
    wait_for(lambda: (editor.live.status().outputs.get(Endpoint("gain", "value")) or 0) > 3)
    assert editor.rename("gain", "boost") == "boost"
    assert editor.preview.a == Endpoint("boost", "value") and editor.selection == ["boost"]
    assert wait_for(lambda: (editor.live.status().outputs.get(Endpoint("boost", "value")) or 0) > 3)
    assert editor.messages[-1].text == "renamed 'gain' to 'boost'"
    assert not editor.attempt(lambda: editor.rename("boost", "counter"))  # taken: said, nothing changes
    assert editor.messages[-1].text.startswith("cannot rename 'boost' to 'counter': there is a node 'counter' already")

def test_a_failing_node_gets_a_badge_and_the_rest_keeps_running(editor):
    build_chain(editor)
    flaky = editor.add_node("test.flaky")
    editor.link(Endpoint("counter", "value"), Endpoint(flaky, "value"))
    Flaky.fail_on = {float(v) for v in range(5, 10_000)}
    try:
        editor.set_preview("gain")
        editor.play()
        status = wait_for(lambda: (s := editor.live.status()).failures and s)
        assert "bad value" in status.failures[flaky]
        frame = status.frame
        wait_for(lambda: editor.live.status().frame > frame + 5)
        assert editor.live.status().outputs[Endpoint("gain", "value")] > frame
    finally:
        Flaky.fail_on = set()


def test_incomplete_nodes_idle_and_start_once_connected(editor):
    build_chain(editor)
    sink = editor.add_node("test.sink")
    editor.play()
    assert wait_for(lambda: editor.live.status().idle.get(sink)) == "input value not connected"
    editor.link(Endpoint("gain", "value"), Endpoint(sink, "value"))
    wait_for(lambda: sink not in editor.live.status().idle and sink in editor.live.status().timings)


def test_transport_pause_step_restart(editor):
    build_chain(editor)
    editor.set_preview("counter")
    editor.step()
    wait_for(lambda: editor.live.status().frame == 1)
    time.sleep(0.1)
    assert editor.live.status().frame == 1 and editor.live.status().transport is Transport.PAUSED
    editor.live.max_fps = 20  # slow enough to see the restart
    editor.play()
    wait_for(lambda: editor.live.status().frame > 10)
    editor.restart()  # re-opens the counter: it starts from 0 again
    wait_for(lambda: editor.live.status().frame < 5 and editor.live.status().outputs.get(Endpoint("counter", "value")) is not None)


def test_restart_runs_the_edited_params(editor):
    build_chain(editor)
    editor.set_preview("gain")
    editor.play()
    wait_for(lambda: editor.live.status().frame > 10)
    editor.set_param("gain", "gain", 0.5)
    editor.live.max_fps = 20  # slow enough to see the restart
    editor.restart()  # the counter starts from 0 again; the gain stays 0.5
    status = wait_for(lambda: (s := editor.live.status()).frame in range(2, 6) and s)
    assert status.outputs[Endpoint("gain", "value")] == 0.5 * (status.frame - 1)


def test_only_nodes_that_can_be_cached_say_cached(editor):
    build_chain(editor)  # a volatile counter feeds the gain: both run every frame
    constant, add = editor.add_node("test.constant"), editor.add_node("test.add")
    editor.link(Endpoint(constant, "value"), Endpoint(add, "a"))  # runs once, until a param changes
    editor.play()
    status = wait_for(lambda: (s := editor.live.status()).frame > 300 and s)  # past two timing windows
    assert status.cached == {constant, add}
    assert status.timings["gain"].samples == 120 and status.timings[constant].samples == 1


def test_refused_link_says_why_and_changes_nothing(editor):
    text, gain = editor.add_node("test.text"), editor.add_node("test.gain")
    revision = editor.structure_revision
    assert editor.link(Endpoint(text, "text"), Endpoint(gain, "value")) is None
    said = editor.messages[-1]
    assert said.tone is Tone.WARNING and "String" in said.text
    assert editor.structure_revision == revision


def test_duplicate_leaves_the_clipboard_alone_and_undo_restores(editor):
    build_chain(editor)
    editor.copy(["counter"])
    assert editor.duplicate(["counter", "gain"]) == ["counter_2", "gain_2"]
    assert editor.paste() == ["counter_3"]
    editor.undo()
    editor.undo()
    assert set(editor.document.graph.nodes) == {"counter", "gain"}


def test_save_reload_gives_the_same_graph(editor, tmp_path, registry):
    build_chain(editor)
    editor.set_param("gain", "gain", 1.25)
    path = editor.save_as(tmp_path / "mine")
    assert path.suffix == ".json" and not editor.document.dirty
    again = load_preset(path, registry)
    assert again.graph.nodes["gain"].params == {"gain": 1.25}
    assert [str(l.target) for l in again.graph.links] == ["gain.value"]
    assert again.ui["nodes"]["gain"]["pos"] == [round(v) for v in editor.document.layout["gain"]]


def test_unsaved_changes_are_guarded_and_autosaved_then_recovered(editor, tmp_path, registry):
    build_chain(editor)
    path = editor.save_as(tmp_path / "work.json")
    editor.set_param("gain", "gain", 0.5)
    with pytest.raises(UnsavedChanges):
        editor.new()
    assert editor.autosave(force=True) == editor.storage.autosave_path(path)
    os.utime(path, (time.time() - 60, time.time() - 60))  # the file is older than the autosave
    crashed = Editor(registry, LiveGraph(registry))  # a new session after a crash
    try:
        crashed.open(path)
        assert crashed.document.graph.nodes["gain"].params["gain"] == 0.5
        assert crashed.document.dirty and "recovered" in crashed.messages[-1].text and crashed.recovered
        with pytest.raises(UnsavedChanges) as asked:  # reverting drops the recovered edits: asked first
            crashed.revert()
        assert not asked.value.saving_helps  # saved first, they would only be reverted to
        assert crashed.document.graph.nodes["gain"].params["gain"] == 0.5
        crashed.revert(discard=True)
        assert crashed.document.graph.nodes["gain"].params["gain"] == 1.0
        assert not editor.storage.autosave_path(path).exists()
    finally:
        crashed.live.shutdown()
    editor.discard_changes()
    editor.new()
    assert editor.document.graph.nodes == {}


def test_recovered_edits_are_no_longer_said_to_be_recovered_once_saved(editor, tmp_path, registry):
    build_chain(editor)
    path = editor.save_as(tmp_path / "work.json")
    editor.set_param("gain", "gain", 0.5)
    editor.autosave(force=True)
    os.utime(path, (time.time() - 60, time.time() - 60))  # the file is older than the autosave
    crashed = Editor(registry, LiveGraph(registry))
    try:
        crashed.open(path)
        assert crashed.recovered
        crashed.save()
        crashed.set_param("gain", "gain", 0.25)  # unsaved again, but nothing recovered is
        assert not crashed.recovered
    finally:
        crashed.live.shutdown()


def test_a_file_that_cannot_be_opened_says_so_before_unsaved_changes_are_asked_about(editor, tmp_path):
    """Asked first, the user discarded their edits for a file that then failed to open: the edits stayed
    on screen marked saved, and their autosave was gone."""
    build_chain(editor)
    path = editor.save_as(tmp_path / "work.json")
    editor.set_param("gain", "gain", 0.5)
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    with pytest.raises(ProblemsError):
        editor.open(broken)
    assert editor.document.dirty and editor.document.path == path
    assert editor.document.graph.nodes["gain"].params["gain"] == 0.5


def test_undoing_back_to_the_saved_graph_leaves_nothing_unsaved_or_to_recover(editor, tmp_path):
    build_chain(editor)
    path = editor.save_as(tmp_path / "work.json")
    editor.set_param("gain", "gain", 0.5)
    assert editor.document.dirty and editor.autosave(force=True) == editor.storage.autosave_path(path)
    editor.undo()
    assert not editor.document.dirty
    assert editor.autosave(force=True) is None and not editor.storage.autosave_path(path).exists()
    editor.new()  # no unsaved changes to ask about
    editor.open(path)
    editor.set_param("gain", "gain", 0.5)
    editor.undo()
    editor.redo()
    assert editor.document.dirty  # the edit is back: unsaved again
    editor.undo()
    editor.set_param("gain", "gain", 0.25)  # a new edit from the saved graph is a new state
    assert editor.document.dirty


def test_save_as_knows_when_it_would_write_over_another_file(editor, tmp_path):
    build_chain(editor)
    assert editor.would_replace(tmp_path / "work") is None  # nothing there yet
    path = editor.save_as(tmp_path / "work")
    assert editor.would_replace(path) is None and editor.would_replace(tmp_path / "work") is None  # its own
    (tmp_path / "other.json").write_text("{}")
    assert editor.would_replace(tmp_path / "other") == tmp_path / "other.json"
    (tmp_path / "folder.json").mkdir()  # a folder is not offered to be replaced, and saving onto it says why
    assert editor.would_replace(tmp_path / "folder.json") is None
    with pytest.raises(ReenactError, match="folder.json is a folder"):
        editor.save_as(tmp_path / "folder.json")
    assert editor.document.path == path


def test_save_as_into_a_folder_that_does_not_exist_is_refused_not_made(editor, tmp_path):
    """A path typed wrong into Save As made its folders and saved there, saying only the file's name."""
    build_chain(editor)
    with pytest.raises(ReenactError, match=f"could not save x.json: there is no folder {tmp_path / 'no' / 'dir'} "
                                           r"\(create the folder first.*your changes are still here\)"):
        editor.save_as(tmp_path / "no" / "dir" / "x")
    assert not (tmp_path / "no").exists() and editor.document.path is None and editor.document.dirty
    path = editor.save_as(tmp_path / "x")
    assert editor.messages[-1].text == f"saved {path}"


def test_unwritable_save_keeps_the_work(editor, tmp_path):
    build_chain(editor)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(Exception, match="could not save.*your changes are still here"):
        editor.save_as(blocker / "x.json")
    assert editor.document.dirty and "gain" in editor.document.graph.nodes
    assert blocker.read_text() == "a file where the folder should be"


def test_picked_asset_files_become_relative_paths(studio_registry, tmp_path, monkeypatch):
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    editor = Editor(studio_registry, LiveGraph(studio_registry))
    try:
        node = editor.add_node("capture.image")
        editor.set_path_param(node, "path", REPO / "assets" / "portraits" / "grace_hopper.jpg")
        assert editor.document.graph.nodes[node].params["path"] == "portraits/grace_hopper.jpg"
        outside = tmp_path / "me.png"
        editor.set_path_param(node, "path", outside)
        said = editor.messages[-1]
        assert "outside assets/" in said.text and said.tone is Tone.WARNING
    finally:
        editor.live.shutdown()


def test_saving_into_another_folder_keeps_naming_the_same_files(studio_registry, tmp_path, monkeypatch):
    """A path relative to the folder a preset was saved in names another file (or none) from a preset
    saved elsewhere; one typed in full is refused by `reenact run`. Saving names each file as a preset in
    the new folder finds it, and says so plainly where the command line would still refuse it."""
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "me.png").write_bytes((REPO / "assets" / "portraits" / "astronaut.png").read_bytes())
    editor = Editor(studio_registry, LiveGraph(studio_registry))
    try:
        me, typed = editor.add_node("capture.image"), editor.add_node("capture.image")
        editor.save_as(project / "work.json")
        editor.set_path_param(me, "path", project / "me.png")
        editor.set_param(typed, "path", str(REPO / "assets" / "portraits" / "grace_hopper.jpg"))
        editor.save_as(project / "work.json")
        params = {n: editor.document.graph.nodes[n].params["path"] for n in (me, typed)}
        assert params == {me: "me.png", typed: "portraits/grace_hopper.jpg"} and not editor.problems
        editor.save_as(project / "sub" / "copy.json")  # me.png lies outside sub/: named in full, and said
        assert editor.document.graph.nodes[me].params["path"] == str((project / "me.png").resolve())
        said = editor.messages[-1]
        assert said.tone is Tone.WARNING and said.text.startswith(f"saved {project / 'sub' / 'copy.json'}; ")
        assert "to run it with `reenact run`, copy the file" in said.text
        assert f"--set {me}.path=" in said.text and editor.problems
        assert any("refuses copy.json as it is" in m.text and "is an absolute path" in m.text
                   for m in editor.messages)  # in full in the message log
        path = editor.save_as(project / "again.json")  # back beside it: relative again, nothing refused
        assert editor.document.graph.nodes[me].params["path"] == "me.png" and not editor.problems
        assert not load_preset(path, studio_registry).problems
    finally:
        editor.live.shutdown()


def test_a_saved_graph_opens_previewing_what_it_was_saved_showing(studio_registry, tmp_path, monkeypatch):
    """A side branch added after the finished frame (a Resize off the source) was what a reopened file
    previewed, as the last node with an image: it now opens on the image its output takes, or on what was
    previewed when it was saved."""
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    editor = Editor(studio_registry, LiveGraph(studio_registry))
    try:
        source, sink = editor.add_node("capture.image"), editor.add_node("output.images")
        editor.link(Endpoint(source, "image"), Endpoint(sink, "image"))
        side = editor.add_node("image.resize")
        editor.link(Endpoint(source, "image"), Endpoint(side, "image"))
        path = editor.save_as(tmp_path / "work.json")
        editor.open(path)
        assert editor.preview.a == Endpoint(source, "image") and editor.preview.b is None
        editor.set_preview(side, side="b")
        editor.save()
        editor.new()
        editor.open(path)
        assert editor.preview.a == Endpoint(source, "image") and editor.preview.b == Endpoint(side, "image")
    finally:
        editor.live.shutdown()


def test_edit_without_a_display_says_what_to_do(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "app.cli", "edit", str(REPO / "graphs" / "demo.json")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert "needs a display" in done.stderr and "xvfb-run" in done.stderr and "Traceback" not in done.stderr


def test_the_live_graph_holds_its_frame_cap_with_declared_cheaper_settings_and_gives_them_back(registry):
    from app.runtime import ports
    from app.runtime.graph import Graph, NodeSpec
    from app.runtime.node import Node
    from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, Port

    class Heavy(Node):
        """20 ms a frame at high effort, 1 ms at low."""
        schema = NodeSchema("test.heavy", "Heavy", "test", "", inputs=(Port("value", ports.FLOAT),),
                            params=(Param("effort", ParamKind.ENUM, "high", "", choices=("high", "low")),),
                            degrade=(Degrade("effort", ("low",), "detail"),))

        def process(self, ctx, value) -> dict:
            time.sleep(0.02 if self.params.effort == "high" else 0.001)
            return {}

    registry.register(Heavy, "tests")
    graph = Graph()
    graph.add(NodeSpec("count", "test.counter"))
    graph.add(NodeSpec("heavy", "test.heavy"))
    graph.connect("count", "value", "heavy", "value")
    live = LiveGraph(registry, max_fps=60)  # 16.7 ms a frame: high effort cannot keep it
    try:
        live.set_graph(graph)
        live.play()
        status = wait_for(lambda: live.status().budget and live.status())
        assert status.budget == ("heavy.effort=low",) and "frame budget: heavy.effort high -> low" in status.message
        live.set_hold_rate(False)
        wait_for(lambda: not live.status().budget)
        assert "back to high (holding the rate is off)" in live.status().message
    finally:
        live.shutdown()
