"""Where the editor keeps its own state: recent files and autosaves.

$REENACT_STATE_DIR, else $XDG_STATE_HOME/reenact-studio, else ~/.local/state/reenact-studio.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

RECENT_LIMIT = 10


def state_dir() -> Path:
    explicit = os.environ.get("REENACT_STATE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base) / "reenact-studio"


def autosave_path(preset_path: Path | None) -> Path:
    """One autosave per preset file (keyed by its absolute path), one for untitled graphs."""
    if preset_path is None:
        return state_dir() / "autosave" / "untitled.json"
    key = hashlib.sha1(str(preset_path.resolve()).encode()).hexdigest()[:10]
    return state_dir() / "autosave" / f"{preset_path.stem}-{key}.json"


def newer_autosave(preset_path: Path | None) -> Path | None:
    """The autosave of `preset_path` when it holds changes made after the file was last saved."""
    candidate = autosave_path(preset_path)
    if not candidate.exists():
        return None
    if preset_path is not None and preset_path.exists() and \
            candidate.stat().st_mtime <= preset_path.stat().st_mtime:
        return None
    return candidate


def recent_files() -> list[Path]:
    try:
        entries = json.loads((state_dir() / "recent.json").read_text())
    except (OSError, ValueError):
        return []  # none yet, or unreadable: recent files are a convenience, not data
    return [Path(p) for p in entries if isinstance(p, str)][:RECENT_LIMIT] if isinstance(entries, list) else []


def remember_recent(path: Path) -> list[Path]:
    entries = [path.resolve()] + [p for p in recent_files() if p != path.resolve()]
    entries = entries[:RECENT_LIMIT]
    target = state_dir() / "recent.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps([str(p) for p in entries], indent=1))
    except OSError:
        pass  # a read-only home must not stop the user from working
    return entries
