"""Hands in front of the face: MediaPipe Hands (same 0.10.21 wheel) and which face regions they cover.

A hand over the mouth or the eyes makes the face mesh report an expression that is not there (a wide
mouth, shut eyes); the tracker marks those regions as covered so nothing downstream takes them at
their word."""
from __future__ import annotations

import numpy as np
from skimage.measure import points_in_poly
from scipy.spatial import ConvexHull, QhullError

from nodes.track.face_model import topology
from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe

REGIONS = ("mouth", "right_eye", "left_eye", "brows")
HULL_GROWTH = 1.15  # fingers' edges: the landmarks sit inside the skin's outline


class HandDetector:
    """detect(rgb uint8 (H, W, 3)) -> list of (21, 2) float pixel landmarks, one per hand."""

    def __init__(self) -> None:
        with starting_mediapipe():
            from mediapipe.python.solutions import hands

            self._hands = QuietSolution(hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=0,
                                                    min_detection_confidence=0.5, min_tracking_confidence=0.5))

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        return [hand[:, :2].astype(np.float64) * (width, height)
                for hand in self._hands.landmark_lists(rgb, "multi_hand_landmarks")]

    def close(self) -> None:
        self._hands.close()


def region_points() -> dict[str, np.ndarray]:
    topo = topology()
    return {"mouth": topo.regions["mouth"], "right_eye": topo.right_eye, "left_eye": topo.left_eye,
            "brows": topo.regions["brows"]}


def covered_regions(landmarks: np.ndarray, hands: list[np.ndarray]) -> np.ndarray:
    """(len(REGIONS),) the share 0..1 of each face region's landmarks that some hand covers."""
    points = region_points()
    covered = np.zeros(len(REGIONS))
    for hand in hands:
        outline = _grown_hull(hand)
        if outline is None:
            continue
        for k, region in enumerate(REGIONS):
            inside = points_in_poly(landmarks[points[region], :2], outline)
            covered[k] = max(covered[k], float(inside.mean()))
    return covered


def _grown_hull(hand: np.ndarray) -> np.ndarray | None:
    try:
        hull = hand[ConvexHull(hand).vertices]
    except QhullError:  # a degenerate (edge-on) hand covers nothing
        return None
    centre = hull.mean(axis=0)
    return centre + (hull - centre) * HULL_GROWTH
