"""Starting ffmpeg (imageio-ffmpeg's own, or the one IMAGEIO_FFMPEG_EXE names) for every reader and writer
of video files, with a clear error where it cannot start rather than a traceback."""
from __future__ import annotations

import subprocess
from typing import Any

from app.runtime.errors import ReenactError

_HINT = "reinstall imageio-ffmpeg with `pip install --force-reinstall imageio-ffmpeg`, or point IMAGEIO_FFMPEG_EXE " \
        "at an ffmpeg binary; unset it where it names a wrong one"


def start_ffmpeg(arguments: list[str], **popen: Any) -> subprocess.Popen:
    """ffmpeg running with `arguments` (subprocess.Popen's keywords pass through); ReenactError when no
    ffmpeg is found or it cannot be run."""
    import imageio_ffmpeg

    try:
        executable = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:  # imageio-ffmpeg found none: its binary is missing and none is installed
        raise ReenactError("no ffmpeg found to read or write video", hint=_HINT) from None
    try:
        return subprocess.Popen([executable, *arguments], **popen)
    except OSError as exc:
        raise ReenactError(f"cannot run ffmpeg: {exc.strerror}", where=executable, hint=_HINT) from None
