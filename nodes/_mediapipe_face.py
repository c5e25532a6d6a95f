"""MediaPipe face mesh (478 refined landmarks) behind one small class.

Created once per node: MediaPipe 0.10.21 leaks memory when detectors are re-created.
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging: errors only
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class FaceMeshDetector:
    """detect(rgb uint8 (H, W, 3)) -> list of (478, 3) float32 landmark arrays in pixels.

    static: treat every frame as unrelated (photos); else track between frames (video, faster).
    """

    def __init__(self, static: bool, max_faces: int, min_confidence: float = 0.5):
        from mediapipe.python.solutions import face_mesh

        self._mesh = face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces,
                                        refine_landmarks=True, min_detection_confidence=min_confidence,
                                        min_tracking_confidence=min_confidence)

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for face in result.multi_face_landmarks or ():
            points = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)
            points *= np.array([width, height, width], np.float32)
            if np.isfinite(points).all():
                faces.append(points)
        return faces

    def close(self) -> None:
        self._mesh.close()
