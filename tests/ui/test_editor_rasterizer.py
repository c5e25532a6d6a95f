"""The editor's own window draws in software GL too. Its own file (process): it makes the window's GL
context, which dearpygui makes once per process. Run by test_editor_window.py."""
from __future__ import annotations

import os

import dearpygui.dearpygui as dpg

import app.editor as editor_app
from app.runtime.options import resolve
from nodes import default_registry


def test_the_windows_own_software_gl_gets_the_runs_rasterizer_threads(tmp_path, monkeypatch):
    """llvmpipe sizes a context's worker pool from LP_NUM_THREADS as the context is made. Unset then (no
    run had started yet to set it), the window's got a thread a core, whose bursts took every core from
    the graph at once: it ran at 27-28 fps in the editor, 31-33 with the budget's threads (43-44 headless)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REENACT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LP_NUM_THREADS", raising=False)
    at_window = []
    setup = dpg.setup_dearpygui
    monkeypatch.setattr(dpg, "setup_dearpygui", lambda: at_window.append(os.environ.get("LP_NUM_THREADS")) or setup())
    options = resolve(editor=True)
    window = editor_app.open_window(default_registry(plugins=False), options, None, play=False)
    window.close()
    assert at_window == [str(options.threads.rasterizer)]
