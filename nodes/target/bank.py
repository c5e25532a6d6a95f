"""The frame bank: a target video's index with its frames as Images and FaceTracks, made on demand."""
from __future__ import annotations

from collections import OrderedDict
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from app.runtime.gpu.image import Image
from nodes.target.crossfade import LandmarkWarp
from nodes.target.features import FEATURES, Weights, face_features, match_costs
from nodes.target.index import BankIndex
from nodes.target.steady import moved_points, steadied
from nodes.track.body import BOTTOM_MARGIN, MIN_VISIBILITY, body_track
from nodes.track.body_types import BodyTrack
from nodes.track.face import face_track
from nodes.track.types import FaceTrack

DECODED_KEPT = 8  # decoded frames kept: the one in use, the one faded from, the mouth's, and a few recent

_MOUTH_OPENING, _MOUTH_WIDTH = FEATURES.index("mouth_opening"), FEATURES.index("mouth_width")
_POSE = [FEATURES.index(name) for name in ("yaw", "pitch", "roll")]


class FrameBank:
    """The N frames of a target video that show a face (rows 0..N-1, in clip order).

    image(row) -> Image (H, W, 3), decoded from the index's JPEG on demand (about 1 ms); the last
        DECODED_KEPT stay decoded, so a frame in use is the same Image object from frame to frame (the
        renderer keeps its textures and mesh by identity).
    track(row) -> FaceTrack in the stored frame's pixels (timestamp: the frame's own), made once per row.
    body(row) -> BodyTrack likewise (not valid where the pose model found no one in that frame).
    warp_onto(row) -> LandmarkWarp that moves other frames' faces onto this row's (for cross-fades and
        blends; about 10 ms to make), the last DECODED_KEPT kept.
    features: (N, len(FEATURES)) float32; frame_numbers: (N,) position of each row among the clip's frames.
    reference: the row of the frame that is the target at rest: `reference_frame` (the row nearest that
        frame of the clip) where given, else the most neutral, most frontal frame.
    plate: the room behind the person.
    `steady`: a handheld clip's frames, landmarks and bodies are handed out moved onto the reference frame's
    room (the shake the index measured, steady.py), so the room stays put as the selection switches frames.
    """

    def __init__(self, index: BankIndex, source: Path, reference_frame: int | None = None, steady: bool = True):
        self.index, self.source, self.reference_frame, self.steady = index, source, reference_frame, steady
        self.frame_numbers = index.frame_numbers
        self.size = (int(index.image_size[0]), int(index.image_size[1]))
        self._images: OrderedDict[int, Image] = OrderedDict()
        self._tracks: dict[int, FaceTrack] = {}
        self._warps: OrderedDict[int, LandmarkWarp] = OrderedDict()

    def __len__(self) -> int:
        return len(self.index)

    @property
    def frames_covered(self) -> int:
        return int(self.index.frames_covered)

    @property
    def frames_without_face(self) -> int:
        return int(self.index.frames_seen) - self.frames_covered - len(self)

    def image(self, row: int) -> Image:
        return _recent(self._images, row, lambda: Image(steadied(self.index.frame(row), self._onto_reference(row)),
                                                          float(self.index.timestamps[row])))

    def landmarks(self, row: int) -> np.ndarray:
        """(478, 3) float32 the row's face landmarks, in pixels of its image (`image`)."""
        return moved_points(self.index.landmarks[row], self._onto_reference(row))

    def warp_onto(self, row: int) -> LandmarkWarp:
        return _recent(self._warps, row, lambda: LandmarkWarp(self.landmarks(row), self.size))

    def track(self, row: int) -> FaceTrack:
        if row not in self._tracks:
            self._tracks[row] = face_track(self.landmarks(row), self.size, float(self.index.timestamps[row]))
        return self._tracks[row]

    def body(self, row: int) -> BodyTrack:
        timestamp = float(self.index.timestamps[row])
        if not self.index.body_found[row]:
            return BodyTrack.invalid(self.size, timestamp)
        return body_track(moved_points(self.index.body[row], self._onto_reference(row)), self.size, timestamp,
                          MIN_VISIBILITY, BOTTOM_MARGIN)

    def _onto_reference(self, row: int) -> np.ndarray:
        """(2, 3) the affine transform from the row's stored pixels onto the reference frame's: through the
        first frame's room, which the index measured each frame's shake against (none when not `steady`)."""
        if not self.steady:
            return np.eye(2, 3)
        return _then(self.index.steady[row], self._first_onto_reference)

    @cached_property
    def _first_onto_reference(self) -> np.ndarray:
        """(2, 3) the affine transform from the first frame's room, where the index keeps the plate, onto the
        reference frame's."""
        return cv2.invertAffineTransform(self.index.steady[self.reference])

    @cached_property
    def reference(self) -> int:
        if self.reference_frame is not None:
            return int(np.argmin(np.abs(self.frame_numbers - self.reference_frame)))
        return self._most_neutral()

    def _most_neutral(self) -> int:
        """The frame nearest a neutral face: head straight (yaw, pitch, roll 0), mouth as closed and as
        narrow as the clip's least open tenth, eyes and brows and the head's place at the clip's median
        (so a blink is not neutral)."""
        measured = self.index.features  # every frame's where the first frame has its room
        neutral = np.median(measured, axis=0)
        neutral[_POSE] = 0.0
        neutral[_MOUTH_OPENING] = np.percentile(measured[:, _MOUTH_OPENING], 10)
        neutral[_MOUTH_WIDTH] = np.percentile(measured[:, _MOUTH_WIDTH], 10)
        return int(np.argmin(match_costs(measured, neutral, Weights())))

    @cached_property
    def features(self) -> np.ndarray:
        """(N, len(FEATURES)) float32 each row's face features (`face_features`) as handed out (`landmarks`):
        the head's place in them is where the reference frame's room has it, as a motion's is."""
        return np.stack([face_features(self.landmarks(row)) for row in range(len(self))])

    @cached_property
    def plate(self) -> Image:
        return Image(steadied(self.index.plate, self._first_onto_reference))

    def summary(self) -> str:
        width, height = self.size
        return (f"frame bank: {len(self)} frames {width}x{height} ({self.frames_without_face} without a face, "
                f"{self.frames_covered} with a hand over it: not used)\n"
                f"reference: frame {int(self.frame_numbers[self.reference])}")


def _then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """(2, 3) the affine transform `first`, then `second`."""
    return second[:, :2] @ first + np.array([0.0, 0.0, 1.0]) * second[:, 2:]


def _recent(kept: OrderedDict, row: int, make):
    """kept[row], made by make() where missing; the DECODED_KEPT rows used last stay."""
    value = kept.pop(row, None)
    if value is None:
        value = make()
    kept[row] = value
    while len(kept) > DECODED_KEPT:
        kept.popitem(last=False)
    return value
