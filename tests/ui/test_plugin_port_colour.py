"""The editor draws a plugin's port type in the colour the plugin registered (under Xvfb)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image as PILImage

from app.editor.actions import Editor
from app.editor.window import EditorWindow
from app.runtime.graph import Endpoint
from app.runtime.options import resolve
from nodes import default_registry

MAGENTA = np.array([255, 0, 255])


@pytest.fixture
def window(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    registry = default_registry(plugins=False)
    registry.load_module("tests.plugins.heat")
    options = resolve({**os.environ, "REENACT_STATE_DIR": str(tmp_path / "state")})
    window = EditorWindow(Editor(registry, options=options))
    yield window
    window.close()


def magenta_pixels(window, path) -> int:
    pixels = np.asarray(PILImage.open(window.screenshot(path)).convert("RGB")).astype(int)
    return int((np.abs(pixels - MAGENTA).sum(axis=2) < 40).sum())


def test_a_plugin_port_type_is_drawn_in_its_own_colour(window, tmp_path):
    preset = tmp_path / "heat.json"
    preset.write_text(json.dumps({
        "format": "reenact-studio/graph", "format_version": 1, "meta": {"name": "heat"},
        "nodes": [{"id": "source", "type": "heat.source"}, {"id": "gauge", "type": "heat.gauge"}],
        "links": [], "ui": {"nodes": {"source": {"pos": [40, 80]}, "gauge": {"pos": [420, 80]}}}}))
    window.editor.open(preset)
    for _ in range(5):
        window.frame()
    pins_only = magenta_pixels(window, tmp_path / "pins.png")
    window.editor.link(Endpoint("source", "heat"), Endpoint("gauge", "heat"))
    for _ in range(5):
        window.frame()
    with_link = magenta_pixels(window, tmp_path / "link.png")
    assert pins_only > 20  # the two Heat pins
    assert with_link > pins_only + 100  # and the link between them, in the same colour
