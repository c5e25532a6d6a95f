"""Where outputs are written: folders checked before the first frame is rendered."""
from __future__ import annotations

from pathlib import Path

from app.runtime.errors import ReenactError


def prepare_output_dir(folder: Path) -> None:
    """Create the folder and prove it is writable now, not after the first rendered frame."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".reenact-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ReenactError(f"cannot write there: {exc.strerror}", where=str(folder),
                           hint="choose a folder you can write to (--set out.path=...)") from None
