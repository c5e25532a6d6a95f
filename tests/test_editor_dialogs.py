"""What the editor makes of what dearpygui gives it: a file dialog's answer (as dearpygui 2.3 gives
it), a float field's value. Headless."""
from __future__ import annotations

from pathlib import Path

import pytest

from app.editor.dialogs import chosen_path, dialog_path
from app.runtime.errors import ReenactError


def answer(name: str, current_filter: str, selections: dict[str, str], folder: str = "/work") -> dict:
    """As dearpygui answers: `file_path_name` is the dialog's folder, '/' and the name, even one typed in full."""
    return {"file_path_name": f"{folder}/{name}", "file_name": name, "current_path": folder,
            "current_filter": current_filter, "selections": selections}


def test_a_file_clicked_while_every_file_shows_keeps_its_extension():
    assert chosen_path(answer("grace_hopper.*", ".*", {"grace_hopper.jpg": "/work/grace_hopper.jpg"})) \
        == "/work/grace_hopper.jpg"


def test_under_an_extension_filter_the_reported_path_is_the_file():
    assert chosen_path(answer("demo.json", ".json", {"demo.json": "/work/demo.json"})) == "/work/demo.json"
    assert chosen_path(answer("typed.json", ".json", {})) == "/work/typed.json"


def test_a_path_typed_in_full_is_used_as_typed_and_a_partial_one_is_in_the_dialogs_folder():
    """'/tmp/qa/nonexistent_dir/x' typed into Save As went to <folder>/tmp/qa/nonexistent_dir/x.json."""
    typed = answer("/tmp/qa/nonexistent_dir/x.json", "Graph presets (.json)", {}, folder="/home/me/graphs")
    assert typed["file_path_name"] == "/home/me/graphs//tmp/qa/nonexistent_dir/x.json"  # what dearpygui says
    assert dialog_path(typed) == Path("/tmp/qa/nonexistent_dir/x.json")
    assert dialog_path(answer("sub/x", "Graph presets (.json)", {}, folder="/home/me")) == Path("/home/me/sub/x")
    assert chosen_path(answer("/elsewhere/demo.json", ".json", {})) == "/elsewhere/demo.json"


def test_a_file_typed_in_full_while_every_file_shows_is_the_one_file_of_that_name(tmp_path):
    """The dialog reports 'single_face.*' for '.../single_face.png' typed: the file was refused, nothing set."""
    (tmp_path / "single_face.png").write_bytes(b"png")
    (tmp_path / "single_face.d").mkdir()  # a folder of the name is not a file to pick
    clicked_elsewhere = {"single_face.jpg": "/work/single_face.jpg"}  # clicked in the dialog's folder, then typed
    picked = str(tmp_path / "single_face.png")
    assert chosen_path(answer(f"{tmp_path}/single_face.*", ".*", clicked_elsewhere)) == picked
    assert chosen_path(answer("single_face.*", ".*", {}, folder=str(tmp_path))) == picked


@pytest.mark.parametrize("files, says", [((), "no file named me in"),
                                         (("me.jpg", "me.png"), r"2 files in .* are named me \(me.jpg, me.png\)")])
def test_a_name_typed_while_every_file_shows_is_refused_where_no_one_file_has_it(tmp_path, files, says):
    for name in (*files, "other.png"):
        (tmp_path / name).write_bytes(b"picture")
    with pytest.raises(ReenactError, match=says) as refused:
        chosen_path(answer("me.*", ".*", {"other.png": str(tmp_path / "other.png")}, folder=str(tmp_path)))
    assert "in the list" in refused.value.message


def test_a_name_typed_into_a_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(ReenactError, match=f"there is no folder {tmp_path / 'nowhere'}"):
        chosen_path(answer(f"{tmp_path}/nowhere/me.*", ".*", {}))


def test_a_float_field_stores_the_value_as_typed_not_its_single_precision_neighbour():
    """dearpygui keeps floats in single precision: 1.634 typed came back, and was saved, as 1.6339999437332153."""
    import numpy as np

    from app.editor.inspector import _as_typed

    for typed in (1.634, 0.1, 123456.7, -2.5e-05):
        assert _as_typed(float(np.float32(typed))) == typed


def test_an_int_fields_number_is_checked_whole_not_wrapped_or_rounded():
    """dearpygui read 99999999999999999999 typed into an int field as -1 ("below the minimum"), 4294967296 as 0
    (taken); an int param's field holds a double now, and the number it holds is checked as it is."""
    from app.editor.inspector import _param_value
    from app.runtime.schema import Param, ParamKind

    param = Param("max_side", ParamKind.INT, 2048, "longest side", minimum=16, maximum=8192)
    for typed, says in ((1e20, "100000000000000000000"), (4294967296.0, "4294967296")):
        with pytest.raises(ReenactError, match=f"^{says} is above the maximum 8192$"):
            param.coerce(_param_value(param, typed))
    assert param.coerce(_param_value(param, 64.0)) == 64
