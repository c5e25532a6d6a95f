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
LOOP_RATE = 48000  # a looping sound is resampled to this rate, so its length is a known count of samples
LOOP_MOST_S = 300.0  # a longer looping sound is left out: ffmpeg holds all of it in memory (4 bytes a sample)


def add_sound(video: Path, frames: int, fps: float, sound: Path, start: float = 0.0,
              loop: tuple[float, float] | None = None) -> str:
    """Mux the first sound track of `sound` (a video file) from `start` seconds on into `video` ((frames)
    frames at `fps`, written whole and checked), cut to the frames' length; the frames are copied as they
    are. loop: (first, period): a looping clip's sound, its `period` seconds from `first` on over and over
    (`start` then lies in that repeated sound, as the clip's frames' times run on). Returns why that failed,
    with `video` left as it was, or ''."""
    combined = partial_path(video)
    seconds = frames / fps  # the last frame starts before it: -t keeps it, and no sound runs past it
    try:
        problem = _muxed(video, _sound_input(sound, start, loop), seconds, combined, frames)
    except BaseException:  # a Ctrl-C while muxing: no hidden half-file left beside the video
        combined.unlink(missing_ok=True)
        raise
    if problem:
        combined.unlink(missing_ok=True)
        return problem
    os.replace(combined, video)
    return ""


def _sound_input(sound: Path, start: float, loop: tuple[float, float] | None) -> tuple[list[str], str]:
    """ffmpeg's arguments for the sound: its input (the second, with a looping one's filters), and the
    stream to map."""
    if loop is None:
        return ["-ss", f"{start:.6f}", "-i", str(sound)], "1:a:0"
    first, period = loop
    samples = round(period * LOOP_RATE)  # a sound shorter than the clip is padded with silence to its length
    chain = (f"[1:a:0]atrim=duration={period:.6f},asetpts=N/SR/TB,aresample={LOOP_RATE},apad=whole_len={samples},"
             f"aloop=loop=-1:size={samples},atrim=start={start - first:.6f},asetpts=N/SR/TB[sound]")
    return ["-ss", f"{first:.6f}", "-i", str(sound), "-filter_complex", chain], "[sound]"


def _muxed(video: Path, sound: tuple[list[str], str], seconds: float, combined: Path, frames: int) -> str:
    """Write `combined` from the frames of `video` and the sound `sound` gives (`_sound_input`); why that
    failed, or ''."""
    sound_input, sound_stream = sound
    process = start_ffmpeg(
        ["-y", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(video), *sound_input,
         "-map", "0:v:0", "-map", sound_stream, "-c:v", "copy", "-c:a", SOUND_CODECS.get(video.suffix.lower(), "aac"),
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
