"""MediaPipe face mesh (478 refined landmarks) behind one small class.

Created once per node: MediaPipe 0.10.21 leaks memory when detectors are re-created.
"""
from __future__ import annotations

import numpy as np

from nodes.track.face_model import MESH_POINTS
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


def _pixel_faces(mesh: QuietSolution, rgb: np.ndarray) -> list[np.ndarray]:
    """The faces `mesh` finds in `rgb`: (478, 3) float32 landmark pixels each."""
    height, width = rgb.shape[:2]
    faces = [face * np.array([width, height, width], np.float32) for face in mesh.landmark_lists(rgb, FACES)]
    return [face for face in faces if np.isfinite(face).all()]


class _MeshForTheCount:
    """Video that may show several faces. The face mesh runs its face detector on every frame on which it
    follows fewer faces than it may: with room for two and one person in view, the usual webcam, on every
    frame (0.9 ms of its 2.6 at 512² on this CPU; the chain ran 6% slower for it). So a look with the same
    detector every LOOK_EVERY frames counts the faces in view: while it sees one or none, a mesh for one
    face follows; while it sees more, the mesh for all. A second person is picked up within LOOK_EVERY
    frames of coming into view.

    The look misses faces small in the frame: while the mesh for all still follows several, a look that
    sees one is not believed (handed over, the mesh for one dropped the other person until the next look,
    or failed to find the face followed and was undone, every look). The mesh that takes over looks afresh
    (what it followed last may be gone); the mesh for one face would take whichever person its detector
    likes best, so it is shown the face followed so far alone first, and where it still finds another (or
    none), the mesh for all stays."""

    def __init__(self, max_faces: int, min_confidence: float):
        from mediapipe.python.solutions import face_detection

        self._one = _face_mesh(False, 1, min_confidence)
        self._all = _face_mesh(False, max_faces, min_confidence)
        self._look = QuietSolution(face_detection.FaceDetection(model_selection=0,
                                                                min_detection_confidence=min_confidence))
        self._frames = 0
        self._following = 0  # faces the mesh found last frame
        self.several = False

    def faces(self, rgb: np.ndarray, follow: np.ndarray | None) -> list[np.ndarray]:
        """`_pixel_faces` of this frame; follow: the followed face's (478, 2+) landmark pixels in `rgb`."""
        handing_over = False
        if self._frames % LOOK_EVERY == 0:
            # the look misses faces small in the frame: while the mesh for all still follows several, it stays
            several = len(self._look.output(rgb, "detections") or ()) > 1 or (self.several and self._following > 1)
            if several != self.several:
                self.several = several
                taking_over = self._current()
                taking_over.prime(_NOBODY, FACES)  # it drops what it followed: its next frame's detector looks
                if not several and follow is not None:
                    taking_over.prime(_alone(rgb, follow), FACES)
                    handing_over = True
        self._frames += 1
        faces = _pixel_faces(self._current(), rgb)
        if handing_over and not any(_same_face(face, follow) for face in faces):
            self.several = True
            faces = _pixel_faces(self._all, rgb)
        self._following = len(faces)
        return faces

    def _current(self) -> QuietSolution:
        return self._all if self.several else self._one

    def close(self) -> None:
        for solution in (self._one, self._all, self._look):
            solution.close()


def _same_face(face: np.ndarray, other: np.ndarray) -> bool:
    """Whether two faces' landmarks lie within half a face's width of each other."""
    centre, other_centre = face[:MESH_POINTS, :2].mean(axis=0), other[:MESH_POINTS, :2].mean(axis=0)
    return float(np.linalg.norm(centre - other_centre)) < 0.5 * float(np.ptp(other[:MESH_POINTS, 0]))


_NOBODY = np.zeros((32, 32, 3), np.uint8)
ALONE_MARGIN = 0.25  # of the face's size: the room kept around a followed face shown alone


def _alone(rgb: np.ndarray, face: np.ndarray) -> np.ndarray:
    """`rgb` with nothing but the face (its landmarks' box, a little wider) left in view."""
    low, high = face[:MESH_POINTS, :2].min(axis=0), face[:MESH_POINTS, :2].max(axis=0)
    margin = ALONE_MARGIN * (high - low)
    (left, top), (right, bottom) = np.floor(low - margin).astype(int), np.ceil(high + margin).astype(int)
    alone = np.zeros_like(rgb)
    top, left = max(top, 0), max(left, 0)
    alone[top:bottom, left:right] = rgb[top:bottom, left:right]
    return alone


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

    def detect(self, rgb: np.ndarray, follow: np.ndarray | None = None) -> list[np.ndarray]:
        """follow: the face followed so far (its landmark pixels), which a change of meshes keeps following."""
        turns = self._settled if self._settled is not None else self._upright.turns(rgb)
        turned = np.ascontiguousarray(np.rot90(rgb, turns))
        if follow is not None and turns:  # into the turned image's pixels: turned back the other way
            follow = turned_back(follow, (turned.shape[1], turned.shape[0]), -turns)
        faces = self._detect(turned, follow)
        if faces and self._settles:
            self._settled = turns
        self.turns = turns
        return [turned_back(face, (rgb.shape[1], rgb.shape[0]), turns) for face in faces] if turns else faces

    @property
    def several(self) -> bool:
        """Whether the mesh for all faces follows (video with room for several): the last look saw more than
        one, or the mesh for one could not take over the face followed."""
        return self._meshes is not None and self._meshes.several

    def _detect(self, rgb: np.ndarray, follow: np.ndarray | None) -> list[np.ndarray]:
        return _pixel_faces(self._mesh, rgb) if self._meshes is None else self._meshes.faces(rgb, follow)

    def close(self) -> None:
        (self._mesh or self._meshes).close()
        if self._upright is not None:
            self._upright.close()
