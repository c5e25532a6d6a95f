"""score(): measure an output video against the driver video that drove it.

Both videos are read frame by frame in step (memory stays flat on long clips): each output frame is paired
with the driver frame shown at its time (app/quality/in_time.py), and both are tracked with the studio's
face tracker. An output a few frames shorter (or longer) than its driver is normal: the common part is
compared and the counts are reported.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.quality.features import FEATURES, frame_features
from app.quality.image_metrics import SelfReenactmentScores
from app.quality.in_time import Playhead, half_frame
from app.quality.sources import FaceTracker, Video, check_video, read_target
from app.quality.transfer import MIN_FRAMES, motion_transfer, narrow_eyes
from app.runtime.errors import ReenactError
from nodes.render.glasses import wears_glasses

# The tracker reads eyes behind glasses poorly: Grace Hopper's renders shut their eyes with the driver's, yet
# re-tracked they never read shut (openness gain 0.03-0.08)
GLASSES_NOTE = ("the target wears glasses: the tracker reads the eyes behind them poorly, so the output's eye "
                "openness and shut-eye agreement read low; look at the frames (--sheet)")


def score(driver_path: Path | str, output_path: Path | str, target_path: Path | str | None = None,
          self_reenactment: bool = False, *, image_stride: int = 1) -> dict:
    """A JSON-serialisable report (no NaN: None where there is no value) of how well the output follows
    the driver:

    "motion": motion-transfer metrics (app.quality.transfer.motion_transfer);
    "image": with self_reenactment (the output is the driver's first frame driven by the driver itself),
        PSNR, SSIM and L1 against the real frames, whole and in the face box, next to a frozen-frame
        baseline (app.quality.image_metrics.SelfReenactmentScores); None otherwise;
    "target": the target portrait's own features, when a target (still or video) is given; its eye
        openness is then the output's open level for closed-eye agreement;
    "driver", "output": path, frames, fps, frames with a face; "compared_frames"; "notes".

    image_stride: image metrics on every k-th compared frame only (SSIM costs about 0.1 s per frame on
    a CPU core); motion is measured on every frame. Raises ReenactError for a missing or unreadable
    file, a video without frames and a video or target without any face.
    """
    if image_stride < 1:
        raise ReenactError(f"image_stride must be 1 or more, not {image_stride}")
    # every file is checked before the slow part (tracking), so a wrong name fails in a moment
    driver_path, output_path = check_video(driver_path, "driver"), check_video(output_path, "output")
    target, target_notes = _target_features(Path(target_path)) if target_path is not None else (None, [])
    driver = Video(driver_path)
    try:
        output = Video(output_path)
    except BaseException:
        driver.close()
        raise
    images = SelfReenactmentScores() if self_reenactment else None
    driver_tracks: list[np.ndarray | None] = []
    output_tracks: list[np.ndarray | None] = []
    output_frames = 0
    try:
        driver_tracker, output_tracker = FaceTracker(), FaceTracker()
    except BaseException:
        driver.close()
        output.close()
        raise
    shown, real_points, driver_faces = None, None, 0
    try:
        playhead, half = Playhead(driver), half_frame(output)
        for moment, produced in output.timed_frames():
            output_frames += 1
            real = playhead.at(moment + half)
            if real is None:  # past the driver's end: only counted
                continue
            if real is not shown:  # a driver frame met again (an output at a higher rate) is tracked once
                shown, real_points = real, driver_tracker.track(real)
                driver_faces += real_points is not None
            if images is not None and len(driver_tracks) % image_stride == 0:
                images.add(real, produced, real_points)
            driver_tracks.append(real_points)
            output_tracks.append(output_tracker.track(produced))
        driver_frames = playhead.drain()
    finally:
        driver_tracker.close()
        output_tracker.close()
        driver.close()
        output.close()
    _require_faces(driver, driver_frames, driver_tracks, "the driver must show a face")
    _require_faces(output, output_frames, output_tracks, "a render without a face cannot follow the driver")
    if len(driver_tracks) < MIN_FRAMES:
        shorter = driver if driver_frames <= output_frames else output
        raise ReenactError(f"only {len(driver_tracks)} frame(s) in common: motion needs at least {MIN_FRAMES}",
                           where=str(shorter.path), hint="score a longer clip")
    return {
        "driver": _describe(driver, driver_frames, driver_faces),
        "output": _describe(output, output_frames, sum(points is not None for points in output_tracks)),
        "target": None if target is None else {"path": str(target_path),
                                               "features": dict(zip(FEATURES, target.tolist(), strict=True))},
        "compared_frames": len(driver_tracks),
        "notes": _notes(driver, output, driver_frames, output_frames, self_reenactment)
        + target_notes,
        "motion": motion_transfer(driver_tracks, output_tracks, target),
        "image": None if images is None else images.summary(),
    }


def _target_features(path: Path) -> tuple[np.ndarray, list[str]]:
    """frame_features of the target portrait (a still image, or a video's first frame), and notes on what
    in it the tracker reads poorly (narrow eyes, glasses)."""
    tracker = FaceTracker(static=True)
    rgb = read_target(path)
    try:
        points = tracker.track(rgb)
    finally:
        tracker.close()
    if points is None:
        raise ReenactError("no face found in the target", where=str(path),
                           hint="use a portrait with a visible face")
    features = frame_features(points)
    return features, narrow_eyes(features) + ([GLASSES_NOTE] if wears_glasses(rgb, points) else [])


def _require_faces(video: Video, frames: int, tracks: list[np.ndarray | None], hint: str) -> None:
    if frames == 0:
        raise ReenactError("the video has no frames", where=str(video.path))
    if all(points is None for points in tracks):
        raise ReenactError(f"no face found in any of the {len(tracks)} frames compared",
                           where=str(video.path), hint=hint)


def _describe(video: Video, frames: int, faces: int) -> dict:
    return {"path": str(video.path), "frames": frames, "fps": video.fps, "frames_with_face": faces}


def _notes(driver: Video, output: Video, driver_frames: int, output_frames: int,
           self_reenactment: bool = False) -> list[str]:
    """What a reader should know before trusting the numbers."""
    notes = []
    if abs(driver.end - output.end) > 0.5 / max(driver.fps, output.fps):  # by more than half a frame
        shorter = "output" if output.end < driver.end else "driver"
        notes.append(f"the {shorter} is {abs(driver.end - output.end):.2f} s shorter "
                     f"({driver_frames} driver frames, {output_frames} output frames): the first "
                     f"{min(driver.end, output.end):.2f} s are compared")
    if abs(driver.fps - output.fps) > 0.01:
        notes.append(f"frame rates differ (driver {driver.fps:g} fps, output {output.fps:g} fps): each output "
                     "frame is compared with the driver's frame shown at its time")
    elif driver.end and abs(driver_frames / driver.end - driver.fps) > 0.1 * driver.fps:
        notes.append(f"the driver's frames are not evenly spaced ({driver_frames} over {driver.end:.2f} s, where "
                     f"its header says {driver.fps:g} fps): each output frame is compared with the driver's frame "
                     "shown at its time, so a driver frame can count more than once")
    (driver_width, driver_height), (output_width, output_height) = driver.size, output.size
    if self_reenactment and driver.size != output.size:
        aspect = (output_width / output_height) / (driver_width / driver_height)
        stretched = (": the aspect ratios differ, so the output is stretched and the image metrics say little"
                     if abs(aspect - 1.0) > 0.02 else "")
        notes.append(f"sizes differ (driver {driver_width}x{driver_height}, output {output_width}x{output_height}): "
                     f"the output is resized to the driver's size for the image metrics{stretched}")
    return notes
