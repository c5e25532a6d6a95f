"""Faces too small for the face mesh's own detector: a group photo.

The face mesh finds faces with MediaPipe's short-range detector, made for a face filling much of a
selfie; in a group photo it sees one face of five, or none. The full-range detector (faces up to about
five metres away, in the same wheel) finds the others, and the mesh then runs on a crop around each.
"""
from __future__ import annotations

import numpy as np

from nodes.track.face_model import MESH_POINTS
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe

CROP = 2.2  # crop side in face-box sides: the face fills about half of it, as the mesh expects


class FaceFinder:
    """boxes(rgb) -> [(x0, y0, x1, y1)] in pixels, for every face the full-range detector sees."""

    def __init__(self, min_confidence: float = 0.5):
        with starting_mediapipe():
            from mediapipe.python.solutions import face_detection

            self._detector = QuietSolution(face_detection.FaceDetection(model_selection=1,
                                                                        min_detection_confidence=min_confidence))

    def boxes(self, rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
        height, width = rgb.shape[:2]
        found = self._detector.output(rgb, "detections") or ()
        boxes = []
        for detection in found:
            box = detection.location_data.relative_bounding_box
            boxes.append((round(box.xmin * width), round(box.ymin * height),
                          round((box.xmin + box.width) * width), round((box.ymin + box.height) * height)))
        return boxes

    def close(self) -> None:
        self._detector.close()


def faces_in_boxes(mesh: FaceMeshDetector, rgb: np.ndarray, boxes: list[tuple[int, int, int, int]],
                   known: list[np.ndarray]) -> list[np.ndarray]:
    """The mesh of each box that no known face covers, found on a crop around the box and mapped back
    to the picture's pixels (a crop keeps the scale, so only an offset)."""
    height, width = rgb.shape[:2]
    found = []
    for x0, y0, x1, y1 in boxes:
        centre = np.array([(x0 + x1) / 2.0, (y0 + y1) / 2.0])
        if any(_covers(face, centre) for face in known + found):
            continue
        half = CROP * max(x1 - x0, y1 - y0) / 2.0
        left, top = int(max(0, centre[0] - half)), int(max(0, centre[1] - half))
        right, bottom = int(min(width, centre[0] + half)), int(min(height, centre[1] + half))
        if right - left < 16 or bottom - top < 16:
            continue
        for face in mesh.detect(rgb[top:bottom, left:right]):
            face[:, :2] += (left, top)
            if _covers(face, centre):
                found.append(face)
                break
    return found


def _covers(face: np.ndarray, point: np.ndarray) -> bool:
    low, high = face[:MESH_POINTS, :2].min(axis=0), face[:MESH_POINTS, :2].max(axis=0)
    return bool(np.all(point >= low) and np.all(point <= high))
