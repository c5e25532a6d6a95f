"""Running MediaPipe's solutions (0.10.21, pinned): started quietly, and each frame without the Python
wrapper's own costs."""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from app.runtime.errors import ReenactError


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


# One NormalizedLandmark as MediaPipe serializes a face mesh's or a hand's: its tag and length, then x, y, z, each
# a tag and a little-endian float (protobuf's wire format; proto2 writes a field that was set, even 0)
LANDMARK_TAGS = {0: 0x0A, 1: 15, 2: 0x0D, 7: 0x15, 12: 0x1D}
LANDMARK_BYTES = 17
LANDMARK_FLOATS = [3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16]


def landmarks_of(serialized: bytes) -> np.ndarray:
    """(N, 3) float32 normalized landmarks of one serialized NormalizedLandmarkList, read as the bytes lie:
    parsing it and reading 478 x 3 attributes in Python took 0.2 ms a face. Any other layout (a field left
    out, visibility set) is parsed."""
    rows = np.frombuffer(serialized, np.uint8)
    if rows.size % LANDMARK_BYTES == 0:
        rows = rows.reshape(-1, LANDMARK_BYTES)
        if all((rows[:, column] == tag).all() for column, tag in LANDMARK_TAGS.items()):
            return np.ascontiguousarray(rows[:, LANDMARK_FLOATS]).view("<f4").reshape(-1, 3)
    from mediapipe.framework.formats import landmark_pb2

    parsed = landmark_pb2.NormalizedLandmarkList.FromString(serialized)
    return np.array([(p.x, p.y, p.z) for p in parsed.landmark], np.float32).reshape(-1, 3)


class QuietSolution:
    """A MediaPipe solution, made inside starting_mediapipe, run a frame at a time with its start-up and
    first frame muted, and without SolutionBase.process's own costs.

    Its graph's threads open the models, and log as they do, after the constructor has returned: muting
    only the constructor let those lines through now and then (a race), so the graph is waited for until
    idle while still muted. Its models log again as they first run: the first frame is muted too.
    SolutionBase.process made a namedtuple class on every call (0.2 ms, a tenth of a face mesh frame on this
    CPU) and parsed every output stream; `packet` feeds the graph as it does and leaves the one stream
    asked for as it came (the pinned 0.10.21's private members: tests/test_tracking.py holds them to it)."""

    def __init__(self, solution):
        solution._graph.wait_until_idle()  # no public way; SolutionBase.process does the same after each frame
        self._solution = solution
        (self._input, self._input_type), = solution._input_stream_type_info.items()
        self._started = False

    def packet(self, rgb: np.ndarray, stream: str):
        """One RGB frame through the graph: output `stream`'s packet, None where it gave none."""
        if self._started:
            return self._run(rgb, stream)
        with native_stderr_silenced():
            got = self._run(rgb, stream)
        self._started = True
        return got

    def prime(self, rgb: np.ndarray, stream: str) -> None:
        """Run a frame that is not the video's, muted, to set what a tracking graph follows (an empty one:
        it looks afresh). Not its first frame: the first real one stays muted too."""
        with native_stderr_silenced():
            self._run(rgb, stream)

    def output(self, rgb: np.ndarray, stream: str) -> Any:
        """`packet`'s content as SolutionBase.process gives it (protobuf messages), None where none."""
        got = self.packet(rgb, stream)
        return None if got is None else self._solution._get_packet_content(
            self._solution._output_stream_type_info[stream], got)

    def landmark_lists(self, rgb: np.ndarray, stream: str) -> list[np.ndarray]:
        """One RGB frame through the graph: output `stream`'s landmark lists (a face mesh's faces, hands), each
        (N, 3) float32 normalized (x, y, z)."""
        from mediapipe.python._framework_bindings import _packet_getter

        got = self.packet(rgb, stream)
        return [] if got is None else [landmarks_of(serialized)
                                       for serialized in _packet_getter._get_serialized_proto_list(got)]

    def _run(self, rgb: np.ndarray, stream: str):
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"MediaPipe takes RGB frames (H, W, 3), not {rgb.shape}")
        solution = self._solution
        solution._graph_outputs.clear()
        solution._simulated_timestamp += 33333  # SolutionBase's clock: 30 fps, what its trackers expect
        made = solution._make_packet(self._input_type, np.ascontiguousarray(rgb))
        solution._graph.add_packet_to_input_stream(stream=self._input, packet=made.at(solution._simulated_timestamp))
        solution._graph.wait_until_idle()
        got = solution._graph_outputs.get(stream)
        return None if got is None or got.is_empty() else got

    def close(self) -> None:
        self._solution.close()
