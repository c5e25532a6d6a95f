"""Everything the quality measurements take from the node families: reading videos and stills, the
face tracker, resizing, and the face model. The ONLY module of app.quality that imports `nodes`, so
that moving a node module means one edit here.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from app.runtime.errors import ReenactError
from nodes.capture.image import read_image_file
from nodes.capture.video import VideoReader
from nodes.image.convert import resize
from nodes.track.face_model import (
    LEFT_EYE_CORNERS,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNERS,
    euler_angles,
    mouth_opening,
    procrustes,
    reference_shape,
    to_head_space,
    topology,
)
from nodes.track.mediapipe_face import FaceMeshDetector

__all__ = ["LEFT_EYE_CORNERS", "MOUTH_CORNERS", "RIGHT_EYE_CORNERS", "FaceTracker", "Video", "brow_points",
           "head_pose_and_shape", "mouth_opening", "read_target", "resize"]

STILL_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
MAX_STILL_SIDE = 2048  # the portrait size the studio itself works at


def _existing(path: Path) -> Path:
    """Fail with a plain message before a decoder fails with its own."""
    if not path.is_file():
        raise ReenactError("no such file", where=str(path), hint="check the path")
    return path


class Video:
    """A video file read once, frame by frame: `frames()` yields uint8 (H, W, 3) arrays; `fps` from its
    header. Raises ReenactError for a missing or undecodable file."""

    def __init__(self, path: Path):
        self.path = _existing(Path(path))
        self._reader = VideoReader(self.path)
        self.fps = self._reader.fps

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while (frame := self._reader.read()) is not None:
                yield frame
        finally:
            self._reader.close()


def read_target(path: Path) -> np.ndarray:
    """The target portrait as uint8 (H, W, 3): a still image, or the first frame of a target video."""
    path = _existing(Path(path))
    if path.suffix.lower() in STILL_SUFFIXES:
        pixels, _ = read_image_file(path, MAX_STILL_SIDE)
        return np.ascontiguousarray(pixels[:, :, :3])  # alpha is not part of the face
    first = next(Video(path).frames(), None)
    if first is None:
        raise ReenactError("the video has no frames", where=str(path))
    return first


class FaceTracker:
    """track(rgb uint8 (H, W, 3)) -> (478, 3) float32 landmark pixels of the one face, or None.

    static: every image unrelated (a still target); else tracked between frames, as the studio does."""

    def __init__(self, static: bool = False):
        self._detector = FaceMeshDetector(static=static, max_faces=1)

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


def brow_points() -> np.ndarray:
    """Indices of both eyebrows' landmarks in MediaPipe's face mesh."""
    return topology().regions["brows"]
