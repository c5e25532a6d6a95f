"""Everything the quality measurements take from the node families: reading videos and stills, the
face tracker, resizing, and the face model. The ONLY module of app.quality that imports `nodes`, so
that moving a node module means one edit here.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.runtime.errors import ReenactError, first_line
from app.runtime.paths import refuse_empty
from nodes.capture.image import read_image_file, still_format
from nodes.capture.video import VideoReader
from nodes.image.convert import flattened, resize
from nodes.track.face_model import (
    brow_height,
    LEFT_EYE_CORNERS,
    RIGHT_EYE_CORNERS,
    euler_angles,
    mouth_opening,
    procrustes,
    reference_shape,
    smile_width,
    to_head_space,
)
from nodes.track.mediapipe_face import FaceMeshDetector

__all__ = ["LEFT_EYE_CORNERS", "RIGHT_EYE_CORNERS", "FaceTracker", "Video", "brow_height",
           "check_video", "head_pose_and_shape", "mouth_opening", "read_target", "resize", "smile_width"]

STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".heic", ".heif", ".webp", ".bmp", ".tif", ".tiff"}
MAX_STILL_SIDE = 2048  # the portrait size the studio itself works at


def existing_file(path: Path) -> Path:
    """Fail with a plain message before a decoder fails with its own (or, for a device or a pipe such as
    /dev/zero, never ends)."""
    if path.is_dir():
        raise ReenactError("is a folder, not a file", where=str(path), hint="name a file in it")
    if not path.exists():
        raise ReenactError("no such file", where=str(path), hint="check the path")
    if not path.is_file():
        raise ReenactError("is not a regular file (a device, a pipe or a socket)", where=str(path),
                           hint="name a file")
    refuse_empty(path)
    return path


def check_video(path: Path | str, role: str) -> Path:
    """The path of a readable video file, checked before any work: ReenactError for a missing file, a
    folder, an empty file, a device, or a still image (one frame has no motion to measure)."""
    path = existing_file(Path(path))
    still = still_format(path)
    if still is not None:
        raise ReenactError(f"is a still {still} image, not a video: the {role} must be a video",
                           where=str(path), hint="score compares two videos frame by frame; a portrait goes "
                           "to --target")
    return path


class Video:
    """A video file read once, frame by frame: `frames()` yields uint8 (H, W, 3) arrays, `timed_frames()`
    (seconds from the first frame, array) pairs; `fps` from its header; `size` (width, height) of its frames;
    `end`: once read to its end, when its last frame stops showing. Raises ReenactError for a missing or
    undecodable file."""

    def __init__(self, path: Path):
        self.path = existing_file(Path(path))
        self._reader = VideoReader(self.path)
        self.fps = self._reader.fps
        self.size = (self._reader.width, self._reader.height)
        self.end: float | None = None

    def close(self) -> None:
        """Stop the decoder early (frames() also stops it at its end)."""
        self._reader.close()

    def frames(self) -> Iterator[np.ndarray]:
        return (frame for _, frame in self.timed_frames())

    def timed_frames(self) -> Iterator[tuple[float, np.ndarray]]:
        try:
            while (frame := self._reader.read()) is not None:
                yield self._reader.time, frame
            self.end = self._reader.time + self._reader.duration
        finally:
            self._reader.close()


def read_target(path: Path) -> np.ndarray:
    """The target portrait as uint8 (H, W, 3): a still image, or the first frame of a target video."""
    path = existing_file(Path(path))
    if path.suffix.lower() in STILL_SUFFIXES or still_format(path) is not None:
        try:
            pixels, _ = read_image_file(path, MAX_STILL_SIDE)
        except ReenactError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged header can trip Pillow in unplanned ways
            raise ReenactError(f"cannot read the image: it is damaged or not an image ({first_line(exc, 80)})",
                               where=str(path),
                               hint="use a PNG, JPEG, HEIC, WebP, BMP or TIFF file") from None
        return flattened(pixels)  # alpha is not part of the face: a transparent background shows white
    first = next(Video(path).frames(), None)
    if first is None:
        raise ReenactError("the video has no frames", where=str(path))
    return first


class FaceTracker:
    """track(rgb uint8 (H, W, 3)) -> (478, 3) float32 landmark pixels of the one face, or None.

    static: every image unrelated (a still target); else tracked between frames, as the studio does, turned
    upright as its first frame with a face needs (a render of a portrait on its side is on its side)."""

    def __init__(self, static: bool = False):
        self._detector = FaceMeshDetector(static=static, max_faces=1, upright="each" if static else "first")

    def track(self, rgb: np.ndarray) -> np.ndarray | None:
        faces = self._detector.detect(rgb)
        return faces[0] if faces else None

    def close(self) -> None:
        self._detector.close()


def head_pose_and_shape(points: np.ndarray) -> tuple[tuple[float, float, float], np.ndarray]:
    """(yaw, pitch, roll) in degrees and the (478, 3) head-space shape (pose removed; units of the
    reference face, whose RMS radius is 1) of (478, 3) landmark pixels."""
    pose = procrustes(points, reference_shape())
    return euler_angles(pose.rotation), to_head_space(points, pose)
