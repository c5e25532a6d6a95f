"""The built-in node families: one package per type prefix (a node `a.b` lives in `nodes/a/`).

Each family's `__init__` exports `NODES = [...]`; a family that introduces port types declares them
on its ports (see `nodes/track/types.py`). `default_registry` is how programs get the installed nodes.
"""
from __future__ import annotations

from app.runtime.registry import Registry

FAMILIES = ("capture", "track", "smooth", "retarget", "body", "target", "render", "refine", "output", "image", "util")


def default_registry(plugins: bool = True) -> Registry:
    """The built-in families, plus plugins of the `reenact.nodes` entry point group."""
    return Registry.from_modules([f"nodes.{family}" for family in FAMILIES], plugins=plugins)
