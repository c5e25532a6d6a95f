"""The person's silhouette: MediaPipe selfie segmentation from the same 0.10.21 wheel."""
from __future__ import annotations

import numpy as np

from nodes.track.mediapipe_run import starting_mediapipe


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
