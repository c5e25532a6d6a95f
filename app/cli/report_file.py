"""Report files (`--json`, `--sheet`): checked before the slow part of a command, so a wrong name never
costs a whole measurement, and written whole or not at all."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from app.runtime.errors import ReenactError
from nodes.output.folders import write_atomically


def file_problem(flag: str, value: str, example: str) -> str:
    """Why `value` cannot be written as a report (a folder, not a regular file, no folder can be made, no
    permission), or ''. Nothing is created: a missing folder is made only when there is something to write.
    example: a file name to suggest inside a folder given by mistake."""
    path = Path(value)
    if path.is_dir():
        return f"{flag} {value}: is a folder, not a file (name a file in it, e.g. {path / example})"
    if path.exists() and not path.is_file():
        return f"{flag} {value}: is not a regular file (name a new file)"
    where = _nearest_existing(path.parent)
    if not where.is_dir():
        return f"{flag} {value}: cannot make a folder there: {where} is a file (choose another folder)"
    if not os.access(where, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return f"{flag} {value}: cannot write there: permission denied in {where} (choose a folder you can write to)"
    return ""


def _nearest_existing(folder: Path) -> Path:
    folder = folder.expanduser().absolute()
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def write_whole(path: Path, write: Callable[[Path], None]) -> None:
    """write(partial) into a partial file renamed to `path` when complete; ReenactError when it cannot be
    written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, write)
    except OSError as exc:
        raise ReenactError(f"cannot write the report: {exc.strerror or exc}", where=str(path),
                           hint="the report above is complete; choose a place you can write to") from None
