"""A headless run whose node waits for an input (its required input holds nothing: `app.runtime.waits`). It had
"succeeded", exit 0 with nothing written, the wait said once as a note (and with --pipeline, where the waiting node
reads across the cut, not at all). A wait that leaves an output without a single frame now fails the run naming the
node, the input and what to do, serial or pipelined, and bench and soak measure nothing; waits on some frames only are
notes with their counts. A preset with a node whose plugin is not installed does not get that far: it is refused."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.presets import load_preset
from app.runtime import ports
from app.runtime.graph import Endpoint
from app.runtime.node import Node
from app.runtime.pipeline import PipelinedRun
from app.runtime.registry import Registry
from app.runtime.schema import NodeSchema, Port
from app.runtime.waits import Wait
from tests.conftest import REPO
from tests.test_cli import reenact

SMOOTH = {"id": "smooth", "type": "smooth.one_euro"}
FAST = ["--quiet", "--set", "render.size=64"]


def link(source: str, target: str) -> dict:
    return {"from": source.split("."), "to": target.split(".")}


def preset(tmp_path, name: str, nodes=(), links=(), unlinked=(), graph="demo.json") -> str:
    """graphs/`graph` (without demo's window, which would open where a display is) with nodes and links added, and
    the links into the inputs `unlinked` removed; written into tmp_path (its files are found in assets/)."""
    doc = json.loads((REPO / "graphs" / graph).read_text())
    doc["nodes"] = [n for n in doc["nodes"] if n["id"] != "window"] + list(nodes)
    doc["links"] = [l for l in doc["links"] if ".".join(l["to"]) not in unlinked and l["to"][0] != "window"]
    doc["links"] += list(links)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(doc))
    return str(path)


def smoother_fed_by_nothing(tmp_path) -> str:
    """QA's: a smoother put between the driver and retarget, its own input left unlinked."""
    return preset(tmp_path, "unfed", [SMOOTH], [link("smooth.track", "retarget.source")], ["retarget.source"])


def smoothed_motion_never_given(tmp_path) -> str:
    """render reads the smoother's motion, but only its track is linked. render is in a pipelined run's render stage:
    it reads the smoother across the cut."""
    return preset(tmp_path, "motion", [SMOOTH], [link("driver.track", "smooth.track"),
                                                 link("smooth.motion", "render.motion")], ["render.motion"])


RETARGET_WAITED = ("'retarget' waited for its input 'source' on all 4 frames, so the output 'out' got no frame: "
                   "smooth.track gave nothing, as nothing is connected to the input 'track' of 'smooth'; connect one "
                   "there, or link another node's output to 'retarget' input 'source'")
RENDER_WAITED = ("'render' waited for its input 'motion' on all 4 frames, so the output 'out' got no frame: "
                 "smooth.motion gave nothing, as nothing is connected to the input 'motion' of 'smooth'; connect one "
                 "there, or link another node's output to 'render' input 'motion'")


PIPELINE = pytest.mark.parametrize("pipeline", [[], ["--pipeline"]], ids=["serial", "pipelined"])


@PIPELINE
@pytest.mark.parametrize("graph, said", [pytest.param(smoother_fed_by_nothing, RETARGET_WAITED, id="retarget"),
                                         pytest.param(smoothed_motion_never_given, RENDER_WAITED, id="render")])
def test_a_run_whose_output_never_gets_a_frame_fails_naming_the_node_its_input_and_what_to_do(graph, said, pipeline,
                                                                                              tmp_path, capsys):
    out = tmp_path / "out.mp4"
    assert main(["run", graph(tmp_path), "--frames", "4", *FAST, "--set", f"out.path={out}", *pipeline]) == 1
    err = capsys.readouterr().err
    assert "4 frames in" in err and f"\nerror: {said}\n" in err
    assert "waits for its input" not in err and "Traceback" not in err  # said once, as the error
    assert not out.exists()


def test_the_command_itself_exits_1_with_the_error_and_no_traceback(tmp_path):
    done = reenact("run", smoother_fed_by_nothing(tmp_path), "--frames", "4", *FAST,
                   "--set", f"out.path={tmp_path / 'out.mp4'}")
    assert done.returncode == 1 and done.stderr.endswith(f"error: {RETARGET_WAITED}\n"), done.stderr
    assert "Traceback" not in done.stderr


def test_a_wait_no_output_depends_on_is_a_note(tmp_path, capsys):
    """A second retarget that the smoother fed by nothing reaches, and that feeds nothing: the render is whole."""
    path = preset(tmp_path, "aside", [SMOOTH, {"id": "aside", "type": "retarget.face"}],
                  [link("smooth.track", "aside.source"), link("target_track.track", "aside.target")])
    out = tmp_path / "out.mp4"
    assert main(["run", path, "--frames", "4", *FAST, "--set", f"out.path={out}"]) == 0
    assert ("note: 'aside' waited for its input 'source' in 4 of 4 frames, as smooth.track gave nothing then (no "
            "output depends on it)\n") in capsys.readouterr().err
    assert out.stat().st_size > 0


class Gate(Node):
    """Passes its image on, but on every third frame gives nothing (as a smoother does while it is given nothing)."""

    schema = NodeSchema("test.gate", "Gate", "test", "an image, or nothing every third frame",
                        inputs=(Port("image", ports.IMAGE),), outputs=(Port("image", ports.IMAGE, optional=True),),
                        volatile=True)

    def process(self, ctx, image) -> dict:
        return {"image": None if ctx.index % 3 == 1 else image}


@pytest.fixture
def gated(studio_registry, tmp_path, monkeypatch) -> str:
    """graphs/portrait_to_images.json with a Gate before its output, run by commands that know test.gate."""
    registry = Registry()
    registry.register_all([*studio_registry.types(), Gate], "tests")
    for command in ("run", "bench"):
        monkeypatch.setattr(f"app.cli.{command}.load_registry", lambda: registry)
    return preset(tmp_path, "gated", [{"id": "gate", "type": "test.gate"}],
                  [link("resize.image", "gate.image"), link("gate.image", "out.image")], ["out.image"],
                  graph="portrait_to_images.json")


@PIPELINE
def test_an_output_that_waited_on_some_frames_is_a_note_with_the_count(gated, pipeline, tmp_path, capsys):
    folder = tmp_path / "frames"
    assert main(["run", gated, "--frames", "6", "--quiet", "--set", "resize.width=64", "--set", f"out.path={folder}",
                 *pipeline]) == 0
    assert ("note: 'out' waited for its input 'image' in 2 of 6 frames, as gate.image gave nothing then: it got none "
            "of those\n") in capsys.readouterr().err
    if not pipeline:  # pipelined, this output sits in the capture stage, which writes a frame ahead of the run
        assert len(list(folder.glob("*.png"))) == 4


def test_bench_reports_the_waits_it_counted(gated, tmp_path, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", gated, "--frames", "5", "--warmup", "1", "--quiet", "--set", "resize.width=64",
                 "--json", str(report)]) == 0
    assert json.loads(report.read_text())["waited"] == {"out": 2}
    assert "note: 'out' waited for its input 'image' in 2 of 6 frames" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["bench", "--frames", "3", "--warmup", "1"],
                                     ["bench", "--frames", "3", "--warmup", "1", "--pipeline"],
                                     ["soak", "--frames", "3", "--warmup", "1", "--samples", "4"]],
                         ids=["bench", "bench-pipelined", "soak"])
