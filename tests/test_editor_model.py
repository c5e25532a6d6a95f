"""The editor's document: edits, refusals, undo/redo, clipboard, the runnable part. Headless."""
from __future__ import annotations

import pytest

from app.editor.document import Document
from app.editor.runnable import runnable_part
from app.presets import Preset, dumps_preset, parse_preset
from app.runtime.errors import GraphError, ParamError
from app.runtime.graph import Endpoint, Graph, NodeSpec


def chain(registry) -> Document:
    doc = Document(registry)
    counter, gain, sink = (doc.add_node(t) for t in ("test.counter", "test.gain", "test.sink"))
    doc.connect(Endpoint(counter, "value"), Endpoint(gain, "value"))
    doc.connect(Endpoint(gain, "value"), Endpoint(sink, "value"))
    return doc


def test_add_gives_unique_ids_defaults_and_free_spots(registry):
    doc = Document(registry)
    first, second = doc.add_node("test.gain"), doc.add_node("test.gain")
    assert (first, second) == ("gain", "gain_2")
    assert doc.graph.nodes["gain"].params == {"gain": 1.0}
    assert doc.layout[first] != doc.layout[second]


def test_mismatched_link_is_refused_with_the_types(registry):
    doc = Document(registry)
    text, gain = doc.add_node("test.text"), doc.add_node("test.gain")
    before = doc.revision
    with pytest.raises(GraphError, match="String but gain.value takes Float"):
        doc.connect(Endpoint(text, "text"), Endpoint(gain, "value"))
    assert doc.graph.links == [] and doc.revision == before  # nothing recorded


def test_a_link_that_closes_a_cycle_is_refused(registry):
    doc = Document(registry)
    a, b = doc.add_node("test.gain"), doc.add_node("test.gain")
    doc.connect(Endpoint(a, "value"), Endpoint(b, "value"))
    with pytest.raises(GraphError, match="cycle"):
        doc.connect(Endpoint(b, "value"), Endpoint(a, "value"))
    assert len(doc.graph.links) == 1


def test_undo_and_redo_walk_every_kind_of_edit(registry):
    doc = chain(registry)
    states = [dumps_preset(doc.to_preset())]
    doc.set_param("gain", "gain", 1.5)
    states.append(dumps_preset(doc.to_preset()))
    doc.set_bypass("gain", True)
    doc.move_nodes({"sink": (500.0, 20.0)})
    doc.remove_nodes(["gain"])
    assert "gain" not in doc.graph.nodes and doc.graph.links == []
    for _ in range(3):
        assert doc.undo()
    assert dumps_preset(doc.to_preset()) == states[1]
    assert doc.undo() == "set gain.gain"
    assert dumps_preset(doc.to_preset()) == states[0]
    for _ in range(4):
        assert doc.redo()
    assert "gain" not in doc.graph.nodes and doc.redo() is None


def test_a_slider_drag_is_one_undo_step_and_a_new_edit_clears_redo(registry):
    doc = chain(registry)
    for value in (1.1, 1.2, 1.3, 1.4):
        doc.set_param("gain", "gain", value)
    doc.undo()
    assert doc.graph.nodes["gain"].params["gain"] == 1.0
    assert doc.redo_label == "set gain.gain"
    doc.set_param("gain", "gain", 0.5)
    assert doc.redo_label is None and doc.undo_label == "set gain.gain"


def test_bad_param_values_are_refused_and_located(registry):
    doc = chain(registry)
    with pytest.raises(ParamError, match=r"gain\.gain.*maximum"):
        doc.set_param("gain", "gain", 7.0)
    with pytest.raises(ParamError, match="NaN|finite|number"):
        doc.set_param("gain", "gain", float("nan"))
    assert doc.graph.nodes["gain"].params["gain"] == 1.0


def test_copy_paste_keeps_links_inside_the_selection_only(registry):
    doc = chain(registry)
    clip = doc.copy_nodes(["gain", "sink"])
    new = doc.paste(clip, (100.0, 400.0))
    assert new == ["gain_2", "sink_2"]
    new_links = [l for l in doc.graph.links if l.target.node in new]
    assert [(str(l.source), str(l.target)) for l in new_links] == [("gain_2.value", "sink_2.value")]
    assert doc.layout["gain_2"] == (100.0, 400.0)
    doc.undo()
    assert set(doc.graph.nodes) == {"counter", "gain", "sink"}



