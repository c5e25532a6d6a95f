"""The background plate: the portrait with the person removed and the hole inpainted, made once per
portrait. Where the head or body moves away from where it was, the render shows this plate (a static
room behind a moving person) instead of stretching the portrait's own edge pixels into a smear."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from nodes.track.segmentation import person_mask

WORKING_SIDE = 256  # inpainting runs at this longest side: a plate is seen only in thin uncovered strips
HOLE_MARGIN = 0.02  # of the longest side: the hole is grown past the soft silhouette edge
EDGE_BLEND = 0.015  # of the longest side: how far into the person their edge's colours still blend with the room
REACH_SIGMAS = (3.0, 12.0)  # pixels: the person's colours carried past its edge from near, then from further


@dataclass(frozen=True)
class PersonAndPlate:
    """mask: (H, W) float32 0..1, the person's silhouette; plate: (H, W, 3) uint8 without the person;
    extended: (H, W, 3) uint8, the person with their colours carried past their silhouette over the room
    (`person_extended`)."""

    mask: np.ndarray
    plate: np.ndarray
    extended: np.ndarray


def person_and_plate(rgb: np.ndarray, plate: np.ndarray | None = None) -> PersonAndPlate:
    """Segment the person in an RGB uint8 (H, W, 3) portrait; the room behind them is `plate` when given
    (resized to the portrait), else inpainted from the portrait."""
    mask = person_mask(rgb)
    extended = person_extended(rgb, mask)
    height, width = mask.shape
    if plate is not None:
        return PersonAndPlate(mask, cv2.resize(np.ascontiguousarray(plate[:, :, :3]), (width, height),
                                               interpolation=cv2.INTER_AREA), extended)
    grow = max(1, round(HOLE_MARGIN * max(width, height)))
    hole = cv2.dilate((mask > 0.2).astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    scale = min(1.0, WORKING_SIDE / max(width, height))
    small = (max(1, round(width * scale)), max(1, round(height * scale)))
    small_rgb = cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), small, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole, small, interpolation=cv2.INTER_NEAREST)
    filled = cv2.inpaint(small_rgb, small_hole, 5, cv2.INPAINT_TELEA)
    # inpainting's streaks and wedges read as texture; a blur reads as depth of field
    filled = cv2.GaussianBlur(filled, (0, 0), 5.0)
    full = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    # the real background wherever the portrait shows it, even inside the grown hole (the hole only keeps
    # the hair's colour out of the fill); the silhouette's fringe, half hair and half room, is filled too,
    # or a moved head would leave a faint outline of itself behind
    fringe = max(2, round(0.012 * max(width, height)))  # loose hairs reach past the mask
    person = cv2.dilate((mask > 0.05).astype(np.float32), np.ones((2 * fringe + 1, 2 * fringe + 1), np.uint8))
    person = cv2.GaussianBlur(person, (0, 0), fringe / 2)[:, :, None]
    plate = rgb[:, :, :3].astype(np.float32) * (1.0 - person) + full * person
    return PersonAndPlate(mask, plate.round().astype(np.uint8), extended)


def person_extended(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: the portrait inside the person (`mask`, (H, W) 0..1) short of their soft edge,
    elsewhere the person's nearest colours (normalized convolution: near the edge from close by, further out from wider). A turned face
    turned back shows the side of its nose and cheek that the portrait hides: the face mesh reaches a
    little past the silhouette there, and stretched, those room pixels would read as a blue bite."""
    inset = max(1, round(EDGE_BLEND * max(mask.shape)))
    known = cv2.erode((mask >= 0.5).astype(np.float32), np.ones((2 * inset + 1, 2 * inset + 1), np.uint8))
    colours = rgb[:, :, :3].astype(np.float32) * known[:, :, None]
    filled = np.zeros_like(colours)
    missing = np.ones_like(known)
    for sigma in REACH_SIGMAS:
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        estimate = cv2.GaussianBlur(colours, (0, 0), sigma) / np.maximum(weight, 1e-6)[:, :, None]
        use = missing * (weight > 0.02)
        filled += estimate * use[:, :, None]
        missing -= use
    extended = filled + rgb[:, :, :3].astype(np.float32) * missing[:, :, None]  # far from the person: as it is
    extended = np.where(known[:, :, None] > 0, rgb[:, :, :3], extended)
    return np.clip(extended.round(), 0, 255).astype(np.uint8)
