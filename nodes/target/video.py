"""target.video: a short clip of the target person, tracked once into a frame bank."""
from __future__ import annotations

import time
from pathlib import Path

from app.file_kind import VIDEO_FILES
from app.runtime.progress import Progress
from app.runtime import ports
from app.runtime.context import FrameContext, RunContext
from app.runtime.node import Node
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from nodes.target.bank import FrameBank
from nodes.target.index import BankIndex, IndexSettings, load_or_build
from nodes.target.types import FRAME_BANK
from nodes.track.body_types import BODY_TRACK
from nodes.track.types import FACE_TRACK

INDEX_PARAMS = {"path", "every", "max_frames", "max_side"}  # a change loads (or builds) another index


class TargetVideo(Node):
    schema = NodeSchema(
        type_id="target.video", title="Target Video", category="target",
        help="A short clip of the target person (any frame rate, variable-rate phone clips included). On first "
             "use every frame is tracked once (face landmarks, head pose, expression, upper body) into a frame "
             "bank, cached under the state folder by the clip's content; frames without a face are skipped; a "
             "handheld clip's shake is measured and taken out. Gives the bank, its most neutral frame and the room "
             "behind the person (a median over the clip).",
        outputs=(Port("bank", FRAME_BANK, "the clip's frames with a face, tracked"),
                 Port("reference_image", ports.IMAGE, "the target at rest: reference_frame, else the most neutral, "
                      "most frontal frame"),
                 Port("reference_track", FACE_TRACK, "its face track: what to retarget onto"),
                 Port("reference_body", BODY_TRACK, "its upper body, as tracked with the clip: what body motion "
                      "is retargeted onto"),
                 Port("plate", ports.IMAGE, "the room behind the person (per-pixel median where the person is not)")),
        params=(
            Param("path", ParamKind.PATH, "targets/single_face.mp4",
                  "video of the target person, relative to the preset's folder or assets/", files=(VIDEO_FILES,)),
            Param("every", ParamKind.INT, 1, "keep every Nth frame (a long clip in less memory and time)",
                  minimum=1, maximum=30),
            Param("max_frames", ParamKind.INT, 0, "keep at most this many frames (0: all)", minimum=0,
                  maximum=100000),
            Param("max_side", ParamKind.INT, 720, "frames are kept downscaled to this longest side, in pixels",
                  minimum=128, maximum=2160),
            Param("reference_frame", ParamKind.INT, -1, "the frame (number in the clip, from 0) that shows the "
                  "target at rest, what the motion is retargeted onto; -1: the most neutral, most frontal one",
                  minimum=-1, maximum=1000000),
            Param("steady", ParamKind.BOOL, True, "take a handheld clip's camera shake out: every frame's room is "
                  "moved onto the reference frame's, so the room stays put as the selection switches frames "
                  "(off: each frame as recorded)"),
        ),
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        self._load()

    def params_changed(self, names: set[str]) -> None:
        if names & INDEX_PARAMS:
            self._load()
        elif names & {"reference_frame", "steady"}:
            self._bank = self._bank_of(self._bank.index, self._bank.source)

    def _bank_of(self, index: BankIndex, clip: Path) -> FrameBank:
        return FrameBank(index, clip, None if self.params.reference_frame < 0 else self.params.reference_frame,
                         self.params.steady)

    def _load(self) -> None:
        p = self.params
        clip = self._run.asset(p.path)
        shown = Progress(p.max_frames or None, unit="target frames tracked")
        started = time.monotonic()
        rate = lambda frames: frames / max(time.monotonic() - started, 1e-6)  # noqa: E731
        index, how = load_or_build(clip, self._run.options.state_dir, IndexSettings(p.every, p.max_frames, p.max_side),
                                   lambda seen: shown.update(seen, rate(seen)))
        seen = int(index.frames_seen)
        if how != "loaded":
            shown.finish(seen, rate(seen))
        if how.startswith("built, not cached"):
            self._run.notice(f"{self.node_id}: the frame index was {how}")
        self._bank, self._how = self._bank_of(index, clip), how
        bank = self._bank
        if bank.frames_without_face:
            self._run.notice(f"{self.node_id}: {bank.frames_without_face} of {seen} frames had no face ({clip.name}); "
                             "the others are used")
        if len(bank) == 1:
            self._run.notice(f"{self.node_id}: only one frame of {clip.name} shows a face, so every output frame is "
                             "warped from that one still (a clip in which the face moves and talks gives the "
                             "selection something to choose from)")
        if bank.frames_covered:
            self._run.notice(f"{self.node_id}: {bank.frames_covered} of {seen} frames had a hand over the face "
                             f"({clip.name}) and are not used")

    def process(self, ctx: FrameContext) -> dict:
        bank = self._bank
        return {"bank": bank, "reference_image": bank.image(bank.reference),
                "reference_track": bank.track(bank.reference), "reference_body": bank.body(bank.reference),
                "plate": bank.plate}

    def status(self) -> str:
        bank = getattr(self, "_bank", None)
        return "" if bank is None else f"{len(bank)} frames ({self._how}), reference frame " \
                                       f"{int(bank.frame_numbers[bank.reference])}"


NODES = [TargetVideo]
