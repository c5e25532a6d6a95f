"""Where asset and output paths resolve, and the rule that a preset's paths stay inside its roots."""
from __future__ import annotations

from pathlib import Path

from app.runtime.errors import ReenactError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = PROJECT_ROOT / "assets"


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def asset_path_problem(value: str, base_dir: Path | None) -> str | None:
    """Why a preset's asset path is not allowed, or None. Presets may only name files below their
    own folder or below assets/, so a shared preset cannot read arbitrary files."""
    if not value:
        return None
    candidate = Path(value).expanduser()  # '~/x' is read from the home folder: absolute, as it resolves
    if candidate.is_absolute():
        return f"'{value}' is an absolute path; presets may only use paths relative to their folder or assets/"
    roots = [r for r in (base_dir, ASSETS_DIR) if r is not None]
    if not any(_inside(root / candidate, root) for root in roots):
        return f"'{value}' escapes the preset's folder and assets/"
    return None


def output_path_problem(value: str, from_command_line: bool = False) -> str | None:
    """Why an output path is not allowed, or None. Never '..', so a relative path stays below the working
    directory; a preset's must also be relative, while the command line may give an absolute path (the
    user typed where it goes)."""
    if not value:
        return None
    candidate = Path(value).expanduser()  # '~/x' is written to the home folder: absolute, as it resolves
    if from_command_line and ".." in candidate.parts:
        return (f"'{value}' must not contain '..' (it is written below the working directory, or where an "
                "absolute path says)")
    if not from_command_line and (candidate.is_absolute() or ".." in candidate.parts):
        return f"'{value}' must be a relative path without '..' (it is written below the working directory)"
    return None


def first_free(path: Path) -> Path:
    """`path` if nothing is there (or only an empty folder), else the first of `stem-2.suffix`, `stem-3.suffix`,
    ... that is free: where a take goes that must not replace an earlier one."""
    candidate, number = path, 1
    while candidate.is_file() or (candidate.is_dir() and any(candidate.iterdir())):
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


def resolve_asset(value: str, base_dir: Path | None) -> Path:
    """The file an asset path names: absolute as given (from the command line), else the preset's
    folder if the file is there, else assets/. ReenactError if there is none, or it is a folder, a device
    or a pipe."""
    if not value:  # else it would name the preset's folder itself
        raise ReenactError("no file set",
                           hint="set the path param (in the editor's inspector, or --set NODE.path=FILE)")
    found = _find_asset(value, base_dir)
    if found.is_dir():
        raise ReenactError(f"'{value}' is a folder, not a file", where=str(found), hint="name a file in it")
    if not found.is_file():  # a pipe blocks its reader until someone writes; a device may never end
        raise ReenactError("is not a regular file (a device, a pipe or a socket)", where=str(found),
                           hint="name a file")
    refuse_empty(found)
    return found


def refuse_empty(path: Path) -> None:
    """ReenactError for a file of 0 bytes, said as such before a decoder says it in its own words
    (ffmpeg: "Invalid data found when processing input")."""
    if path.stat().st_size == 0:
        raise ReenactError("the file is empty (0 bytes)", where=str(path),
                           hint="it was probably not written or copied to the end: render or copy it again")


def _find_asset(value: str, base_dir: Path | None) -> Path:
    candidate = Path(value).expanduser()
    if candidate.is_absolute():
        if not candidate.exists():
            raise ReenactError(f"file '{value}' not found", hint="check the path")
        return candidate
    for root in (base_dir, ASSETS_DIR):
        if root is not None and (root / candidate).exists():
            return root / candidate
    searched = " or ".join(str(r) for r in (base_dir, ASSETS_DIR) if r is not None)
    raise ReenactError(f"file '{value}' not found", where=f"looked in {searched}",
                       hint="check the path, or pass an absolute one with --set")


def portable_asset_path(value: str, old_base: Path | None, new_base: Path | None) -> str:
    """`value`, an asset path as a preset in `old_base` reads it, written so that a preset in `new_base`
    reads the same file: relative to `new_base` or assets/ where the file lies inside one (a preset saved
    into another folder, a file picked or typed in full), else absolute as it resolves. A path that names
    no file is left as it is."""
    try:
        found = _find_asset(value, old_base).resolve()
    except (ReenactError, OSError):
        return value
    for root in (new_base, ASSETS_DIR):
        if root is None or not found.is_relative_to(root.resolve()):
            continue
        relative = found.relative_to(root.resolve()).as_posix()
        # the preset's folder is looked in first: an assets/ path must not name another file there
        shadow = None if new_base is None or root == new_base else new_base / relative
        if shadow is None or not shadow.exists() or shadow.resolve() == found:
            return relative
    return str(found)


def resolve_output(value: str) -> Path:
    return Path(value).expanduser().absolute()
