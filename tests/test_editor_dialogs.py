"""What the editor makes of what the user types and picks, headless: the file dialog's listing and the names
typed into it, numbers typed into fields (the inspector's, the render dialog's), a float field's value, and
what a node's right-click menu acts on."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.editor.actions import preset_file
from app.editor.add_menu import acted_on
from app.editor.dialogs import PRESETS
from app.editor.document import Document
from app.editor.file_browser import (EVERY_FILE, UP, Filter, chosen_file, listing, shows_hidden, typed_choice,
                                     typed_path)
from app.editor.render_job import render_frames
from app.runtime.errors import ParamError, ReenactError
from nodes import default_registry


def labels(folder: Path, shown: Filter = EVERY_FILE, hidden: bool = False) -> list[str]:
    return [entry.label for entry in listing(folder, shown, hidden)]


def test_a_folder_lists_up_first_then_folders_then_files_by_name_whatever_its_case(tmp_path):
    """dearpygui's dialog listed 'zeta/, Z.json, real.json, beta/, b.json, Alpha/, ..., ..' (no order a user
    could use, '..' last) and every hidden entry."""
    for folder in ("zeta", "Alpha", "beta", ".git"):
        (tmp_path / folder).mkdir()
    for name in ("b.json", "Z.json", "A.json", "a2.json", "c.JSON", "notes.txt", ".hidden.json"):
        (tmp_path / name).write_text("{}")
    assert labels(tmp_path) == [UP, "Alpha/", "beta/", "zeta/", "A.json", "a2.json", "b.json", "c.JSON",
                                "notes.txt", "Z.json"]
    assert labels(tmp_path, PRESETS) == [UP, "Alpha/", "beta/", "zeta/", "A.json", "a2.json", "b.json", "c.JSON",
                                         "Z.json"]
    assert labels(tmp_path, PRESETS, hidden=True)[:3] == [UP, ".git/", "Alpha/"]
    assert ".hidden.json" in labels(tmp_path, PRESETS, hidden=True)
    assert UP not in labels(Path("/"))  # nothing above the root


def test_a_folder_that_cannot_be_listed_is_said(tmp_path):
    with pytest.raises(ReenactError, match=f"cannot list {tmp_path / 'gone'}"):
        listing(tmp_path / "gone", EVERY_FILE)


def test_a_name_typed_is_used_as_typed_in_full_or_in_the_listed_folder():
    folder = Path("/home/me/graphs")
    assert typed_path(folder, "/tmp/qa/nowhere/x") == Path("/tmp/qa/nowhere/x")
    assert typed_path(folder, " sub/x.json ") == folder / "sub" / "x.json"
    assert typed_path(folder, "~/x") == Path.home() / "x"


def test_a_name_typed_in_a_folder_with_a_dot_keeps_the_folders_name(tmp_path):
    """'/tmp/my.graphs/a' typed into File > Open became /tmp/my.json ('cannot read the file')."""
    folder = tmp_path / "my.graphs"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    assert chosen_file(folder / "a", PRESETS, must_exist=True) == folder / "a.json"
    assert chosen_file(folder / "a.json", PRESETS, must_exist=True) == folder / "a.json"
    assert chosen_file(folder / "a", PRESETS, must_exist=False) == folder / "a"  # Save As adds .json itself
    assert chosen_file(folder / "a", EVERY_FILE, must_exist=True) == folder / "a"  # said missing by the dialog


def test_a_name_the_system_refuses_is_said_not_raised(tmp_path, monkeypatch):
    """Each of these, typed and OK'd, had ended the editor with a traceback (unsaved changes gone)."""
    with pytest.raises(ReenactError, match="^there is no user 'nosuchuser' "):
        typed_path(tmp_path, "~nosuchuser/x.json")
    with pytest.raises(ReenactError, match="File name too long"):
        typed_choice(tmp_path, "a" * 300, PRESETS, must_exist=False)
    (tmp_path / "locked").mkdir()
    real_is_dir = Path.is_dir

    def is_dir(path: Path) -> bool:  # a folder the user may not look into (root may look into any)
        if path.parent.name == "locked":
            raise PermissionError(13, "Permission denied")
        return real_is_dir(path)

    monkeypatch.setattr(Path, "is_dir", is_dir)
    with pytest.raises(ReenactError, match=f"^cannot use {tmp_path / 'locked' / 'x'}: Permission denied$"):
        typed_choice(tmp_path, "locked/x", PRESETS, must_exist=True)


