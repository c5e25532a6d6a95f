"""The target video's room: a per-pixel median over sample frames of the pixels where the person is
not, so a person who moves through the clip uncovers the room behind them. Pixels the person covers in
every sample are filled as a still portrait's plate is (inpainted, nodes/render/plate.py)."""
from __future__ import annotations

import cv2
import numpy as np

from nodes.render.plate import HOLE_MARGIN, person_and_plate
from nodes.render.ramps import smoothstep
from nodes.track.segmentation import person_mask

PLATE_SAMPLES = 24  # frames spread over the clip; a median of more changes little and costs ~15 ms each
PERSON = 0.2  # a pixel this surely the person's is not room (soft hair edges included)
SEAM_BAND = 0.015  # of the longest side: how far into the seen room it blends with the inpainted room


def room_plate(frames: list[np.ndarray], turns: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 of K (H, W, 3) uint8 RGB frames of one size: each pixel's median over the frames
    where the person is not there (the lower middle value where their count is even). turns: the quarter
    turns (np.rot90's) that stand the person upright, for the segmentation (as `person_and_plate`'s)."""
    if turns % 4:
        return np.ascontiguousarray(np.rot90(room_plate([np.rot90(f, turns) for f in frames]), -turns))
    height, width = frames[0].shape[:2]
    grow = max(1, round(HOLE_MARGIN * max(width, height)))
    kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    person = np.stack([cv2.dilate((person_mask(f) > PERSON).astype(np.uint8), kernel) > 0 for f in frames])
    values = np.stack(frames).astype(np.uint16)
    values[person] = np.iinfo(np.uint16).max  # sorts after every real value
    values.sort(axis=0)
    counts = (~person).sum(axis=0)  # (H, W) frames that see the room there
    middle = np.broadcast_to((np.maximum(counts, 1) - 1)[None, :, :, None] // 2, (1, height, width, 3))
    median = np.take_along_axis(values, middle, axis=0)[0].astype(np.uint8)
    if counts.all():
        return median
    hidden = person_and_plate(frames[len(frames) // 2]).plate  # the room never seen: inpainted
    # the seen room eases into the inpainted one: switched at once, their meeting showed as a hard outline
    # of the head beside it when the head moved (single_face.mp4, whose room behind the head is never seen)
    seen = cv2.distanceTransform((counts > 0).astype(np.uint8), cv2.DIST_L2, 3)
    weight = smoothstep(0.0, SEAM_BAND * max(width, height), seen)[:, :, None]
    return (median * weight + hidden * (1.0 - weight)).round().astype(np.uint8)
