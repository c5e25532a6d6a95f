"""Why ffmpeg read no frame of a video file, in words that say what to do about it."""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from app.runtime.errors import ReenactError

NO_INDEX = re.compile(r"moov atom not found")  # an mp4 or mov that ends before its index
NO_STREAM = re.compile(r"matches no streams")  # "-map 0:V:0": a video stream that is not a cover picture
ANY_STREAM = re.compile(r"\bStream #\d+:\d+")  # a stream the header names


def unreadable_video(path: Path, errors: Iterable[str], streams: int) -> ReenactError:
    """The error for a file with no decodable frame, from ffmpeg's complaints (`errors`, oldest first) and
    the number of streams its header named."""
    errors = list(errors)
    if any(NO_INDEX.search(error) for error in errors) and _starts_as_mp4(path):
        return ReenactError("the file is cut short: it ends before its index (the moov atom), which a recording "
                            "writes last", where=str(path),
                            hint="it was probably not recorded, written or copied to the end: copy it again, or "
                                 "record it again and stop the recording properly")
    if any(NO_STREAM.search(error) for error in errors):
        return ReenactError("the file has no video stream: it holds only sound, or only a cover picture" if streams
                            else "the file is damaged: its header names no streams at all", where=str(path),
                            hint="use a video file of a face: mp4, mov, webm, gif, ...")
    return ReenactError(f"cannot read the video: {errors[-1] if errors else 'no video frames'}", where=str(path),
                        hint="check that it is a video file ffmpeg can decode (mp4, mov, webm, gif, ...)")


def _starts_as_mp4(path: Path) -> bool:
    """Whether the file begins as an mp4 or mov does (its 'ftyp' box): ffmpeg's "moov atom not found"
    then means it was cut short, not that it is some other file named .mp4."""
    try:
        with open(path, "rb") as file:
            return file.read(8)[4:8] == b"ftyp"
    except OSError:
        return False
