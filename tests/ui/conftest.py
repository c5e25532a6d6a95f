"""The editor window the input tests drive (one per test module: dearpygui has one context per process,
and test_editor_window.py runs each module in its own process)."""
from __future__ import annotations

import dearpygui.dearpygui as dpg
import pytest

from app.editor.actions import Editor
from app.editor.window import EditorWindow
from nodes import default_registry


@pytest.fixture(scope="module")
def window(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        patch.setenv("REENACT_STATE_DIR", str(work / "state"))
        window = EditorWindow(Editor(default_registry(plugins=False)))
        dpg.set_viewport_pos([0, 0])  # no window manager under Xvfb: screen and viewport pixels agree
        yield window
        window.close()
