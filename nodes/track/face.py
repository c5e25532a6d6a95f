"""Face tracking: MediaPipe face mesh → FaceTrack (landmarks, head pose, expression, gaze)."""
from __future__ import annotations

import numpy as np

from app.runtime.context import FrameContext, RunContext
from nodes.track.types import FaceTrack, in_frames
from app.runtime.gpu.image import Image
from app.runtime.late_pass import NOTHING, LatePass
from app.runtime.node import Node
from app.runtime import ports
from nodes.track.types import FACE_TRACK
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, Port
from nodes.track.face_model import MESH_POINTS, gaze_of, procrustes, reference_shape, to_head_space
from nodes.track.hands import HandDetector, covered_regions
from nodes.track.face_finder import FaceFinder, faces_in_boxes
from nodes.track.mediapipe_face import FaceMeshDetector
from nodes.track.occlusion import OcclusionHold


def face_track(points: np.ndarray, image_size: tuple[int, int], timestamp: float,
               confidence: float = 1.0) -> FaceTrack:
    """A FaceTrack from (478, 3) landmark pixels: pose by Procrustes against the reference shape."""
    reference = reference_shape()
    pose = procrustes(points, reference)
    shape = to_head_space(points, pose)
    return FaceTrack(points.astype(np.float32), pose, shape - reference, gaze_of(shape), confidence, True,
                     image_size, timestamp)


def pick_face(faces: list[np.ndarray], previous: np.ndarray | None,
              image_size: tuple[int, int] | None = None) -> np.ndarray:
    """With several faces: the one nearest the face tracked last (no flicker between people), else the
    largest, most central one (in a group photo, the one the picture is about): its area, weighed down
    by up to half for a face at the picture's corner."""
    if previous is not None:
        centre = previous[:MESH_POINTS, :2].mean(axis=0)
        return min(faces, key=lambda f: np.linalg.norm(f[:MESH_POINTS, :2].mean(axis=0) - centre))

    def prominence(face: np.ndarray) -> float:
        area = np.ptp(face[:MESH_POINTS, 0]) * np.ptp(face[:MESH_POINTS, 1])
        if image_size is None:
            return area
        half = np.array(image_size, np.float64) / 2.0
        off_centre = np.linalg.norm(face[:MESH_POINTS, :2].mean(axis=0) - half) / np.linalg.norm(half)
        return area * (1.0 - 0.5 * min(off_centre, 1.0))

    return max(faces, key=prominence)