def test_bench_and_soak_measure_nothing_when_an_output_got_no_frame(command, tmp_path, capsys):
    report = tmp_path / "report.json"
    assert main([command[0], smoother_fed_by_nothing(tmp_path), *command[1:], *FAST, "--json", str(report)]) == 1
    err = capsys.readouterr().err
    assert f"error: {RETARGET_WAITED}\n" in err  # 1 warm-up frame and 3 measured
    assert err.endswith("error: nothing was measured: the output(s) above got no frame\n") and not report.exists()


def test_a_pipelined_run_names_the_output_read_across_the_cut(studio_registry, tmp_path):
    """The render stage reads the capture stage's outputs through its pipe node: a wait there had gone unsaid."""
    graph = load_preset(smoothed_motion_never_given(tmp_path), studio_registry).graph
    graph.remove("out")
    runner = PipelinedRun(graph, studio_registry)
    runner.open()
    try:
        assert runner.step() == []
        why = "'render' waits for its input 'motion': smooth.motion gives nothing this frame"
        assert runner.waited() == {"render": Wait("motion", Endpoint("smooth", "motion"), why)}
    finally:
        runner.close()
    assert runner.run.notices == [why]


def test_a_preset_whose_plugin_is_not_installed_is_refused_before_it_runs_saying_what_to_do(tmp_path, capsys):
    """QA's unknown_type.json: the smoother fed by a node whose plugin is not installed. `reenact run` refuses it as
    `validate` does (exit 2), naming the type, the node and what to do; nothing runs, so nothing waits."""
    path = preset(tmp_path, "ghost", [SMOOTH, {"id": "ghost", "type": "plugin.ghost", "params": {"strength": 2}}],
                  [link("ghost.track", "smooth.track"), link("smooth.track", "retarget.source")], ["retarget.source"])
    assert main(["run", path, "--frames", "4", *FAST, "--set", "ghost.strength=3"]) == 2
    assert capsys.readouterr().err == (
        f"{path}: invalid\n"
        "  nodes[7].type: unknown node type 'plugin.ghost' (node 'ghost'): not installed; install its plugin or "
        "remove the node\n"
        "  --set ghost.strength=3: 'ghost' is a plugin.ghost, which is not installed\n")
