"""`reenact detect FILE`: does an image or a video carry the studio's synthetic-output marks?"""
from __future__ import annotations

import argparse
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.cli.console import EXIT_FAILED, EXIT_INVALID, EXIT_OK, say
from app.runtime.errors import ReenactError, first_line
from nodes.capture.image import refuse_huge_image
from nodes.output.provenance import THRESHOLD_Z, watermark_score

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

    refuse_huge_image(path)
    try:
        with PILImage.open(path) as image:
            comment = str(image.info.get("Comment", ""))
            tag = comment if "Reenact Studio" in comment else ""
            return [np.asarray(image.convert("RGB"))], tag
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:  # what Pillow raises on bad files
        raise ReenactError(f"cannot read the image: {first_line(exc)}", where=str(path)) from None


def _video_frames(path: Path) -> list[np.ndarray]:
    from nodes.capture.video import VideoReader

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


def run(args: argparse.Namespace) -> int:
    try:
        found = detect_file(Path(args.file))
    except ReenactError as exc:  # 1 means "not marked" here, so errors get 2
        say(f"error: {exc.message}")
        return EXIT_INVALID
    verdict = "MARKED as synthetic" if found.marked else "not marked"
    print(f"{args.file}: {verdict} (confidence {found.confidence:.0%}: watermark in {found.frames_marked} of "
          f"{found.frames_scored} frames checked, median score {found.median_z:.1f}, threshold 5)")
    print(f"  metadata tag: {found.tag or 'none'}")
    return EXIT_OK if found.marked else EXIT_FAILED


def add_parser(sub: Any) -> None:
    p = sub.add_parser("detect", help="does an image or video carry the studio's synthetic mark? "
                       "exit 0 marked, 1 not marked, 2 error")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=run)