class TrackFace(Node):
    schema = NodeSchema(
        type_id="track.face", title="Face Tracker", category="tracking",
        help="MediaPipe face mesh with refined iris landmarks (478 points): head pose by Procrustes against a "
             "reference shape, expression residual in head space, gaze. No face gives valid=false.",
        inputs=(Port("image", ports.IMAGE),),
        outputs=(Port("track", FACE_TRACK),),
        params=(
            Param("mode", ParamKind.ENUM, "video", "video: track between frames; photo: detect each frame "
                  "anew", choices=("video", "photo")),
            Param("max_faces", ParamKind.INT, 2, "faces to look for; the one followed stays the same",
                  minimum=1, maximum=8),
            Param("min_confidence", ParamKind.FLOAT, 0.5, "detection and tracking confidence", minimum=0.05,
                  maximum=0.99),
            Param("upright", ParamKind.ENUM, "auto", "a face on its side or upside down is tracked turned upright "
                  "(the mesh misplaces it as it lies). auto: each photo is looked at, video is not (a live source "
                  "would pay for the looking on every frame without a face); first: video too, turned as its first "
                  "frame with a face needs (a clip recorded on its side); off: never", choices=("auto", "first", "off")),
            Param("hands", ParamKind.BOOL, True, "look for hands in front of the face: a covered mouth, eye or brow "
                  "holds its last uncovered expression instead of driving the target with what the mesh guesses"),
            Param("hands_every", ParamKind.INT, 4, "while no hand is in view, look for one every Nth frame (each "
                  "look costs several ms); while one is, every frame. In video mode a look runs beside the rest "
                  "of the graph and what it saw counts from the next frame on", minimum=1, maximum=16),
            Param("occlusion_ease_ms", ParamKind.FLOAT, 300.0, "once uncovered, a held region eases back over this "
                  "long", minimum=0.0, maximum=3000.0),
        ),
        degrade=(Degrade("max_faces", (1,), "a second face coming into view is no longer looked for (in video a look "
                         "every few frames; with two in view, each one's landmarks)"),
                 Degrade("hands_every", (8, 16), "a hand raised in front of the face is noticed a few frames later")),
    )

    def open(self, run: RunContext) -> None:
        reference_shape()
        self._run = run
        self._frames = self._frames_with_face = 0
        self._told_several = self._told_turned = False
        self._detector = None
        self._finder: FaceFinder | None = None
        self._hands: HandDetector | None = None
        self._seen_hands: list[np.ndarray] = []
        self._hand_looks = LatePass(f"{self.node_id}-hands")
        run.passes.declare(self.node_id, lambda index: self.params.hands and self.params.mode == "video"
                           and self._look_due(index))
        self._hold = OcclusionHold(self.params.occlusion_ease_ms / 1000.0)
        self._previous: np.ndarray | None = None

    def params_changed(self, names: set[str]) -> None:
        self._hold.ease_seconds = self.params.occlusion_ease_ms / 1000.0
        # re-created with the new settings when next needed; the hands' detector does not depend on the others
        if names & {"mode", "max_faces", "min_confidence", "upright"}:
            self._release_faces()
        if "hands" in names:
            self._release_hands()

    def process(self, ctx: FrameContext, image: Image) -> dict:
        if self._detector is None:
            self._detector = FaceMeshDetector(self.params.mode == "photo", self.params.max_faces,
                                              self.params.min_confidence, self.params.upright)
        size = (image.width, image.height)
        timestamp = image.timestamp if image.timestamp is not None else ctx.time
        faces = self._detector.detect(image.rgb(), self._previous)
        if self.params.mode == "photo":  # a group photo's faces may be too small for the mesh's own detector
            faces += self._small_faces(image.rgb(), faces)
        self._tell_if_turned(faces)
        self._frames += 1
        if not faces:
            self._previous = None
            return {"track": FaceTrack.invalid(size, timestamp)}
        self._frames_with_face += 1
        if len(faces) > 1 and not self._told_several:
            self._told_several = True
            following = "the largest, most central one" if self._previous is None else "the one followed so far"
            self._run.notice(f"{self.node_id}: {len(faces)} faces in view; following {following}" + (
                " (raise max_faces to consider more)" if len(faces) == self.params.max_faces else ""))
        chosen = pick_face(faces, self._previous, size)
        self._previous = chosen
        track = face_track(chosen, size, timestamp)
        if not self.params.hands:
            return {"track": track}
        self._look_for_hands(image, ctx.index)
        return {"track": self._hold.apply(track, covered_regions(track.landmarks, self._seen_hands))}

    def _tell_if_turned(self, faces: list[np.ndarray]) -> None:
        """Once: the face lies on its side or upside down, so it is tracked turned upright; the render keeps
        the image as it is."""
        if faces and self._detector.turns and not self._told_turned:
            self._told_turned = True
            lies = "upside down" if self._detector.turns == 2 else "on its side"
            self._run.notice(f"{self.node_id}: the face lies {lies} in the image, so it is tracked turned upright; "
                             "renders keep the image as it is (turn the file itself to have them upright)")

    def _look_for_hands(self, image: Image, index: int) -> None:
        """Updates the hands seen: in video mode from the look started on the frame before (this frame's
        look, when one is due, runs beside the rest of the graph); in photo mode from this frame's."""
        seen = self._hand_looks.take()
        if seen is not NOTHING:
            self._seen_hands = seen
        if self._look_due(index):
            if self.params.mode == "photo":
                self._seen_hands = self._hand_looks.now(self._hands_in, image.rgb())
            else:
                self._hand_looks.start(self._hands_in, image.rgb())

    def _look_due(self, index: int) -> bool:
        return bool(self._seen_hands) or index % self.params.hands_every == 0

    def _hands_in(self, rgb: np.ndarray) -> list[np.ndarray]:
        """One look, on the looks' worker thread (the detector is made there on first use)."""
        if self._hands is None:
            self._hands = HandDetector()
        return self._hands.detect(rgb)

    def _small_faces(self, rgb: np.ndarray, faces: list[np.ndarray]) -> list[np.ndarray]:
        if self._finder is None:
            self._finder = FaceFinder(self.params.min_confidence)
        boxes = self._finder.boxes(rgb)
        if len(boxes) <= len(faces):
            return []
        return faces_in_boxes(self._detector, rgb, boxes, faces)

    def close(self) -> None:
        if getattr(self, "_frames", 0) and not self._frames_with_face:  # else a still output is a mystery
            self._run.notice(f"{self.node_id}: no face {in_frames(self._frames)}, so nothing it drives moved")
        self._release()
        if getattr(self, "_hand_looks", None) is not None:
            self._hand_looks.close()
        if getattr(self, "_run", None) is not None:
            self._run.passes.withdraw(self.node_id)

    def _release(self) -> None:
        self._release_hands()
        self._release_faces()

    def _release_faces(self) -> None:
        if getattr(self, "_detector", None) is not None:
            self._detector.close()
            self._detector = None
        if getattr(self, "_finder", None) is not None:
            self._finder.close()
            self._finder = None

    def _release_hands(self) -> None:
        if getattr(self, "_hand_looks", None) is not None:
            self._hand_looks.discard()  # a look under way finishes with the detector before it is closed
        if getattr(self, "_hands", None) is not None:
            self._hands.close()
            self._hands = None


NODES = [TrackFace]
