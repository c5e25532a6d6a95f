"""MediaPipe face mesh (478 refined landmarks) behind one small class.

Created once per node: MediaPipe 0.10.21 leaks memory when detectors are re-created.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Iterator

import numpy as np

from app.runtime.errors import ReenactError
from nodes.track.upright import UprightTurns, turned_back


class _StderrMute:
    """Descriptor 2 is one per process, and trackers start on several threads at once (hands and pose
    on their workers, the face mesh on the graph's): each saving and restoring it on its own let one
    restore the other's devnull, or unmute it mid start-up. So the first to enter mutes, the last to leave
    restores."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: int | None = None

    def enter(self) -> None:
        with self._lock:
            if self._depth == 0:
                sys.stderr.flush()
                self._saved = os.dup(2)
                with open(os.devnull, "wb") as devnull:
                    os.dup2(devnull.fileno(), 2)
            self._depth += 1

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._saved is not None:
                os.dup2(self._saved, 2)
                os.close(self._saved)
                self._saved = None


_STDERR_MUTE = _StderrMute()


@contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ side prints one-time warnings (TFLite delegate, feedback tensors) straight to
    file descriptor 2 while a graph starts; they mean nothing to a user. Muted only around start-up."""
    _STDERR_MUTE.enter()
    try:
        yield
    finally:
        _STDERR_MUTE.leave()


@contextmanager
def starting_mediapipe() -> Iterator[None]:
    """Around making a MediaPipe solution: its start-up muted (native_stderr_silenced), and the failure of
    one meeting a protobuf it was not built for said as such. MediaPipe 0.10.21 needs protobuf < 5; with a
    newer one (another package upgraded it) it fails inside its graph set-up ('FieldDescriptor' object has
    no attribute 'label'), which names neither."""
    with native_stderr_silenced():
        try:
            yield
        except (AttributeError, TypeError) as exc:
            from google.protobuf import __version__ as protobuf

            if int(protobuf.split(".")[0]) < 5:
                raise
            raise ReenactError(f"MediaPipe cannot start with protobuf {protobuf} ({exc})",
                               hint="MediaPipe 0.10.21 needs protobuf 4: pip install 'protobuf>=4.25.3,<5'") from None


LOOK_EVERY = 8  # video frames between looks for how many faces are in view


class QuietSolution:
    """A MediaPipe solution, made inside starting_mediapipe, whose start-up and first frame stay muted.

    Its graph's threads open the models, and log as they do, after the constructor has returned: muting
    only the constructor let those lines through now and then (a race), so the graph is waited for until
    idle while still muted. Its models log again as they first run: the first frame is muted too."""

    def __init__(self, solution):
        solution._graph.wait_until_idle()  # no public way; SolutionBase.process does the same after each frame
        self._solution = solution
        self._started = False

    def process(self, rgb: np.ndarray):
        if self._started:
            return self._solution.process(rgb)
        with native_stderr_silenced():
            result = self._solution.process(rgb)
        self._started = True
        return result

    def close(self) -> None:
        self._solution.close()


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
            several = len(self._look.process(rgb).detections or ()) > 1
            if several != self.several:
                self.several = several
                self._current().process(_NOBODY)  # its faces are as it last saw them: it looks afresh
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
        for face in mesh.process(rgb).multi_face_landmarks or ():
            points = np.array([(p.x, p.y, p.z) for p in face.landmark], np.float32)
            points *= np.array([width, height, width], np.float32)
            if np.isfinite(points).all():
                faces.append(points)
        return faces

    def close(self) -> None:
        (self._mesh or self._meshes).close()
        if self._upright is not None:
            self._upright.close()
