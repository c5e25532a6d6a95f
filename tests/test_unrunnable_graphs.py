"""Graphs that cannot run as they are. A preset whose links make a cycle or name a port that is not there is
refused where it is loaded, like malformed JSON (the editor keeps its graph, `reenact edit` exits 2); a
scheduler refuses such a graph when it is made; and a node whose required input holds nothing (fed through
a node whose plugin is not installed) waits and says why, instead of failing on None."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from app.presets import load_preset
from app.runtime import ports
from app.runtime.errors import ProblemsError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.scheduler import Scheduler
from app.runtime.schema import NodeSchema, Port
from tests.conftest import REPO, Sink
from tests.test_editor_actions import live_editor, wait_for

CYCLE = {"from": ["retarget", "motion"], "to": ["smooth", "motion"]}  # QA's: retarget feeds the smoother it reads
CYCLE_SAID = ("links: cycle through nodes smooth -> retarget -> smooth: a graph runs once per frame and cannot "
              "feed itself; remove one of links[2] smooth.track -> retarget.source, links[19] retarget.motion -> "
              "smooth.motion")
NO_PORT_SAID = ("links[1].to: 'smooth' (smooth.one_euro) has no input 'nosuchport' (its inputs: track, motion): "
                "link one of those, or remove the link")


def video_preset(tmp_path, change) -> str:
    """graphs/video_to_portrait.json changed by `change(doc)`, written into tmp_path (its clip and portrait
    are found in assets/)."""
    doc = json.loads((REPO / "graphs" / "video_to_portrait.json").read_text())
    change(doc)
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(doc))
    return str(path)


def with_cycle(doc):
    doc["links"].append(CYCLE)


def with_missing_port(doc):
    doc["links"][1]["to"] = ["smooth", "nosuchport"]


@pytest.fixture
def studio_editor(studio_registry, tmp_path, monkeypatch):
    with live_editor(studio_registry, tmp_path, monkeypatch) as editor:
        yield editor


@pytest.mark.parametrize("change, said", [(with_cycle, CYCLE_SAID), (with_missing_port, NO_PORT_SAID)])
def test_a_preset_with_links_no_graph_can_hold_is_refused_saying_which_and_what_to_do(change, said, tmp_path,
                                                                                       studio_registry, capsys):
    """The cycle had loaded and "played" empty frames; the link to no port had reached process() as a keyword
    argument. Each is refused as it is loaded, the reason first, as `reenact run` and `validate` refuse it."""
    path = video_preset(tmp_path, change)
    with pytest.raises(ProblemsError) as refused:
        load_preset(path, studio_registry)
    assert str(refused.value.problems[0]) == said
    assert main(["validate", path]) == 2 and said in capsys.readouterr().err


@pytest.mark.parametrize("change, said", [(with_cycle, CYCLE_SAID), (with_missing_port, NO_PORT_SAID)])
def test_the_editor_refuses_to_open_it_and_keeps_the_graph_it_has(change, said, tmp_path, studio_editor):
    studio_editor.add_node("util.number")
    with pytest.raises(ProblemsError) as refused:  # File > Open says "cannot open FILE: <the first problem>"
        studio_editor.open(video_preset(tmp_path, change))
    assert str(refused.value.problems[0]) == said
    assert list(studio_editor.document.graph.nodes) == ["number"]


def test_reenact_edit_refuses_it_with_exit_2_as_it_does_a_truncated_preset(tmp_path, monkeypatch, capsys):
    class NoWindow:
        def __init__(self, editor):
            raise AssertionError("a window opened on a preset that cannot run")

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setattr("app.editor.window.EditorWindow", NoWindow)
    assert main(["edit", video_preset(tmp_path, with_cycle)]) == 2
    assert CYCLE_SAID in capsys.readouterr().err


def test_a_missing_plugin_still_opens_as_a_placeholder(tmp_path, studio_registry):
    path = video_preset(tmp_path, lambda doc: doc["nodes"][1].update(type="track.nonexistent"))
    preset = load_preset(path, studio_registry)
    assert preset.missing_types == ["track.nonexistent"] and len(preset.graph.links) == 19


def test_a_scheduler_refuses_a_graph_it_cannot_run_when_it_is_made(registry):
    """Made on a cycle it had played frames of nothing, the cycle said only when opened; a link to a port
    that is not there went into process() as a keyword argument."""
    cycle = Graph()
    for node_id in ("a", "b"):
        cycle.add(NodeSpec(node_id, "test.gain"))
    cycle.connect("a", "value", "b", "value")
    cycle.connect("b", "value", "a", "value")
    with pytest.raises(ProblemsError, match=r"cycle through nodes a -> b -> a"):
        Scheduler(cycle, registry)
    no_port = Graph()
    no_port.add(NodeSpec("count", "test.counter"))
    no_port.add(NodeSpec("sink", "test.sink"))
    no_port.connect("count", "value", "sink", "value")
    no_port.connect("count", "value", "sink", "nosuch")
    with pytest.raises(ProblemsError, match=r"'sink' \(test.sink\) has no input 'nosuch' \(its inputs: value\)"):
        Scheduler(no_port, registry)


class Maybe(Node):
    """Passes its optional input on, and with nothing there gives nothing (as smooth.one_euro does)."""

    schema = NodeSchema("test.maybe", "Maybe", "test", "passes a value on, or nothing",
                        inputs=(Port("value", ports.FLOAT, optional=True),),
                        outputs=(Port("value", ports.FLOAT, optional=True),))

    def process(self, ctx, value: float | None = None) -> dict:
        return {"value": value}


def nothing_reaches(graph: Graph) -> Graph:
    """maybe (nothing connected) -> gain -> sink, beside count -> sink2."""
    for node_id, node_type in [("maybe", "test.maybe"), ("gain", "test.gain"), ("sink", "test.sink"),
                               ("count", "test.counter"), ("sink2", "test.sink")]:
        graph.add(NodeSpec(node_id, node_type))
    graph.connect("maybe", "value", "gain", "value")
    graph.connect("gain", "value", "sink", "value")
    graph.connect("count", "value", "sink2", "value")
    return graph


GAIN_WAITS = ("'gain' waits for its input 'value': maybe.value gives nothing, as nothing reaches 'maybe' (what "
              "feeds it is not installed, idle or not connected: see that node)")


def test_a_node_whose_required_input_holds_nothing_waits_like_one_downstream_of_a_failure(registry):
    """gain had failed every frame with a TypeError of None; it and what it feeds skip, the rest runs, and why
    is said once."""
    registry.register(Maybe)
    scheduler = Scheduler(nothing_reaches(Graph()), registry)
    scheduler.open()
    try:
        assert [f for _ in range(5) for f in scheduler.step()] == []
        assert [value for _, value in Sink.log] == [0.0, 1.0, 2.0, 3.0, 4.0]  # sink2 only
        assert scheduler.waits.reasons == {"gain": GAIN_WAITS} and scheduler.run.notices == [GAIN_WAITS]
        fed = scheduler.graph
        fed.add(NodeSpec("two", "test.constant", params={"value": 2.0}))
        fed.connect("two", "value", "maybe", "value")
        scheduler.replace_graph(fed)
        assert scheduler.step() == [] and (5, 2.0) in Sink.log and scheduler.waits.reasons == {}
    finally:
        scheduler.close()


def test_a_node_fed_through_a_missing_plugin_waits_in_the_editor_and_nothing_turns_red(registry, tmp_path,
                                                                                       monkeypatch):
    """QA's unknown_type.json: the smoother behind the placeholder gave no track, and retarget went red with
    "'NoneType' object has no attribute 'timestamp'"."""
    registry.register(Maybe)
    doc = {"format": "reenact-studio/graph", "format_version": 1,
           "nodes": [{"id": "ghost", "type": "plugin.ghost"}, {"id": "maybe", "type": "test.maybe"},
                     {"id": "gain", "type": "test.gain"}, {"id": "sink", "type": "test.sink"}],
           "links": [{"from": ["ghost", "value"], "to": ["maybe", "value"]},
                     {"from": ["maybe", "value"], "to": ["gain", "value"]},
                     {"from": ["gain", "value"], "to": ["sink", "value"]}]}
    path = tmp_path / "ghost.json"
    path.write_text(json.dumps(doc))
    with live_editor(registry, tmp_path, monkeypatch) as editor:
        editor.open(path)
        editor.play()
        status = wait_for(lambda: (s := editor.live.status()).frame > 5 and s, timeout=20.0)
    assert status.failures == {} and "ghost" in status.idle and status.idle["gain"] == GAIN_WAITS
    assert GAIN_WAITS in [text for _, text in status.said]