def test_a_renamed_node_keeps_its_place_links_params_and_position_and_undo_brings_the_old_id_back(registry):
    doc = chain(registry)
    doc.set_param("gain", "gain", 1.5)
    doc.move_nodes({"gain": (321.0, 123.0)})
    assert doc.rename_node("gain", "  boost ") == "boost"
    assert list(doc.graph.nodes) == ["counter", "boost", "sink"] and doc.graph.nodes["boost"].id == "boost"
    assert [(str(l.source), str(l.target)) for l in doc.graph.links] == [("counter.value", "boost.value"),
                                                                         ("boost.value", "sink.value")]
    assert doc.graph.nodes["boost"].params == {"gain": 1.5} and doc.layout["boost"] == (321.0, 123.0)
    assert '"id": "boost"' in dumps_preset(doc.to_preset()) and doc.undo_label == "rename gain to boost"
    doc.undo()
    assert list(doc.graph.nodes) == ["counter", "gain", "sink"] and "boost" not in doc.layout


@pytest.mark.parametrize("new_id, says", [("", "one word"), ("key.light", "one word"), ("a=b", "one word"),
                                          ("two words", "one word"), ("sink", "there is a node 'sink' already")])
def test_a_rename_to_an_id_that_run_could_not_name_or_that_is_taken_is_refused(registry, new_id, says):
    doc = chain(registry)
    with pytest.raises(GraphError, match=says):
        doc.rename_node("gain", new_id)
    assert list(doc.graph.nodes) == ["counter", "gain", "sink"] and doc.undo_label != "rename gain to sink"

def test_layout_and_unknown_ui_keys_round_trip_through_the_preset(registry):
    doc = chain(registry)
    doc.move_nodes({"gain": (321.0, 123.0)})
    preset = doc.to_preset()
    preset.ui["theme"] = "dark"
    again = Document(registry, parse_preset(dumps_preset(preset), registry))
    assert again.layout["gain"] == (321.0, 123.0)
    assert dumps_preset(again.to_preset()) == dumps_preset(preset)


def test_nodes_of_missing_plugins_keep_their_params(registry):
    graph = Graph()
    graph.add(NodeSpec("ghost", "plugin.ghost", 1, {"strength": 3}))
    doc = Document(registry, Preset(graph))
    assert doc.to_preset().graph.nodes["ghost"].params == {"strength": 3}
    with pytest.raises(ParamError):
        doc.set_param("ghost", "strength", 4)


def test_the_runnable_part_idles_incomplete_nodes_and_their_downstream(registry):
    doc = chain(registry)
    lonely = doc.add_node("test.gain")
    add = doc.add_node("test.add")
    doc.connect(Endpoint("counter", "value"), Endpoint(add, "a"))
    doc.connect(Endpoint(lonely, "value"), Endpoint(add, "b"))  # optional input from an idle node
    after = doc.add_node("test.sink")
    doc.connect(Endpoint(lonely, "value"), Endpoint(after, "value"))
    doc.graph.add(NodeSpec("ghost", "plugin.ghost"))
    part, idle = runnable_part(doc.graph, registry)
    assert idle == {lonely: "input value not connected", after: f"waits for '{lonely}'",
                    "ghost": "'plugin.ghost' is not installed (params kept)"}
    assert set(part.nodes) == {"counter", "gain", "sink", add}


def test_a_long_failure_is_cut_short_on_its_node_and_says_where_the_rest_is():
    """A node's badge grew with its failure's text and covered the nodes below it; the status bar and the
    message log keep the whole of it."""
    from app.editor.canvas import BADGE_CHARS, badge_text

    assert badge_text("error: no file set") == "error: no file set"
    missing = "error: applying path: '/tmp/" + "deep/" * 20 + "clip.mp4' not found (check the path)"
    shown = badge_text(missing)
    assert len(shown) <= BADGE_CHARS and shown.startswith("error: applying path: '/tmp/deep/")
    assert shown.endswith("(all of it: the message log, Ctrl+L)")
    words = "error: " + "the driver could not open its clip because " * 5
    assert words.startswith(badge_text(words).split(" ...")[0] + " ")  # cut between words where one is near
