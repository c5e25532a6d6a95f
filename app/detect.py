"""`reenact detect FILE`: does an image or a video carry the studio's synthetic-output marks?"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.runtime.errors import ReenactError
from nodes._provenance import THRESHOLD_Z, watermark_score

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
MAX_SAMPLES = 90  # frames scored per video (every k-th frame of the first MAX_SAMPLES * k)
STRIDE = 2


@dataclass(frozen=True)
class Detection:
    frames_scored: int
    frames_marked: int  # frames whose watermark score reaches THRESHOLD_Z
    median_z: float
    tag: str  # the metadata tag, "" when absent (tags are easy to strip or forge: evidence, not proof)

    @property
    def confidence(self) -> float:
        """The share of scored frames that carry the watermark."""
        return self.frames_marked / self.frames_scored if self.frames_scored else 0.0

    @property
    def marked(self) -> bool:
        return self.confidence >= 0.5


def detect_file(path: Path) -> Detection:
    if not path.is_file():
        raise ReenactError("no such file", where=str(path), hint="check the path")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        frames, tag = _image(path)
    else:
        frames, tag = _video_frames(path), _video_tag(path)
    scores = [watermark_score(frame) for frame in frames]
    if not scores:
        raise ReenactError("the file has no frames to check", where=str(path))
    return Detection(len(scores), sum(s >= THRESHOLD_Z for s in scores), float(np.median(scores)), tag)


def _image(path: Path) -> tuple[list[np.ndarray], str]:
    from PIL import Image as PILImage, UnidentifiedImageError

    try:
        with PILImage.open(path) as image:
            comment = str(image.info.get("Comment", ""))
            tag = comment if "Reenact Studio" in comment else ""
            return [np.asarray(image.convert("RGB"))], tag
    except (UnidentifiedImageError, OSError) as exc:
        raise ReenactError(f"cannot read the image: {exc}", where=str(path)) from None


def _video_frames(path: Path) -> list[np.ndarray]:
    from nodes.video import VideoReader

    reader = VideoReader(path)
    frames = []
    try:
        for index in range(MAX_SAMPLES * STRIDE):
            frame = reader.read()
            if frame is None:
                break
            if index % STRIDE == 0:
                frames.append(frame)
    finally:
        reader.close()
    return frames


def _video_tag(path: Path) -> str:
    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "ffmetadata", "-"],
                          capture_output=True, text=True, timeout=60)
    for line in done.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.lower() == "comment" and "Reenact Studio" in value:
            return re.sub(r"\\(.)", r"\1", value)  # ffmetadata escapes = ; # \ and newlines
    return ""
