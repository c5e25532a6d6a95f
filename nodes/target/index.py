"""A target video's frame index: every kept frame with a face, tracked once, and cached as a `.npz`
(never pickled) keyed by the clip's content, so a second run loads it in a moment.
Frames where a hand covers the mouth, an eye or the brows are left out too: their pixels would put a
hand on the target's face, and their landmarks are the tracker's guesses. Each kept frame's upper body
(MediaPipe Pose, tracked through the clip beside the face mesh) is stored too: the torso the renderer
moves is the one in the frame in use, not the reference frame's. A handheld clip's shake is measured
as each frame is stored (steady.py): the bank moves frames, landmarks and bodies onto its reference
frame's room as it hands them out.

Frames are stored downscaled (longest side at most `max_side`) and JPEG-encoded (quality 95) inside the
index: a 720x405 frame takes about 50 kB (49-55 kB measured on the test clips), so 60 s of 720p at 30 fps
is about 100 MB in memory and on disk, plus 10 MB of landmarks, where the decoded frames would take 1.6 GB
(the 720p originals 5 GB). They are decoded on demand (about 1 ms each); see bank.FrameBank.
"""
from __future__ import annotations

import hashlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from app.runtime.errors import ReenactError
from app.runtime.late_pass import LatePass
from app.runtime.paths import refuse_empty
from nodes.capture.video import VideoReader
from nodes.output.folders import write_atomically
from nodes.target.features import FEATURES, face_features
from nodes.target.plate import PLATE_SAMPLES, room_plate
from nodes.target.steady import Steadier, moved_points, steadied
from nodes.track.body import JOINTS, PoseDetector
from nodes.track.face import pick_face
from nodes.track.hands import HandDetector, covered_regions
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.track.occlusion import COVERED
from nodes.track.types import LANDMARKS, in_frames

INDEX_VERSION = 7  # bump when what is stored, or how it is measured, changes: older caches are rebuilt
# (6: HDR clips are stored tone-mapped and interlaced ones deinterlaced, as VideoReader now reads them, and
# frames scaled down by ffmpeg's area filter rather than OpenCV's; 7: a clip recorded upside down or on its
# side is tracked turned upright)
JPEG_QUALITY = 95


@dataclass(frozen=True)
class IndexSettings:
    """every: keep every Nth frame of the clip; max_frames: keep at most this many (0: all);
    max_side: frames are downscaled so their longest side is at most this (pixels)."""

    every: int = 1
    max_frames: int = 0
    max_side: int = 720

    def tag(self) -> str:
        return f"every{self.every}-max{self.max_frames}-side{self.max_side}"


