"""Where the editor keeps its own state: recent files and autosaves, under the options' state folder
($REENACT_STATE_DIR, else $XDG_STATE_HOME/reenact-studio, else ~/.local/state/reenact-studio)."""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

RECENT_LIMIT = 10


@dataclass(frozen=True)
class EditorStorage:
    state_dir: Path

    def autosave_path(self, preset_path: Path | None) -> Path:
        """One autosave per preset file (keyed by its absolute path), one for untitled graphs."""
        if preset_path is None:
            return self.state_dir / "autosave" / "untitled.json"
        key = hashlib.sha1(str(preset_path.resolve()).encode()).hexdigest()[:10]
        return self.state_dir / "autosave" / f"{preset_path.stem}-{key}.json"


    def newer_autosave(self, preset_path: Path | None) -> Path | None:
        """The autosave of `preset_path` when it holds changes made after the file was last saved."""
        candidate = self.autosave_path(preset_path)
        if not candidate.exists():
            return None
        if preset_path is not None and preset_path.exists() and \
                candidate.stat().st_mtime <= preset_path.stat().st_mtime:
            return None
        return candidate


    def set_aside(self, autosave: Path) -> Path | None:
        """Move a damaged autosave out of the way (kept for the user, never read again); None if it
        cannot be moved."""
        kept = autosave.with_name(f"{autosave.stem}.damaged-{int(time.time())}.json")
        try:
            autosave.replace(kept)
        except OSError:
            return None
        return kept

    def recent_files(self) -> list[Path]:
        try:
            entries = json.loads((self.state_dir / "recent.json").read_text())
        except (OSError, ValueError):
            return []  # none yet, or unreadable: recent files are a convenience, not data
        return [Path(p) for p in entries if isinstance(p, str)][:RECENT_LIMIT] if isinstance(entries, list) else []


    def remember_recent(self, path: Path) -> list[Path]:
        entries = [path.resolve()] + [p for p in self.recent_files() if p != path.resolve()]
        entries = entries[:RECENT_LIMIT]
        target = self.state_dir / "recent.json"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps([str(p) for p in entries], indent=1))
        except OSError:
            pass  # a read-only home must not stop the user from working
        return entries
