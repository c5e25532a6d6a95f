"""Self-reenactment pairs from a target video: a recorded frame of the target rendered into frame t's
tracked pose and expression (the same frame selection, mesh and renderer as the video-target graph),
next to the real frame t. Tracked once into the graph's own frame bank, rendered once, and cached next
to the weights (npz, never pickled)."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.runtime.progress import Progress
from app.runtime.errors import ReenactError
from app.runtime.options import resolve
from app.runtime.gpu.context import GpuContext
from nodes.track.face_model import eye_widths
from nodes.image.convert import resize
from nodes.refine.maps import blend_mask, conditioning_maps, scaled_landmarks
from nodes.render.warp_mesh import MeshBuilder
from nodes.render.renderer import PortraitRenderer
from nodes.target.bank import FrameBank
from nodes.target.features import Weights, match_costs
from nodes.target.index import IndexSettings
from nodes.target.index import load_or_build as load_or_build_index
from nodes.output.folders import write_atomically

CACHE_VERSION = "2"  # 2: rendered from the frame bank's selection, not from the first frame
SOURCE_GAP_SECONDS = 0.5
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


def load_or_build(video: Path, size: int, max_frames: int | None, cache: Path, progress: bool = True,
                  state_dir: Path | None = None) -> Pairs:
    """The pairs from `cache` when it was made from this clip at these settings, else built and cached.
    state_dir: where the clip's frame bank is cached (the options' state folder by default)."""
    key = f"{CACHE_VERSION}|{video.resolve()}|{video.stat().st_size}|{video.stat().st_mtime_ns}|{size}|{max_frames}"
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                maps = data["maps"]
                return Pairs(data["renders"], data["reals"], maps, _blends(maps), data["frames"])
    pairs = build(video, size, max_frames, progress, state_dir)
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


def build(video: Path, size: int, max_frames: int | None, progress: bool = True,
          state_dir: Path | None = None) -> Pairs:
    """Each frame t of the clip's frame bank, rendered from the bank frame the run's `target.select`
    would pick for t's pose and expression (with its default weights), leaving out the frames within
    SOURCE_GAP_SECONDS of t (else t itself would be picked and there would be nothing to learn). So the
    refiner is trained on the kind of render it refines at run time. The bank is the video-target
    graph's own index: tracked once for both, cached under the state folder."""
    bank = _bank(video, max_frames, progress, state_dir)
    if len(bank) < 2:
        raise ReenactError(f"a face was found in {len(bank)} of {int(bank.index.frames_seen)} frames", where=str(video),
                           hint="the target video must show the target's face in most frames")
    width, height = bank.size
    scale = size / max(width, height)
    out = (int(width * scale) // MULTIPLE * MULTIPLE, int(height * scale) // MULTIPLE * MULTIPLE)
    render_size = (round(width * scale), round(height * scale))
    gpu = GpuContext.create(resolve().gpu)
    renderer = PortraitRenderer(gpu, samples=4)
    builders: dict[int, MeshBuilder] = {}
    renders, reals, maps = [], [], []
    try:
        for row in range(len(bank)):
            source = _source_row(bank, row)
            if source not in builders:
                builders[source] = MeshBuilder(bank.track(source).landmarks, bank.size, GRID)
            track, source_track = bank.track(row), bank.track(source)
            gaze_px = (track.gaze - source_track.gaze) * eye_widths(source_track.landmarks)[:, None]
            mesh = builders[source].build(track.landmarks, gaze_px)
            rendered = renderer.render(bank.image(source), mesh, render_size, (0.22, 0.06, 0.07),
                                       (0.86, 0.84, 0.78)).rgb()
            renders.append(rendered[:out[1], :out[0]])
            reals.append(resize(bank.image(row).rgb(), *render_size)[:out[1], :out[0]])
            maps.append(conditioning_maps(scaled_landmarks(track.landmarks, bank.size, render_size),
                                          out).astype(np.uint8))
    finally:
        renderer.release()
        gpu.release()
    maps_array = np.stack(maps)
    return Pairs(np.stack(renders), np.stack(reals), maps_array, _blends(maps_array), bank.frame_numbers.copy())


def _bank(video: Path, max_frames: int | None, progress: bool, state_dir: Path | None) -> FrameBank:
    shown = Progress(max_frames, enabled=progress, unit="target frames tracked")
    index, how = load_or_build_index(video, state_dir or resolve().state_dir, IndexSettings(max_frames=max_frames or 0),
                                     lambda seen: shown.update(seen, 0.0))
    if how != "loaded":
        shown.finish(int(index.frames_seen), 0.0)
    return FrameBank(index, video)


def _source_row(bank: FrameBank, row: int) -> int:
    """The bank frame to render frame `row` from: the best match away from `row`'s own moment, else (a clip
    shorter than the gap) the reference frame."""
    away = np.abs(bank.index.timestamps - bank.index.timestamps[row]) >= SOURCE_GAP_SECONDS
    if not away.any():
        return bank.reference
    costs = match_costs(bank.features, bank.features[row], Weights())
    return int(np.flatnonzero(away)[np.argmin(costs[away])])


def _blends(maps: np.ndarray) -> np.ndarray:
    return np.stack([blend_mask(m[..., 0].astype(np.float32)) for m in maps])
