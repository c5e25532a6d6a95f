"""MediaPipe face mesh (478 refined landmarks) behind one small class.

Created once per node: MediaPipe 0.10.21 leaks memory when detectors are re-created.
"""
from __future__ import annotations

import numpy as np

from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe
from nodes.track.upright import UprightTurns, turned_back


LOOK_EVERY = 8  # video frames between looks for how many faces are in view
FACES = "multi_face_landmarks"  # the face mesh's output stream


def _face_mesh(static: bool, max_faces: int, min_confidence: float) -> QuietSolution:
    """Call inside starting_mediapipe."""
    from mediapipe.python.solutions import face_mesh

    return QuietSolution(face_mesh.FaceMesh(static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
                                            min_detection_confidence=min_confidence,
                                            min_tracking_confidence=min_confidence))


class _MeshForTheCount:
    """Video that may show several faces. The face mesh runs its face detector on every frame on which it
    follows fewer faces than it may: with room for two and one person in view, the usual webcam, on every
    frame (0.9 ms of its 2.6 at 512² on this CPU; the chain ran 6% slower for it). So a look with the same
    detector every LOOK_EVERY frames counts the faces in view: while it sees one or none, a mesh for one
    face follows; while it sees more, the mesh for all. A second person is picked up within LOOK_EVERY
    frames of coming into view."""

    def __init__(self, max_faces: int, min_confidence: float):
        from mediapipe.python.solutions import face_detection

        self._one = _face_mesh(False, 1, min_confidence)
        self._all = _face_mesh(False, max_faces, min_confidence)
        self._look = QuietSolution(face_detection.FaceDetection(model_selection=0,
                                                                min_detection_confidence=min_confidence))
        self._frames = 0
        self.several = False

    def mesh(self, rgb: np.ndarray) -> QuietSolution:
        """The mesh to track this frame with."""
        if self._frames % LOOK_EVERY == 0:
            several = len(self._look.output(rgb, "detections") or ()) > 1
            if several != self.several:
                self.several = several
                self._current().packet(_NOBODY, FACES)  # its faces are as it last saw them: it looks afresh
        self._frames += 1
        return self._current()

    def _current(self) -> QuietSolution:
        return self._all if self.several else self._one

    def close(self) -> None:
        for solution in (self._one, self._all, self._look):
            solution.close()


_NOBODY = np.zeros((32, 32, 3), np.uint8)


class FaceMeshDetector:
    """detect(rgb uint8 (H, W, 3)) -> list of (478, 3) float32 landmark arrays in pixels.

    static: treat every frame as unrelated (photos); else track between frames (video, faster; with
    max_faces over one, see _MeshForTheCount).
    upright: a face on its side or upside down is tracked turned upright (`upright.py`), by the turn found
    for each image ("each"), by the one found on the first image with a face ("first": a clip recorded on
    its side), or not looked for ("off"); "auto": each photo, no video (a live source would pay for the
    looking on every frame without a face). `turns`: the quarter turns the last image was tracked at.
    """

    def __init__(self, static: bool, max_faces: int, min_confidence: float = 0.5, upright: str = "auto"):
        with starting_mediapipe():
            if static or max_faces == 1:
                self._meshes, self._mesh = None, _face_mesh(static, max_faces, min_confidence)
            else:
                self._meshes, self._mesh = _MeshForTheCount(max_faces, min_confidence), None
        if upright == "auto":
            upright = "each" if static else "off"
        self._upright = None if upright == "off" else UprightTurns(min_confidence)
        self._settles = upright == "first"
        self._settled: int | None = 0 if upright == "off" else None
        self.turns = 0

    def detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        turns = self._settled if self._settled is not None else self._upright.turns(rgb)
        faces = self._detect(np.ascontiguousarray(np.rot90(rgb, turns)))
        if faces and self._settles:
            self._settled = turns
        self.turns = turns
        return [turned_back(face, (rgb.shape[1], rgb.shape[0]), turns) for face in faces] if turns else faces

    @property
    def several(self) -> bool:
        """Whether the last look saw more than one face (video with room for several; else False)."""
        return self._meshes is not None and self._meshes.several

    def _detect(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        mesh = self._mesh if self._meshes is None else self._meshes.mesh(rgb)
        faces = []
        for face in mesh.landmark_lists(rgb, FACES):
            points = face * np.array([width, height, width], np.float32)
            if np.isfinite(points).all():
                faces.append(points)
        return faces

    def close(self) -> None:
        (self._mesh or self._meshes).close()
        if self._upright is not None:
            self._upright.close()
