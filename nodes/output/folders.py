"""Where outputs are written: folders checked before the first frame is rendered, files written whole."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Callable

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
                           hint="choose a folder you can write to") from None


def partial_path(target: Path) -> Path:
    """A hidden name beside `target` to write it under until it is complete, unique to this writer: two
    runs writing the same file never write into each other's partial file."""
    return target.with_name(f".{target.stem}.{os.getpid()}-{secrets.token_hex(4)}.partial{target.suffix}")


def write_atomically(target: Path, write: Callable[[Path], None],
                     finish: Callable[[Path], None] | None = None) -> None:
    """write(partial) under a partial name beside `target`, then finish(partial) (signing it), then rename
    it to `target`: a full disk, an error or Ctrl-C never leaves a half-written or half-signed file under
    the final name, nor the partial one."""
    partial = partial_path(target)
    try:
        write(partial)
        if finish is not None:
            finish(partial)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
