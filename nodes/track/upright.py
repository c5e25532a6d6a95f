"""A face that lies on its side or upside down: a phone's shot saved without its orientation tag, a scan
fed in the wrong way round, a clip recorded so. MediaPipe's face mesh places such a face's landmarks badly
or not at all (the astronaut turned a half turn: 50 px off, its mouth's points on its eyes; a quarter turn
the other way: 10 px), and a portrait tracked so never shut its eyes. Such an image is tracked turned
upright, by the quarter turn whose face the face detector finds upright and is surest of (`UprightTurns`:
each photo, or a clip's first face), and the landmarks are turned back (`turned_back`). What else works
upright (the person's segmentation) takes the turn a tracked face needs (`upright_turns`)."""
from __future__ import annotations

import numpy as np

from nodes.track.face_model import CHIN, FOREHEAD

TURNS = 4  # quarter turns, as np.rot90 counts them (counter-clockwise)
UPRIGHT_WITHIN = 45.0  # degrees: the eyes-to-mouth direction of a face the detector reads as upright
SURER_BY = 0.1  # how much surer a turned face must be than the face as it lies, both read upright, to turn the
# image: upside down the detector often reads a face as upright too, but less surely (0.56-0.73 against
# 0.88-0.95 for the face upright); in a 40 px portrait it was surer of the face upside down (0.62 against 0.60)


class UprightTurns:
    """turns(rgb) -> how many quarter turns (np.rot90's k) make the photo's face upright (0 if no face)."""

    def __init__(self, min_confidence: float):
        from nodes.track.mediapipe_run import QuietSolution, starting_mediapipe

        with starting_mediapipe():
            from mediapipe.python.solutions import face_detection

            # the short-range model, made for faces within 2 m (portraits): on the bundled and test portraits
            # and clip frames, each in its four turns, it scored the upright turn highest in all 24 cases; the
            # full-range one in 21
            self._detector = QuietSolution(face_detection.FaceDetection(model_selection=0,
                                                                        min_detection_confidence=min_confidence))

    def turns(self, rgb: np.ndarray) -> int:
        """A turn whose face reads upright (eyes above mouth) beats one that does not; among those the
        surest wins. The score alone left thin margins (a face on its side 0.93 against 0.96 upright), and
        the keys alone are unsure upside down (one read as upright, 39 degrees, but scored lowest). The
        image as it lies keeps its turn unless a turned face is surer by SURER_BY."""
        keys = {}
        for turns in range(TURNS):
            turned = np.ascontiguousarray(np.rot90(rgb, turns))
            found = self._detector.output(turned, "detections")
            if found:
                keys[turns] = (_reads_upright(found[0], turned.shape), float(found[0].score[0]))
        if not keys:
            return 0
        best = max(keys, key=keys.__getitem__)
        as_it_lies = keys.get(0, (False, 0.0))
        if as_it_lies[0] and keys[best][0] and keys[best][1] - as_it_lies[1] < SURER_BY:
            return 0
        return best

    def close(self) -> None:
        self._detector.close()


def _reads_upright(detection, shape: tuple[int, ...]) -> bool:
    """Whether a detection's mouth lies below its eyes within UPRIGHT_WITHIN degrees."""
    height, width = shape[:2]
    keys = np.array([(k.x * width, k.y * height) for k in detection.location_data.relative_keypoints])
    down = keys[3] - (keys[0] + keys[1]) / 2.0  # the mouth from between the eyes (BlazeFace's key order)
    return bool(abs(np.degrees(np.arctan2(down[0], down[1]))) < UPRIGHT_WITHIN)


def turned_back(points: np.ndarray, size: tuple[int, int], turns: int) -> np.ndarray:
    """(N, 2+) pixel positions found in np.rot90(image, turns), in the image's own pixels (size: its
    (width, height)). A quarter turn takes (x, y) of a width-w image to (y, w - x); depth is unchanged."""
    width, height = size
    out = np.array(points, dtype=np.float32, copy=True)
    for step in reversed(range(turns % TURNS)):
        before = width if step % 2 == 0 else height
        x, y = out[:, 0].copy(), out[:, 1].copy()
        out[:, 0], out[:, 1] = before - y, x
    return out


def upright_turns(landmarks: np.ndarray) -> int:
    """The quarter turns (np.rot90's k) that bring a tracked face (478, 2+) landmark pixels nearest upright:
    its chin-to-forehead direction nearest to up the image. A quarter turn takes a direction (dx, dy) to
    (dy, -dx)."""
    up = landmarks[FOREHEAD, :2] - landmarks[CHIN, :2]
    ups = [up]
    for _ in range(TURNS - 1):
        ups.append(np.array([ups[-1][1], -ups[-1][0]]))
    return int(np.argmin([direction[1] for direction in ups]))  # y down: the most negative y is up