@dataclass(frozen=True)
class BankIndex:
    """The N kept frames of a clip that show an uncovered face, out of `frames_seen` kept frames.

    frame_numbers: (N,) int64, each frame's position among all decoded frames of the clip (from 0);
    timestamps: (N,) float64 seconds, as recorded;
    landmarks: (N, 478, 3) float32, pixels of the stored frame;
    features: (N, len(FEATURES)) float32 (features.face_features), of the landmarks steadied;
    steady: (N, 2, 3) float64, each frame's affine transform onto the first frame's room (steady.Steadier);
    body: (N, len(JOINTS), 3) float32, each frame's shoulders, elbows and hips as PoseDetector gives them
        ([x px, y px, visibility]), zeros where body_found (N,) bool is False (no person found);
    jpeg: (B,) uint8, the stored frames' JPEG files one after another; jpeg_offsets: (N + 1,) int64;
    plate: (H, W, 3) uint8, the room without the person (plate.room_plate), where the first frame has it;
    image_size: (2,) int64, (width, height) of the stored frames;
    frames_seen: () int64, the kept frames examined (with and without a face);
    frames_covered: () int64, those left out because a hand covered part of the face.
    """

    frame_numbers: np.ndarray
    timestamps: np.ndarray
    landmarks: np.ndarray
    features: np.ndarray
    steady: np.ndarray
    body: np.ndarray
    body_found: np.ndarray
    jpeg: np.ndarray
    jpeg_offsets: np.ndarray
    plate: np.ndarray
    image_size: np.ndarray
    frames_seen: np.ndarray
    frames_covered: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_numbers)

    def frame(self, row: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of one stored frame."""
        return decode_jpeg(self.jpeg[self.jpeg_offsets[row]:self.jpeg_offsets[row + 1]])

    def problem(self) -> str | None:
        """Why the arrays do not fit together (a damaged or foreign file), or None."""
        n, (width, height) = len(self), self.image_size
        checks = {
            "timestamps": self.timestamps.shape == (n,),
            "landmarks": self.landmarks.shape == (n, LANDMARKS, 3) and self.landmarks.dtype == np.float32,
            "features": self.features.shape == (n, len(FEATURES)) and self.features.dtype == np.float32,
            "steady": self.steady.shape == (n, 2, 3) and self.steady.dtype == np.float64,
            "body": self.body.shape == (n, len(JOINTS), 3) and self.body.dtype == np.float32
            and self.body_found.shape == (n,) and self.body_found.dtype == np.bool_,
            "jpeg_offsets": self.jpeg_offsets.shape == (n + 1,) and self.jpeg_offsets[-1] == len(self.jpeg),
            "plate": self.plate.shape == (height, width, 3) and self.plate.dtype == np.uint8,
            "frames": 0 < n <= int(self.frames_seen) - int(self.frames_covered),
        }
        bad = [name for name, ok in checks.items() if not ok]
        return f"inconsistent {', '.join(bad)}" if bad else None


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes, hex: the same clip under any name or date finds the same index.
    ReenactError for what is not a regular file: a device such as /dev/zero or a pipe would never end."""
    if not path.is_file():
        raise ReenactError("is not a regular file (a device, a pipe or a socket)", where=str(path),
                           hint="name a video file of the target person")
    refuse_empty(path)
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def cache_path(state_dir: Path, digest: str, settings: IndexSettings) -> Path:
    return state_dir / "target-index" / f"{digest}-v{INDEX_VERSION}-{settings.tag()}.npz"


def load_index(path: Path) -> BankIndex | None:
    """The index saved at `path`, or None where there is none, or it is damaged or of another version."""
    try:
        with np.load(path, allow_pickle=False) as data:
            version = data["version"]
            if version.shape != () or int(version) != INDEX_VERSION:
                return None
            index = BankIndex(**{f.name: data[f.name] for f in fields(BankIndex)})
        return None if _damaged(index) else index
    except (OSError, ValueError, TypeError, IndexError, KeyError, EOFError, zipfile.BadZipFile, cv2.error):
        return None  # whatever a damaged or foreign file trips over: it is built again


def _damaged(index: BankIndex) -> bool:
    """A file that holds the right arrays but not a usable index: wrong shapes or types, NaN landmarks, or
    frames that do not decode (the first and the last are tried: a cut or garbled blob shows there)."""
    scalars = (index.frames_seen, index.frames_covered)
    if index.image_size.shape != (2,) or any(a.shape != () for a in scalars) or index.frame_numbers.ndim != 1:
        return True
    if index.problem() or not all(np.isfinite(a).all() for a in (index.landmarks, index.features, index.steady,
                                                                  index.body)):
        return True
    offsets = index.jpeg_offsets
    if (np.diff(offsets) <= 0).any() or offsets[0] != 0:
        return True
    width, height = (int(v) for v in index.image_size)
    return any(index.frame(row).shape != (height, width, 3) for row in {0, len(index) - 1})


def save_index(path: Path, index: BankIndex) -> None:
    """Written whole or not at all (a partial name, then a rename). OSError when it cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f.name: getattr(index, f.name) for f in fields(BankIndex)}
    write_atomically(path, lambda partial: np.savez(partial, version=np.array(INDEX_VERSION), **arrays))


def build_index(clip: Path, settings: IndexSettings, progress: Callable[[int], None] = lambda kept: None,
                damage: list[str] | None = None) -> BankIndex:
    """Track every kept frame of `clip` (MediaPipe face mesh in video mode, and hands; the pose model on a
    worker thread at the same time, as MediaPipe lets go of the GIL); `progress(frames examined)` is
    called after each. ReenactError when the clip cannot be read or no frame shows an uncovered face.
    What ffmpeg could not decode (a clip cut short, damaged frames) goes to `damage`."""
    # scaled down by ffmpeg as it decodes: a 4K clip's frames never come through the pipe whole
    reader = VideoReader(clip, max_side=settings.max_side)
    size = (reader.width, reader.height)
    # turned as its first face needs: an upside-down clip was tracked 112 px off (upright.py)
    detector, hands = FaceMeshDetector(static=False, max_faces=2, upright="first"), HandDetector()
    pose, pose_passes = PoseDetector(static=False, min_confidence=0.5), LatePass("index-pose")
    numbers, times, landmarks, bodies, steadying, jpegs = [], [], [], [], [], []
    seen = covered = position = 0
    previous = steadier = None
    try:
        while settings.max_frames == 0 or seen < settings.max_frames:
            pixels = reader.read()
            if pixels is None:
                break
            position += 1
            if (position - 1) % settings.every:
                continue
            seen += 1
            steadier = steadier or Steadier(pixels)
            pose_passes.start(pose.detect, pixels)  # every frame, so the pose model tracks through the clip
            faces = detector.detect(pixels, previous)
            # after a frame without a face the next face is picked afresh, not matched to one that is gone
            previous = pick_face(faces, previous) if faces else None
            hand_over_face = previous is not None and (covered_regions(previous, hands.detect(pixels)) >= COVERED).any()
            joints = pose_passes.take()
            if hand_over_face:
                covered += 1
            elif previous is not None:
                numbers.append(position - 1)
                times.append(reader.time)
                landmarks.append(previous)
                bodies.append(joints)
                steadying.append(steadier.moved(pixels))
                jpegs.append(encode_jpeg(pixels))
            progress(seen)
    finally:
        pose_passes.close()
        pose.close()
        hands.close()
        detector.close()
        reader.close()
    if damage is not None:
        damage.extend(reader.errors)
    if not numbers:
        raise ReenactError(f"no uncovered face {in_frames(seen)}", where=str(clip),
                           hint="use a clip of the target person's face (every frame need not show it)")
    samples = np.unique(np.linspace(0, len(jpegs) - 1, PLATE_SAMPLES).round().astype(int))
    points = np.stack(landmarks).astype(np.float32)
    no_body = np.zeros((len(JOINTS), 3))
    return BankIndex(
        frame_numbers=np.array(numbers, np.int64), timestamps=np.array(times, np.float64), landmarks=points,
        features=np.stack([face_features(moved_points(p, m)) for p, m in zip(points, steadying)]),
        steady=np.stack(steadying).astype(np.float64),
        body=np.stack([no_body if j is None else j for j in bodies]).astype(np.float32),
        body_found=np.array([j is not None for j in bodies]), jpeg=np.concatenate(jpegs),
        jpeg_offsets=np.concatenate([[0], np.cumsum([len(j) for j in jpegs])]).astype(np.int64),
        plate=room_plate([steadied(decode_jpeg(jpegs[i]), steadying[i]) for i in samples], detector.turns),
        image_size=np.array(size, np.int64),
        frames_seen=np.array(seen, np.int64), frames_covered=np.array(covered, np.int64))


def encode_jpeg(rgb: np.ndarray) -> np.ndarray:
    """(B,) uint8 JPEG file of an (H, W, 3) uint8 RGB frame."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ReenactError("could not encode a frame as JPEG")
    return data.ravel()


def decode_jpeg(data: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a JPEG file's bytes; ValueError when they are not one."""
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if len(data) else None
    if bgr is None:
        raise ValueError("a stored frame is not a JPEG image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_or_build(clip: Path, state_dir: Path, settings: IndexSettings,
                  progress: Callable[[int], None] = lambda kept: None) -> tuple[BankIndex, str]:
    """The clip's index from the cache, else built and cached; also says which ("loaded", "built", or
    "built, not cached: why")."""
    path = cache_path(state_dir, content_hash(clip), settings)
    index = load_index(path) if path.exists() else None
    if index is not None:
        return index, "loaded"
    damage: list[str] = []
    index = build_index(clip, settings, progress, damage)
    if damage:  # not cached, so every run that uses it says so
        return index, (f"built, not cached: ffmpeg could not decode all of {clip.name} ({damage[0]}); the bank "
                       f"holds the {int(index.frames_seen)} frames before the damage, and the clip is tracked again "
                       "next run")
    try:
        save_index(path, index)
    except OSError as exc:  # the run goes on; the next one builds it again
        return index, (f"built, not cached: cannot write in {path.parent} ({exc.strerror or exc}: set "
                       "REENACT_STATE_DIR to a folder you can write to); the next run tracks the clip again")
    return index, "built"
