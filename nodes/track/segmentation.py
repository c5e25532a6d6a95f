"""The person's silhouette: MediaPipe selfie segmentation from the same 0.10.21 wheel, and for a still
portrait, its body's doubts settled by the pose model's own silhouette."""
from __future__ import annotations

import cv2
import numpy as np

from nodes.track.mediapipe_run import starting_mediapipe

# The selfie model reads a strip of room hemmed in by the body and the frame's edge as half person: the
# astronaut's flag beside her sleeve, 0.5-0.7 (the pose model: 0.0). Taken for her, it went along with her
# torso and smeared into blocks of stripes. Below the shoulders, the pose model overrules a doubt (DOUBT) at
# least WIDE across that lies further than BODY_FAR from its own silhouette; a soft edge is thinner than
# WIDE, and round the head the pose model's silhouette is too coarse to overrule (it cut a profile's nose).
DOUBT = (0.2, 0.85)
WIDE = 0.012  # of the longest side: the doubt's least radius
BODY_FAR = 0.01  # of the longest side
FEATHER = 0.004  # of the longest side: the overruled part's edge is this soft (cut hard, it drew a notch)
SHOULDERS = (11, 12)  # the pose model's landmarks


def person_mask(rgb: np.ndarray) -> np.ndarray:
    """(H, W) float32 in 0..1: how surely each pixel of an RGB uint8 (H, W, 3) image shows the person
    (hair, face, neck, clothes) rather than the background. For stills: a fresh model per call."""
    with starting_mediapipe():
        from mediapipe.python.solutions import selfie_segmentation

        model = selfie_segmentation.SelfieSegmentation(model_selection=0)  # 0: the general (portrait) model
        try:
            result = model.process(np.ascontiguousarray(rgb[:, :, :3]))
        finally:
            model.close()
    mask = result.segmentation_mask
    if mask is None:
        return np.zeros(rgb.shape[:2], np.float32)
    return np.clip(np.nan_to_num(mask.astype(np.float32)), 0.0, 1.0)


def portrait_person_mask(rgb: np.ndarray) -> np.ndarray:
    """`person_mask` of a still portrait with the wide doubts below its shoulders that the pose model sees
    as room taken out (see DOUBT): a fifth of a second more, once per portrait. As it is where the pose
    model finds no body (some black and white photos)."""
    mask = person_mask(rgb)
    found = _body_silhouette(rgb)
    if found is None:
        return mask
    body, shoulders_y = found
    side = max(mask.shape)
    doubt = ((mask > DOUBT[0]) & (mask < DOUBT[1])).astype(np.uint8)
    radius = max(1, round(WIDE * side))
    wide = cv2.morphologyEx(doubt, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2))
    far = cv2.distanceTransform((body < 0.5).astype(np.uint8), cv2.DIST_L2, 3) > BODY_FAR * side
    below = np.arange(mask.shape[0])[:, None] > shoulders_y
    room = ((wide > 0) & far & below).astype(np.float32)
    if not room.any():
        return mask
    # feathered into the doubt around it only: the person's sure pixels stay as they are
    room = np.maximum(room, cv2.GaussianBlur(room, (0, 0), FEATHER * side) * (mask < DOUBT[1]))
    return (mask * (1.0 - room)).astype(np.float32)


def _body_silhouette(rgb: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(the pose model's (H, W) silhouette 0..1, its shoulders' higher y in pixels), or None without a body."""
    with starting_mediapipe():
        from mediapipe.python.solutions import pose

        model = pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True)
        try:
            result = model.process(np.ascontiguousarray(rgb[:, :, :3]))
        finally:
            model.close()
    if result.segmentation_mask is None or result.pose_landmarks is None:
        return None
    marks = result.pose_landmarks.landmark
    shoulders_y = min(marks[i].y for i in SHOULDERS) * rgb.shape[0]
    return (np.nan_to_num(result.segmentation_mask.astype(np.float32)), shoulders_y) if np.isfinite(shoulders_y) \
        else None
