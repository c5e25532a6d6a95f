"""Body tracking: MediaPipe Pose → BodyTrack (neck base, shoulders, elbows, hips, each with a confidence)."""
from __future__ import annotations

import numpy as np

from app.runtime import ports
from app.runtime.context import FrameContext, RunContext
from app.runtime.gpu.image import Image
from app.runtime.late_pass import NOTHING, LatePass
from app.runtime.node import Node
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, Port
from nodes.smooth.one_euro import OneEuroFilter
from nodes.track.body_types import BODY_POINTS, BODY_TRACK, LEFT_SHOULDER, NECK, RIGHT_SHOULDER, BodyTrack
from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe
from nodes.track.types import in_frames

# MediaPipe Pose landmark indices of BODY_POINTS after the neck (which is the shoulders' midpoint)
JOINTS = (11, 12, 13, 14, 23, 24)
MIRRORED = [1, 0, 3, 2, 5, 4]  # the rows of JOINTS found in a mirrored image, in their order: left and right swap
SPEED_CUTOFF_HZ = 1.0  # One Euro's cutoff for its speed estimate, as smooth.one_euro's default
DARK, LIFT_LIMIT = 100.0, 8.0  # `brightened`: a frame whose brightest 2% is under DARK is lifted up to 8 times
MIN_VISIBILITY, BOTTOM_MARGIN = 0.5, 0.3  # track.body's defaults, also a target video's (body_track)
STILL_SHARE = 0.02  # of the shoulders' width: shoulders that moved less between two passes hold still. The
# pose model's own noise on a still frame is 0.2-2% (single_face.mp4, hopper_talks.mp4, Hopper; the astronaut's
# suit 3-7%, which stays on `every`); hopper_talks' talking head moved less in 97% of passes three frames apart


def brightened(rgb: np.ndarray) -> np.ndarray:
    """A dark frame (its brightest 2% under DARK) stretched to full brightness, at most LIFT_LIMIT times: the
    pose model found no one in Hopper at an eighth of the light, and her shoulders once stretched."""
    white = float(np.percentile(rgb[::8, ::8, :3].max(axis=2), 98))
    if white >= DARK:
        return rgb
    lift = min(LIFT_LIMIT, 255.0 / max(white, 1.0))
    return np.ascontiguousarray(np.clip(rgb[:, :, :3] * np.float32(lift), 0, 255).astype(np.uint8))


class PoseDetector:
    """detect(rgb uint8 (H, W, 3)) -> (6, 3) float64 rows [x px, y px, visibility 0..1] for the
    shoulders, elbows and hips in BODY_POINTS[1:] order, or None when no person is found. A photo where
    no one is found is looked at again mirrored: the model found no one in Hopper in black and white,
    and her shoulders in her mirror image.

    static: treat every frame as unrelated (photos); else track between frames (video, faster).
    The 0.10.21 wheel ships only the full landmark model (model_complexity=1): asking for the lite one
    makes MediaPipe download it at start-up, which an offline studio cannot do.
    """

    def __init__(self, static: bool, min_confidence: float):
        self._static, self._min_confidence = static, min_confidence
        self._pose = None

    def detect(self, rgb: np.ndarray) -> np.ndarray | None:
        if self._pose is None:
            with starting_mediapipe():
                self._pose = QuietSolution(self._create())
        image = brightened(rgb)
        joints = self._joints(image)
        if joints is None and self._static:  # a photo is looked at once: worth a second look, mirrored
            joints = self._joints(np.ascontiguousarray(image[:, ::-1]))
            if joints is not None:
                joints = joints[MIRRORED]
                joints[:, 0] = rgb.shape[1] - joints[:, 0]
        return joints

    def _joints(self, rgb: np.ndarray) -> np.ndarray | None:
        height, width = rgb.shape[:2]
        found = self._pose.output(rgb, "pose_landmarks")
        if found is None:
            return None
        marks = found.landmark
        joints = np.array([(marks[i].x * width, marks[i].y * height, marks[i].visibility) for i in JOINTS])
        return joints if np.isfinite(joints).all() else None

    def _create(self):
        from mediapipe.python.solutions import pose

        # MediaPipe's own smoothing runs on a simulated 30 fps clock; the node smooths on real timestamps
        return pose.Pose(static_image_mode=self._static, model_complexity=1, smooth_landmarks=False,
                         min_detection_confidence=self._min_confidence, min_tracking_confidence=self._min_confidence)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None


