"""Presets: round trip, migration, and every kind of bad preset with a clear, located message."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from app.cli import main
from app.presets import MAX_PRESET_BYTES, dumps_preset, load_preset, save_preset
from app.runtime.errors import ProblemsError
from tests.conftest import REPO

GOLDEN = Path(__file__).parent / "golden"

GOOD = {
    "format": "reenact-studio/graph", "format_version": 1,
    "meta": {"name": "t", "description": "d"},
    "nodes": [
        {"id": "src", "type": "util.number", "type_version": 1, "params": {"value": 1.5}, "note": "mine"},
        {"id": "g", "type": "util.scale", "type_version": 1, "params": {"gain": 2.0}},
        {"id": "img", "type": "capture.image", "type_version": 1, "params": {"path": "portraits/astronaut.png"}},
        {"id": "out", "type": "output.images", "type_version": 1, "params": {"path": "renders/x"}},
    ],
    "links": [{"from": ["src", "value"], "to": ["g", "value"]},
              {"from": ["img", "image"], "to": ["out", "image"]}],
    "ui": {"nodes": {"src": {"pos": [1, 2]}}, "zoom": 1.25},
    "x-future": [1, 2, 3],
}


def write(tmp_path: Path, doc, name="p.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1))
    return path


def bad(mutate):
    doc = copy.deepcopy(GOOD)
    mutate(doc)
    return doc


def test_save_load_save_is_byte_identical_and_keeps_unknown_keys(tmp_path, studio_registry):
    first = load_preset(write(tmp_path, GOOD), studio_registry)
    assert first.runnable, first.problems
    saved = tmp_path / "saved.json"
    save_preset(first, saved)
    second = load_preset(saved, studio_registry)
    again = tmp_path / "again.json"
    save_preset(second, again)
    assert saved.read_bytes() == again.read_bytes()
    doc = json.loads(again.read_text())
    assert doc["ui"] == GOOD["ui"] and doc["x-future"] == [1, 2, 3]
    assert doc["nodes"][0]["note"] == "mine"


def test_v0_migrates_to_v1_like_the_golden_file(studio_registry):
    preset = load_preset(GOLDEN / "v0_graph.json", studio_registry)
    assert preset.migrated_from == 0 and preset.runnable, preset.problems
    assert dumps_preset(preset) == (GOLDEN / "v0_graph.migrated.json").read_text()


def test_every_shipped_preset_is_valid(studio_registry):
    presets = sorted((REPO / "graphs").glob("*.json"))
    assert presets
    for path in presets:
        preset = load_preset(path, studio_registry)
        assert preset.runnable, (path, preset.problems)
        assert preset.graph.meta.get("name") and preset.graph.meta.get("description"), path


def v0(edges, nodes=({"id": "src", "type": "util.number"},)):
    """A format_version 0 preset (links were `edges` of "node.port" strings)."""
    return {"format": "reenact-studio/graph", "format_version": 0, "nodes": list(nodes), "edges": edges}


BAD_PRESETS = {
    "malformed_json": ('{"format": "reenact-studio/graph",\n  "nodes": [}', "line 2, column 13: malformed JSON"),
    "unknown_node_type": (bad(lambda d: d["nodes"][1].update(type="fx.teleport")),
                          "nodes[1].type: unknown node type 'fx.teleport'"),
    "unknown_param": (bad(lambda d: d["nodes"][1]["params"].update(gian=1.0)),
                      "nodes[1].params.gian: unknown param of util.scale"),
    "wrong_param_type": (bad(lambda d: d["nodes"][1]["params"].update(gain="loud")),
                         "nodes[1].params.gain: 'loud' is not a number"),
    "out_of_range": (bad(lambda d: d["nodes"][1]["params"].update(gain=7e6)),
                     "nodes[1].params.gain: 7000000.0 is above the maximum 1000000.0"),
    "dangling_link": (bad(lambda d: d["links"].append({"from": ["ghost", "value"], "to": ["g", "value"]})),
                      "links[2].from: node 'ghost' does not exist"),
    "mismatched_ports": (bad(lambda d: d["links"].append({"from": ["img", "image"], "to": ["g", "value"]})),
                         "links[2]: img.image gives Image but g.value takes Float"),
    "duplicate_id": (bad(lambda d: d["nodes"].append({"id": "g", "type": "util.number"})),
                     "nodes[4].id: duplicate node id 'g'"),
    "cycle": (bad(lambda d: d["nodes"].append({"id": "g2", "type": "util.scale"}) or d["links"].extend(
        [{"from": ["g", "value"], "to": ["g2", "value"]}, {"from": ["g2", "value"], "to": ["g", "value"]}])),
        "cycle through nodes g -> g2 -> g"),
    "newer_format": (bad(lambda d: d.update(format_version=9)),
                     "format_version: 9 is newer than this Reenact Studio understands (1); upgrade"),
    "asset_escapes": (bad(lambda d: d["nodes"][2]["params"].update(path="../../../etc/passwd")),
                      "nodes[2].params.path: '../../../etc/passwd' escapes the preset's folder and assets/"),
    "absolute_asset": (bad(lambda d: d["nodes"][2]["params"].update(path="/etc/passwd")),
                       "nodes[2].params.path: '/etc/passwd' is an absolute path"),
    "output_escapes": (bad(lambda d: d["nodes"][3]["params"].update(path="../../x")),
                       "nodes[3].params.path: '../../x' must be a relative path without '..'"),
    "nan_value": ('{"format": "reenact-studio/graph", "format_version": 1, "nodes": [{"id": "a", '
                  '"type": "util.number", "params": {"value": NaN}}]}', "NaN is not allowed"),
    "not_a_graph": ({"format": "something-else"}, "format: is 'something-else'"),
    "unconnected_input": (bad(lambda d: d["links"].pop(0)), "input 'value' of 'g' (util.scale) is not connected"),
    "v0_edge_not_an_object": (v0(["src.value"]), 'links[0]: must be {"from": [node, port]'),
    "v0_edge_end_not_text": (v0([{"from": 3, "to": "src.value"}]), 'links[0]: must be {"from": [node, port]'),
    "v0_edge_end_missing": (v0([{"from": "src.value"}]), 'links[0]: must be {"from": [node, port]'),
    "v0_edge_end_without_port": (v0([{"from": "src", "to": "src.value"}]), 'links[0]: must be {"from"'),
    "v0_edges_not_a_list": (v0({"from": "src.value"}), "links: must be a list of links"),
    "v0_node_not_an_object": (v0([], nodes=[3]), "nodes[0]: must be an object"),
    "nested_900_deep": ('{"format": "reenact-studio/graph", "format_version": 1, "nodes": [], "meta": {"x": '
                        + "[" * 900 + "]" * 900 + "}}", "values nested more than 32 levels deep"),
    "nested_beyond_the_decoder": ('{"format": "reenact-studio/graph", "format_version": 1, "nodes": [], "meta": '
                                  '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}}",
                                  "values nested more than 32 levels deep"),  # was "maximum recursion depth exceeded"
    "control_character_in_id": (bad(lambda d: d["nodes"][0].update(id="sr\u0000c")),
                                "nodes[0].id: must be a non-empty string of printable characters"),
}


@pytest.mark.parametrize("name", sorted(BAD_PRESETS))
def test_bad_preset_gets_a_located_message_and_exit_2(name, tmp_path, capsys):
    doc, expected = BAD_PRESETS[name]
    path = write(tmp_path, doc)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err


def test_a_broken_v0_preset_does_not_stop_validating_the_others(tmp_path, capsys):
    broken, good = write(tmp_path, v0([{"from": 3}]), "broken.json"), write(tmp_path, GOOD, "good.json")
    assert main(["validate", str(broken), str(good)]) == 2
    captured = capsys.readouterr()
    assert "broken.json: invalid" in captured.err and "good.json: valid" in captured.out
    assert "Traceback" not in captured.err


def test_oversized_file_is_refused_before_parsing(tmp_path, capsys):
    path = tmp_path / "huge.json"
    path.write_bytes(b"[" + b" " * (MAX_PRESET_BYTES + 1))  # would be malformed if it were parsed
    assert main(["validate", str(path)]) == 2
    assert "over the preset limit" in capsys.readouterr().err


def test_all_problems_are_reported_at_once(tmp_path, studio_registry):
    def mutate(doc):
        doc["nodes"][1]["params"]["gain"] = "x"
        doc["nodes"][0]["params"]["value"] = 5e9
        doc["links"].append({"from": ["nope", "value"], "to": ["g", "value"]})

    with pytest.raises(ProblemsError) as refused:  # a link to no node: the file is refused, saying everything
        load_preset(write(tmp_path, bad(mutate)), studio_registry)
    wheres = [p.where for p in refused.value.problems]
    assert wheres[0] == "links[2].from" and {"nodes[1].params.gain", "nodes[0].params.value"} <= set(wheres)


def test_unknown_types_load_with_params_kept_but_are_not_runnable(tmp_path, studio_registry):
    doc = bad(lambda d: d["nodes"].append({"id": "plug", "type": "acme.glow", "params": {"radius": 3}}))
    preset = load_preset(write(tmp_path, doc), studio_registry)
    assert preset.missing_types == ["acme.glow"] and not preset.runnable
    assert preset.graph.nodes["plug"].params == {"radius": 3}
    save_preset(preset, tmp_path / "kept.json")
    assert json.loads((tmp_path / "kept.json").read_text())["nodes"][4]["params"] == {"radius": 3}


def test_structurally_broken_preset_raises_with_every_problem(tmp_path, studio_registry):
    doc = {"format": "reenact-studio/graph", "format_version": 1,
           "nodes": [{"type": "util.number"}, {"id": "a", "type": 3}], "links": [{"from": "a"}]}
    with pytest.raises(ProblemsError) as info:
        load_preset(write(tmp_path, doc), studio_registry)
    assert [p.where for p in info.value.problems] == ["nodes[0].id", "nodes[1].type", "links[0]"]


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path, studio_registry):
    preset = load_preset(write(tmp_path, GOOD), studio_registry)
    save_preset(preset, tmp_path / "out" / "p.json")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["p.json"]


def test_a_saved_preset_has_a_normal_file_mode_and_keeps_its_own(tmp_path, studio_registry):
    import os
    import stat

    preset = load_preset(write(tmp_path, GOOD), studio_registry)
    umask = os.umask(0o022)
    try:
        save_preset(preset, tmp_path / "new.json")  # not the temporary file's private 0600
        assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644
        os.chmod(tmp_path / "new.json", 0o640)
        save_preset(preset, tmp_path / "new.json")
        assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o640
    finally:
        os.umask(umask)


def test_older_node_type_version_upgrades_its_params(tmp_path, registry):
    """A node type at version 2 renamed a param; a preset saved with version 1 loads upgraded."""
    from app.presets import parse_preset
    from app.runtime.schema import NodeSchema, Param, ParamKind
    from tests.conftest import Constant

    class Renamed(Constant):
        schema = NodeSchema("test.renamed", "Renamed", "test", "v2 renamed 'amount' to 'value'",
                            outputs=Constant.schema.outputs, type_version=2,
                            params=(Param("value", ParamKind.FLOAT, 1.0, "the value"),))

        @classmethod
        def upgrade_params(cls, from_version, params):
            return {("value" if k == "amount" else k): v for k, v in params.items()}

    registry.register(Renamed)
    doc = {"format": "reenact-studio/graph", "format_version": 1,
           "nodes": [{"id": "r", "type": "test.renamed", "type_version": 1, "params": {"amount": 4}}]}
    preset = parse_preset(json.dumps(doc), registry)
    assert preset.runnable, preset.problems
    spec = preset.graph.nodes["r"]
    assert (spec.type_version, spec.params) == (2, {"value": 4.0})
    doc["nodes"][0]["type_version"] = 3
    assert "newer than the installed version 2" in str(parse_preset(json.dumps(doc), registry).problems[0])


@pytest.mark.parametrize("path, kind", [("assets/portraits/astronaut.png", "an image (PNG)"),
                                        ("tests/data/real/smile_teeth.jpg", "an image (JPEG)"),
                                        ("tests/data/real/single_face.mp4", "a video (MP4/MOV)")])
def test_a_picture_or_clip_given_as_the_preset_is_named_for_what_it_is(studio_registry, path, kind):
    """It was refused as 'not UTF-8 text (byte 0)', which does not tell a user they passed their portrait."""
    with pytest.raises(ProblemsError) as info:
        load_preset(REPO / path, studio_registry)
    assert f"this is {kind}, not a preset" in info.value.message and "target.path" in info.value.message


def test_other_binary_files_are_still_refused_as_not_text(studio_registry, tmp_path):
    (tmp_path / "noise.bin").write_bytes(bytes([0x80, 0x81, 0xfe]) * 8)
    with pytest.raises(ProblemsError) as info:
        load_preset(tmp_path / "noise.bin", studio_registry)
    assert "not UTF-8 text (byte 0)" in info.value.message


@pytest.mark.parametrize("head, kind", [(b"\x00\x00\x00\x1cftypavif", "an image (AVIF)"),
                                        (b"\x00\x00\x00\x20ftypM4A ", "a sound file (M4A)"),
                                        (b"\xff\xd8\xff\xe1" + bytes(MAX_PRESET_BYTES), "an image (JPEG)")],
                         ids=["avif", "m4a", "phone-photo-over-the-size-limit"])
def test_a_media_file_is_named_by_its_first_bytes_before_its_size_is_judged(studio_registry, tmp_path, head, kind):
    (tmp_path / "given.json").write_bytes(head + b"\x80" * 64)
    with pytest.raises(ProblemsError) as info:
        load_preset(tmp_path / "given.json", studio_registry)
    assert f"this is {kind}, not a preset" in info.value.message


def test_a_preset_saved_with_a_byte_order_mark_loads_and_utf16_or_empty_ones_say_what_to_do(studio_registry, tmp_path):
    demo = (REPO / "graphs" / "demo.json").read_text()
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + demo.encode())
    assert not load_preset(tmp_path / "bom.json", studio_registry).problems
    (tmp_path / "wide.json").write_bytes(demo.encode("utf-16"))
    (tmp_path / "empty.json").write_bytes(b"\n")
    for name, says in (("wide.json", "saved as UTF-16 text: save it as UTF-8"), ("empty.json", "the file is empty")):
        with pytest.raises(ProblemsError) as info:
            load_preset(tmp_path / name, studio_registry)
        assert says in info.value.message
