"""Self-reenactment pairs from a target video: the target's reference frame rendered into frame t's
tracked pose and expression (the same mesh and renderer as `render.portrait`), next to the real
frame t. Tracked and rendered once, then cached next to the weights (npz, never pickled)."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.runtime.progress import Progress
from app.runtime.errors import ReenactError
from app.runtime.options import resolve
from app.runtime.gpu.context import GpuContext
from app.runtime.gpu.image import Image
from nodes.track.face_model import eye_widths
from nodes.image.convert import resize
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.refine.maps import blend_mask, conditioning_maps, scaled_landmarks
from nodes.render.warp_mesh import MeshBuilder
from nodes.render.portrait import PortraitRenderer
from nodes.track.face import face_track, pick_face
from nodes.capture.video import VideoReader
from nodes.output.folders import write_atomically

CACHE_VERSION = "1"
MULTIPLE = 8  # sides are cropped to a multiple of this (the U-Net's pooling)
GRID = 32


@dataclass
class Pairs:
    """N pairs at one size. renders, reals: (N, H, W, 3) uint8; maps: (N, H, W, 2) uint8 {0, 1};
    blends: (N, H, W) float32 blend masks; frames: (N,) index of each pair's frame in the video."""

    renders: np.ndarray
    reals: np.ndarray
    maps: np.ndarray
    blends: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return len(self.frames)

    def split(self, holdout: float) -> tuple[Pairs, Pairs]:
        """The last `holdout` share of the frames (at least one) is held out: later in time, unseen."""
        cut = len(self) - max(1, int(round(len(self) * holdout)))
        if cut < 1:
            raise ReenactError(f"only {len(self)} usable frame(s): too few to train and to hold some out",
                               hint="use a longer target video with the face visible")
        pick = lambda s: Pairs(self.renders[s], self.reals[s], self.maps[s], self.blends[s], self.frames[s])  # noqa: E731
        return pick(slice(0, cut)), pick(slice(cut, None))


def load_or_build(video: Path, size: int, max_frames: int | None, cache: Path, progress: bool = True) -> Pairs:
    key = f"{CACHE_VERSION}|{video.resolve()}|{video.stat().st_size}|{video.stat().st_mtime_ns}|{size}|{max_frames}"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                maps = data["maps"]
                return Pairs(data["renders"], data["reals"], maps, _blends(maps), data["frames"])
    pairs = build(video, size, max_frames, progress)
    write_atomically(cache, lambda partial: _save_npz(partial, key=np.array(key), renders=pairs.renders,
                                                      reals=pairs.reals, maps=pairs.maps, frames=pairs.frames))
    return pairs


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    """What np.savez writes, but the archive is closed here: on a full disk numpy leaves that to the
    garbage collector, which prints the same error again as an ignored exception."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def build(video: Path, size: int, max_frames: int | None, progress: bool = True) -> Pairs:
    frames, tracks = _track(video, max_frames, progress)
    valid = [i for i, t in enumerate(tracks) if t is not None]
    if len(valid) < 2:
        raise ReenactError(f"a face was found in {len(valid)} of {len(frames)} frames", where=str(video),
                           hint="the target video must show the target's face in most frames")
    reference = valid[0]
    height, width = frames[0].shape[:2]
    scale = size / max(width, height)
    out = (int(width * scale) // MULTIPLE * MULTIPLE, int(height * scale) // MULTIPLE * MULTIPLE)
    render_size = (round(width * scale), round(height * scale))
    ref_track, ref_image = tracks[reference], Image(frames[reference])
    gpu = GpuContext.create(resolve().gpu)
    renderer = PortraitRenderer(gpu, samples=4)
    renders, reals, maps = [], [], []
    meshes = MeshBuilder(ref_track.landmarks, (width, height), GRID)
    try:
        for i in valid:
            track = tracks[i]
            gaze_px = (track.gaze - ref_track.gaze) * eye_widths(ref_track.landmarks)[:, None]
            mesh = meshes.build(track.landmarks, gaze_px)
            rendered = renderer.render(ref_image, mesh, render_size, (0.22, 0.06, 0.07), (0.86, 0.84, 0.78)).rgb()
            renders.append(rendered[:out[1], :out[0]])
            reals.append(resize(frames[i], *render_size)[:out[1], :out[0]])
            maps.append(conditioning_maps(scaled_landmarks(track.landmarks, (width, height), render_size),
                                          out).astype(np.uint8))
    finally:
        renderer.release()
        gpu.release()
    maps_array = np.stack(maps)
    return Pairs(np.stack(renders), np.stack(reals), maps_array, _blends(maps_array), np.array(valid))


def _track(video: Path, max_frames: int | None, progress: bool):
    reader = VideoReader(video)
    detector = FaceMeshDetector(static=False, max_faces=2)
    shown = Progress(max_frames, enabled=progress, unit="frames tracked")
    frames, tracks, previous = [], [], None
    try:
        while max_frames is None or len(frames) < max_frames:
            frame = reader.read()
            if frame is None:
                break
            faces = detector.detect(frame)
            points = pick_face(faces, previous) if faces else None
            previous = points if points is not None else previous
            frames.append(frame)
            tracks.append(face_track(points, (reader.width, reader.height), reader.time)  # as recorded (VFR too)
                          if points is not None else None)
            shown.update(len(frames), 0.0)
    finally:
        reader.close()
        detector.close()
    shown.finish(len(frames), 0.0)
    if not frames:
        raise ReenactError("the target video has no frames", where=str(video), hint="check the file")
    return frames, tracks


def _blends(maps: np.ndarray) -> np.ndarray:
    return np.stack([blend_mask(m[..., 0].astype(np.float32)) for m in maps])