def body_track(joints: np.ndarray, image_size: tuple[int, int], timestamp: float, min_visibility: float,
               bottom_margin: float) -> BodyTrack:
    """A BodyTrack from PoseDetector's (6, 3) joints. A joint outside the frame is a guess (confidence 0).
    The body is partial when a shoulder is seen less surely than min_visibility, or when the frame ends
    less than bottom_margin shoulder widths below a shoulder: given a face cut off at the chin, the model
    draws shoulders anyway, just above the bottom edge, with full visibility (0.1-0.2 widths above it in
    face crops of astronaut.png; shoulders seen in the bundled portraits have 0.48 and 1.3 widths below)."""
    width, height = image_size
    points = np.empty((len(BODY_POINTS), 2), np.float32)
    confidence = np.empty(len(BODY_POINTS), np.float32)
    points[1:] = joints[:, :2]
    inside = (joints[:, 0] >= 0) & (joints[:, 0] < width) & (joints[:, 1] >= 0) & (joints[:, 1] < height)
    confidence[1:] = np.clip(joints[:, 2], 0.0, 1.0) * inside
    shoulders = points[[LEFT_SHOULDER, RIGHT_SHOULDER]]
    points[NECK] = shoulders.mean(axis=0)
    confidence[NECK] = confidence[[LEFT_SHOULDER, RIGHT_SHOULDER]].min()
    room_below = (height - shoulders[:, 1].max()) / max(float(np.linalg.norm(shoulders[0] - shoulders[1])), 1e-6)
    partial = confidence[NECK] < min_visibility or room_below < bottom_margin
    return BodyTrack(points, confidence, True, bool(partial), image_size, timestamp)


def held_still(before: np.ndarray | None, after: np.ndarray | None) -> bool:
    """Whether the shoulders of two passes' joints (PoseDetector's rows) moved less than STILL_SHARE of
    their width; False when either pass found no one."""
    if before is None or after is None:
        return False
    width = float(np.linalg.norm(after[0, :2] - after[1, :2]))
    return float(np.linalg.norm(after[:2, :2] - before[:2, :2], axis=1).max()) < STILL_SHARE * max(width, 1.0)


