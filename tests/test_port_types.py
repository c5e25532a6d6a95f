"""Port types are open: a plugin registers its own type and nodes that use it, presets link them,
and the validator and the editor's link check refuse mismatches with the same words."""
from __future__ import annotations

import json

import pytest

from app.editor.document import Document
from app.presets import load_preset
from app.runtime import ports
from app.runtime.errors import GraphError, ProblemsError
from app.runtime.graph import Endpoint
from app.runtime.ports import PortType
from app.runtime.scheduler import Scheduler
from nodes import default_registry
from tests.plugins.heat import HEAT


@pytest.fixture
def registry():
    registry = default_registry(plugins=False)
    registry.load_module("tests.plugins.heat")
    assert not registry.problems
    return registry


def write_preset(tmp_path, links):
    doc = {"format": "reenact-studio/graph", "format_version": 1, "meta": {"name": "heat"},
           "nodes": [{"id": "source", "type": "heat.source", "params": {"celsius": 37.5}},
                     {"id": "gauge", "type": "heat.gauge"},
                     {"id": "scale", "type": "util.scale", "params": {"gain": 2.0}}],
           "links": links}
    path = tmp_path / "heat.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_plugin_port_type_is_registered_linked_in_a_preset_and_carries_values(registry, tmp_path):
    assert registry.port_types.get("Heat") is HEAT and "FaceTrack" in registry.port_types.tags()
    path = write_preset(tmp_path, [{"from": ["source", "heat"], "to": ["gauge", "heat"]},
                                   {"from": ["gauge", "celsius"], "to": ["scale", "value"]}])
    preset = load_preset(path, registry)
    assert preset.problems == []
    scheduler = Scheduler(preset.graph, registry)
    scheduler.open()
    assert scheduler.step() == []
    assert scheduler.output("scale", "value") == 75.0
    assert HEAT.describe(scheduler.output("source", "heat")) == "37.5 °C"
    scheduler.close()


def test_a_link_between_different_types_is_refused_in_presets_and_in_the_editor(registry, tmp_path):
    path = write_preset(tmp_path, [{"from": ["source", "heat"], "to": ["scale", "value"]}])
    with pytest.raises(ProblemsError) as refused:  # the editor could not run it either
        load_preset(path, registry)
    assert "links[0]: source.heat gives Heat but scale.value takes Float" in map(str, refused.value.problems)
    doc = Document(registry)
    source, scale = doc.add_node("heat.source"), doc.add_node("util.scale")
    with pytest.raises(GraphError, match="gives Heat but .* takes Float"):
        doc.connect(Endpoint(source, "heat"), Endpoint(scale, "value"))


def test_a_second_type_with_a_taken_tag_is_refused_and_reported(registry):
    impostor = PortType("Heat", (float,), (0, 0, 0))
    registry.register_port_type(impostor, "impostor-plugin")
    assert registry.port_types.get("Heat") is HEAT
    assert "impostor-plugin" in str(registry.problems[-1]) and "already registered" in str(registry.problems[-1])
    assert registry.port_types.register(ports.IMAGE) is None  # the same type again is fine
