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
from app.quality.sources import STILL_SUFFIXES, existing_file
from app.runtime.errors import ReenactError, first_line
from nodes.capture.ffmpeg import start_ffmpeg
from nodes.capture.image import refuse_huge_image
from nodes.output import watermark
from nodes.output.credentials import UNCHECKED, Credentials, read_credentials

MAX_SAMPLES = 90  # frames scored per video (every k-th frame of the first MAX_SAMPLES * k)
STRIDE = 2


@dataclass(frozen=True)
class Detection:
    frames_scored: int
    statistic: float  # the watermark search over all checked frames together (see nodes/output/watermark.py)
    alignment: watermark.Alignment | None  # where the search found it
    frames_marked: int  # frames that carry it on their own (at that alignment, or the first scheme's)
    legacy_frames: int  # frames that carry the first scheme (reenact-wm-1) at its original alignment
    tag: str  # the metadata tag, "" when absent (tags are easy to strip or forge: evidence, not proof)
    credentials: Credentials | None = None  # the C2PA manifest, when the file has one

    @property
    def confidence(self) -> float:
        """The share of scored frames that carry the watermark on their own."""
        return self.frames_marked / self.frames_scored if self.frames_scored else 0.0

    @property
    def marked(self) -> bool:
        return self.statistic >= watermark.THRESHOLD or self.legacy_frames * 2 > self.frames_scored


def detect_file(path: Path) -> Detection:
    existing_file(path)  # a folder, a device or an empty file said as such, not as "no such file"
    if path.suffix.lower() in STILL_SUFFIXES:
        frames, tag = _image(path)
    else:
        frames, tag = _video_frames(path), _video_tag(path)
    if not frames:
        raise ReenactError("the file has no frames to check", where=str(path))
    details = [watermark.detail_map(frame) for frame in frames]
    statistic, where = watermark.search(np.sum(details, axis=0))  # one crop for all frames: the mark adds up
    own = [where is not None and watermark.score_at(d, where) >= watermark.THRESHOLD for d in details]
    legacy = [watermark.legacy_score(frame) >= watermark.LEGACY_THRESHOLD for frame in frames]
    return Detection(len(frames), statistic, where, sum(a or b for a, b in zip(own, legacy)), sum(legacy), tag,
                     read_credentials(path))


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
    reader = start_ffmpeg(["-v", "error", "-i", str(path), "-f", "ffmetadata", "-"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        out, _ = reader.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        reader.kill()
        out, _ = reader.communicate()
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.lower() == "comment" and "Reenact Studio" in value:
            return re.sub(r"\\(.)", r"\1", value)  # ffmetadata escapes = ; # \ and newlines
    return ""


def run(args: argparse.Namespace) -> int:
    try:
        found = detect_file(Path(args.file))
    except ReenactError as exc:  # 1 means "not marked" here, so errors get 2
        say(f"error: {exc}")
        return EXIT_INVALID
    print(f"{args.file}: {'MARKED as synthetic' if found.marked else 'not marked'}")
    print(f"  watermark: {_watermark_line(found)}")
    print(f"  metadata tag: {found.tag or 'none'}")
    print(f"  content credentials: {_credentials_line(found.credentials)}")
    return EXIT_OK if found.marked else EXIT_FAILED


def _watermark_line(found: Detection) -> str:
    line = (f"search statistic {found.statistic:.1f} (marked from {watermark.THRESHOLD:g}; unmarked pictures "
            f"score about {watermark.UNMARKED_RANGE}), found on their own in {found.frames_marked} of "
            f"{found.frames_scored} frames checked")
    where = found.alignment
    if found.statistic >= watermark.THRESHOLD and where is not None:
        width, height = where.shown
        line += f"; the picture shows {width:.0%} × {height:.0%} of the written frame" + (
            ", mirrored left-right" if where.mirrored else "")
    if found.legacy_frames:
        line += f"; first scheme ({watermark.LEGACY_SCHEME}) in {found.legacy_frames} frames"
    return line


def _credentials_line(found: Credentials | None) -> str:
    if found is None:
        return "none"
    if found.state == UNCHECKED:
        return f"not checked ({found.problems[0]})"
    verdict = "valid" if found.valid else "NOT valid (" + ", ".join(found.problems or (found.state,)) + ")"
    return (f"{verdict}; generator {found.generator}, digital source type {found.source_type}, signed by "
            f"{found.signer}" + ("; signer not on a trust list (a self-issued key proves integrity, not identity)"
                                 if found.valid and found.state != "Trusted" else ""))


def add_parser(sub: Any) -> None:
    p = sub.add_parser("detect", help="does an image or video carry the studio's synthetic mark? "
                       "exit 0 marked, 1 not marked, 2 error")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=run)