class TrackBody(Node):
    schema = NodeSchema(
        type_id="track.body", title="Body Tracker", category="tracking",
        help="MediaPipe Pose: the neck base (between the shoulders), shoulders, elbows and hips with a confidence "
             "each. No person gives valid=false; a person whose shoulders the frame cuts off or hides (a close "
             "webcam crop) is marked partial rather than guessed. Each pose pass costs far more than a face pass, "
             "so it can run every Nth frame and hold in between; in video mode a pass runs beside the rest of the "
             "graph and its points are used from the next frame on.",
        inputs=(Port("image", ports.IMAGE),),
        outputs=(Port("track", BODY_TRACK),),
        params=(
            Param("mode", ParamKind.ENUM, "video", "video: track between frames (faster, smoothed); photo: detect "
                  "each frame anew (a portrait, unrelated stills)", choices=("video", "photo")),
            Param("every", ParamKind.INT, 3, "video mode: run the pose model every Nth frame and hold its points in "
                  "between (a body moves slower than a face; each pass costs about 20 ms on a 2-core CPU)",
                  minimum=1, maximum=16),
            Param("still_every", ParamKind.INT, 6, "video mode: while the shoulders hold still (they moved under 2% "
                  "of their width between the last two passes), run the pose model only every this many frames "
                  "(at least `every`; 1 keeps `every` throughout); the first move seen brings `every` back", minimum=1,
                  maximum=32),
            Param("min_confidence", ParamKind.FLOAT, 0.5, "person detection and tracking confidence", minimum=0.05,
                  maximum=0.99),
            Param("min_visibility", ParamKind.FLOAT, MIN_VISIBILITY, "a shoulder seen less surely than this (or "
                  "outside the frame) marks the body partial", minimum=0.05, maximum=0.99),
            Param("bottom_margin", ParamKind.FLOAT, BOTTOM_MARGIN, "a frame ending less than this many shoulder "
                  "widths below the shoulders cuts the body there and marks it partial: for a face cropped at the "
                  "chin the model draws shoulders just above the edge. 0 accepts a webcam framed at the shoulders",
                  minimum=0.0, maximum=1.0),
            Param("smoothing", ParamKind.BOOL, True, "One Euro smoothing of the points on the frames' own "
                  "timestamps (video mode only: photos are unrelated)"),
            Param("min_cutoff", ParamKind.FLOAT, 1.0, "smoothing cutoff at rest, Hz: lower is smoother",
                  minimum=0.01, maximum=30.0),
            Param("beta", ParamKind.FLOAT, 0.05, "smoothing speed coefficient: higher follows fast moves with less "
                  "lag", minimum=0.0, maximum=10.0),
        ),
        degrade=(Degrade("every", (6, 12), "the torso follows with more delay (pose points held longer)"),),
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        self._frames = self._frames_with_body = 0
        self._size: tuple[int, int] | None = None
        self._detector: PoseDetector | None = None
        self._joints: np.ndarray | None = None  # the last pass's, held until the next
        self._since_pass = 0  # frames since the last pass started
        self._still = False  # the shoulders held still between the last two passes
        self._waited = False  # the pass due waits a frame: another node starts one on this frame
        self._passes = LatePass(f"{self.node_id}-pose")
        self._filter = OneEuroFilter(self.params.min_cutoff, self.params.beta, SPEED_CUTOFF_HZ)

    def params_changed(self, names: set[str]) -> None:
        self._filter.min_cutoff, self._filter.beta = self.params.min_cutoff, self.params.beta
        if names & {"mode", "min_confidence"}:
            self._release()  # re-created with the new settings on the next frame

    def process(self, ctx: FrameContext, image: Image) -> dict:
        size = (image.width, image.height)
        timestamp = image.timestamp if image.timestamp is not None else ctx.time
        done = self._passes.take()
        if done is not NOTHING:
            self._still = held_still(self._joints, done)
            self._joints = done
        if self._due(size, ctx.index):
            # photos are unrelated, and a first or resized frame has nothing to hold: those wait for their
            # own pass; other passes overlap with the rest of this frame and are used from the next one
            if self.params.mode == "photo" or size != self._size:
                self._joints = self._passes.now(self._detect, image.rgb())
            else:
                self._passes.start(self._detect, image.rgb())
            self._since_pass, self._waited = int(self._waited), False  # one that waited keeps the cadence
        self._frames, self._size, self._since_pass = self._frames + 1, size, self._since_pass + 1
        if self._joints is None:
            self._filter.reset()
            return {"track": BodyTrack.invalid(size, timestamp)}
        self._frames_with_body += 1
        joints = self._joints
        if self.params.smoothing and self.params.mode == "video":
            # filtered every frame, held passes included, so a pass every Nth frame does not step
            joints = np.column_stack([self._filter.filter(joints[:, :2], timestamp), joints[:, 2]])
        return {"track": body_track(joints, size, timestamp, self.params.min_visibility, self.params.bottom_margin)}

    def _detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """One pose pass, on the passes' worker thread (the detector is made there on first use)."""
        if self._detector is None:
            self._detector = PoseDetector(self.params.mode == "photo", self.params.min_confidence)
        return self._detector.detect(rgb)

    def _due(self, size: tuple[int, int], index: int) -> bool:
        """Whether this frame gets a pose pass: every frame in photo mode (the frames are unrelated), else
        every Nth (`still_every`th while the shoulders hold still), and whenever the frame size changes (held
        pixels would be in the wrong frame). A pass due on a frame on which another node starts one beside
        the graph (the face's hand look) comes a frame later, so the two do not compete for the cores."""
        if self.params.mode == "photo" or size != self._size:
            return True
        every = max(self.params.every, self.params.still_every) if self._still else self.params.every
        if self._since_pass < every:
            return False
        if not self._waited and self._run.passes.others_start(self.node_id, index):
            self._waited = True
            return False
        return True

    def close(self) -> None:
        if getattr(self, "_frames", 0) and not self._frames_with_body:  # else a still torso is a mystery
            self._run.notice(f"{self.node_id}: no person {in_frames(self._frames)}, so no body drove anything")
        self._release()
        if getattr(self, "_passes", None) is not None:
            self._passes.close()

    def _release(self) -> None:
        if getattr(self, "_passes", None) is not None:
            self._passes.discard()
        if getattr(self, "_detector", None) is not None:
            self._detector.close()
            self._detector = None


NODES = [TrackBody]