def test_ok_opens_a_folder_typed_takes_a_file_and_says_what_is_not_there(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.json").write_text("{}")
    assert typed_choice(tmp_path, "sub/", PRESETS, must_exist=True) == tmp_path / "sub"
    assert typed_choice(tmp_path, "..", PRESETS, must_exist=True) == tmp_path / ".."
    assert typed_choice(tmp_path, "a", PRESETS, must_exist=True) == tmp_path / "a.json"
    assert typed_choice(tmp_path, "new", PRESETS, must_exist=False) == tmp_path / "new"
    with pytest.raises(ReenactError, match=f"^there is no file {tmp_path / 'b'}$"):
        typed_choice(tmp_path, "b", PRESETS, must_exist=True)
    with pytest.raises(ReenactError, match=f"^there is no folder {tmp_path / 'gone'}$"):
        typed_choice(tmp_path, "gone/b", PRESETS, must_exist=True)
    # a folder typed that is not there: Save As had saved gone.json beside it
    with pytest.raises(ReenactError, match=f"^there is no folder {tmp_path / 'gone'}$"):
        typed_choice(tmp_path, "gone/", PRESETS, must_exist=False)


def test_hidden_entries_show_while_the_name_typed_starts_with_a_dot():
    assert shows_hidden(".config") and shows_hidden(" .") and not shows_hidden("..")
    assert not shows_hidden("../x") and not shows_hidden("") and not shows_hidden("a.json")


def test_save_as_keeps_the_dots_of_the_name_chosen():
    """'take.v2' typed into Save As was saved as take.json (the '.v2' taken for an extension and replaced)."""
    assert preset_file(Path("/g/take.v2")) == Path("/g/take.v2.json")
    assert preset_file(Path("/g/my.graphs/a")) == Path("/g/my.graphs/a.json")
    assert preset_file(Path("/g/a.json")) == Path("/g/a.json")


@pytest.fixture(scope="module")
def resize_doc():
    doc = Document(default_registry(plugins=False))
    doc.add_node("image.resize")
    return doc


@pytest.mark.parametrize("typed, says", [
    ("8q9", "resize.width: '8q9' is not a number"),  # dearpygui's field took it as 8, silently
    ("99999999999999999999", "resize.width: 99999999999999999999 is above the maximum 8192"),  # had wrapped to -1
    ("12.5", "resize.width: 12.5 is not an integer (an int param needs a whole number)"),
    ("", "resize.width: '' is not a number")])
def test_a_number_typed_into_a_field_is_read_whole_and_refused_with_why(resize_doc, typed, says):
    with pytest.raises(ParamError) as refused:
        resize_doc.set_param("resize", "width", typed, from_text=True)
    assert refused.value.message == says
    assert resize_doc.graph.nodes["resize"].params["width"] != typed


def test_a_number_typed_into_a_field_is_set_as_the_param_takes_it(resize_doc):
    assert resize_doc.set_param("resize", "width", "1e3", from_text=True) == 1000
    assert resize_doc.set_param("resize", "width", "640", from_text=True) == 640


@pytest.mark.parametrize("typed, says", [
    ("99999999999999999999", "frames to render: 99999999999999999999 is above the maximum 1000000"),
    ("4294967296", "frames to render: 4294967296 is above the maximum 1000000"),  # had been taken as 0
    ("12x", "frames to render: '12x' is not a number"),
    ("0", "frames to render: 0 is below the minimum 1")])
def test_the_render_frame_count_is_refused_above_a_sane_maximum_and_says_why(typed, says):
    with pytest.raises(ParamError) as refused:
        render_frames(typed)
    assert refused.value.message == says


def test_the_render_frame_count_takes_a_whole_number():
    assert render_frames(" 240 ") == 240 and render_frames(300) == 300


def test_a_float_field_stores_the_value_as_typed_not_its_single_precision_neighbour():
    """dearpygui keeps floats in single precision: 1.634 typed came back, and was saved, as 1.6339999437332153."""
    import numpy as np

    from app.editor.inspector import _as_typed

    for typed in (1.634, 0.1, 123456.7, -2.5e-05):
        assert _as_typed(float(np.float32(typed))) == typed


def test_an_int_sliders_number_is_checked_whole_not_wrapped_or_rounded():
    """dearpygui read 99999999999999999999 typed into an int widget as -1 ("below the minimum"), 4294967296 as 0
    (taken); an int slider holds a double, and the number it holds is checked as it is."""
    from app.editor.inspector import _param_value
    from app.runtime.schema import Param, ParamKind

    param = Param("size", ParamKind.INT, 512, "side", minimum=16, maximum=4096)
    for typed, says in ((1e20, "100000000000000000000"), (4294967296.0, "4294967296")):
        with pytest.raises(ReenactError, match=f"^{says} is above the maximum 4096$"):
            param.coerce(_param_value(param, typed))
    assert param.coerce(_param_value(param, 64.0)) == 64


def test_a_nodes_menu_acts_on_the_selection_it_is_part_of_else_on_the_node_alone():
    assert acted_on("b", ["a", "b"]) == ["a", "b"]
    assert acted_on("c", ["a", "b"]) == ["c"]
    assert acted_on("a", []) == ["a"]


def test_a_path_params_picker_shows_the_files_its_node_reads_first():
    """The portrait's picker offered only "All files (*)"."""
    from app.editor.inspector import file_filters
    from nodes import default_registry

    registry = default_registry(plugins=False)
    image = file_filters(registry.require("capture.image").schema.params[0])
    assert [f.label for f in image][:1] == ["Images or videos"] and image[0].takes("me.HEIC") and \
        image[0].takes("clip.mp4") and not image[0].takes("notes.txt")
    assert image[1].label.startswith("Images (*.png *.jpg") and not image[1].takes("clip.mp4")
    weights = file_filters(registry.require("refine.neural").schema.params[0])
    assert [f.label for f in weights] == ["Refiner weights (*.safetensors)"]
