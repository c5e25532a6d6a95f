"""What the editor makes of what dearpygui gives it: a file dialog's answer (as dearpygui 2.3 gives
it), a float field's value. Headless."""
from __future__ import annotations

import pytest

from app.editor.dialogs import chosen_path
from app.runtime.errors import ReenactError


def answer(name: str, current_filter: str, selections: dict[str, str]) -> dict:
    return {"file_path_name": f"/work/{name}", "file_name": name, "current_path": "/work",
            "current_filter": current_filter, "selections": selections}


def test_a_file_clicked_while_every_file_shows_keeps_its_extension():
    assert chosen_path(answer("grace_hopper.*", ".*", {"grace_hopper.jpg": "/work/grace_hopper.jpg"})) \
        == "/work/grace_hopper.jpg"


def test_under_an_extension_filter_the_reported_path_is_the_file():
    assert chosen_path(answer("demo.json", ".json", {"demo.json": "/work/demo.json"})) == "/work/demo.json"
    assert chosen_path(answer("typed.json", ".json", {})) == "/work/typed.json"


@pytest.mark.parametrize("selections", [{}, {"other.png": "/work/other.png"}])
def test_a_name_typed_while_every_file_shows_is_refused_not_guessed(selections):
    with pytest.raises(ReenactError, match="click the file in the list"):
        chosen_path(answer("me.*", ".*", selections))


def test_a_float_field_stores_the_value_as_typed_not_its_single_precision_neighbour():
    """dearpygui keeps floats in single precision: 1.634 typed came back, and was saved, as 1.6339999437332153."""
    import numpy as np

    from app.editor.inspector import _as_typed

    for typed in (1.634, 0.1, 123456.7, -2.5e-05):
        assert _as_typed(float(np.float32(typed))) == typed
