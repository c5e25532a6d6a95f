"""The driver's sound carried into a rendered video: its words go with the faces that say them."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import imageio_ffmpeg

from app.runtime.errors import first_line
from nodes.capture.ffmpeg import start_ffmpeg
from nodes.output.folders import partial_path

SOUND_CODECS = {".webm": "libopus"}  # what each container takes; AAC in the others (.mp4, .mov, .mkv)


def add_sound(video: Path, frames: int, fps: float, sound: Path, start: float = 0.0) -> str:
    """Mux the first sound track of `sound` (a video file) from `start` seconds on into `video` ((frames)
    frames at `fps`, written whole and checked), cut to the frames' length; the frames are copied as they
    are. Returns why that failed, with `video` left as it was, or ''."""
    combined = partial_path(video)
    seconds = frames / fps  # the last frame starts before it: -t keeps it, and no sound runs past it
    try:
        problem = _muxed(video, sound, start, seconds, combined, frames)
    except BaseException:  # a Ctrl-C while muxing: no hidden half-file left beside the video
        combined.unlink(missing_ok=True)
        raise
    if problem:
        combined.unlink(missing_ok=True)
        return problem
    os.replace(combined, video)
    return ""


def _muxed(video: Path, sound: Path, start: float, seconds: float, combined: Path, frames: int) -> str:
    """Write `combined` from the frames of `video` and the sound of `sound`; why that failed, or ''."""
    process = start_ffmpeg(
        ["-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video), "-ss", f"{start:.6f}", "-i", str(sound),
         "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", "-c:a", SOUND_CODECS.get(video.suffix.lower(), "aac"),
         "-t", f"{seconds:.6f}", "-map_metadata", "0", str(combined)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = process.communicate()
    if process.returncode:
        said = errors.decode("utf-8", "replace").strip().splitlines()
        return first_line(said[-1]) if said else f"ffmpeg stopped with code {process.returncode}"
    try:
        kept, _ = imageio_ffmpeg.count_frames_and_secs(str(combined))
    except RuntimeError as exc:
        return f"it cannot be read back: {first_line(exc)}"
    return "" if kept == frames else f"{kept} of its {frames} frames were kept"
