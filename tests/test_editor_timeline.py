"""The timeline through a clip's failure and return, headless: a driver given a path that is not there, then
Undo; and a driver given another clip."""
from __future__ import annotations

import shutil

import pytest

from app.runtime.graph import Endpoint
from tests import test_editor_studio
from tests.test_editor_actions import wait_for
from tests.test_editor_studio import CLIP, images_graph, studio  # noqa: F401 (fixtures)

editor = test_editor_studio.editor  # the fixture: the studio tests' editor

FPS = 30  # hopper_talks.mp4's


def settled(editor, frame: int):
    """The status once the timeline shows `frame` (from 1), sought there, with nothing failing."""
    return wait_for(lambda: (s := editor.live.status()).frame == frame and s.seeking is None and not s.failures
                    and s, timeout=30)


def test_a_clip_whose_path_failed_holds_its_frame_and_goes_on_from_there_after_undo(editor, tmp_path):
    """After a failed path and Undo the driver played its clip from the start again, while the timeline counted on
    from the graph's frames (the failed ones too: 'frame 345', then '44 / 240' over the clip's first frame)."""
    images_graph(editor)
    clock = editor.add_node("util.clock")  # counts the graph's frames
    editor.set_preview("video")
    editor.set_preview(clock, side="b")
    wait_for(lambda: editor.live.status().clip)
    editor.seek(29)
    settled(editor, 30)
    editor.set_param("video", "path", str(tmp_path / "nowhere.mp4"))
    wait_for(lambda: "video" in editor.live.status().failures)
    ticked = editor.live.status().outputs[Endpoint(clock, "seconds")]
    editor.live.step(5)  # the graph's frames go on; the clip's do not
    wait_for(lambda: editor.live.status().outputs[Endpoint(clock, "seconds")] > ticked)
    assert editor.live.status().frame == 30 and editor.live.status().clip.frames is None
    editor.undo()
    shown = settled(editor, 30).outputs[Endpoint("video", "image")]
    assert shown.timestamp == pytest.approx(29 / FPS, abs=1e-3)  # the clip's 30th frame, not its first
    editor.step()
    assert settled(editor, 31).outputs[Endpoint("video", "image")].timestamp == pytest.approx(30 / FPS, abs=1e-3)


def test_another_clip_starts_the_timeline_again(editor, tmp_path):
    images_graph(editor)
    editor.seek(19)
    settled(editor, 20)
    shutil.copy(CLIP, tmp_path / "again.mp4")
    editor.set_param("video", "path", str(tmp_path / "again.mp4"))  # while paused: the clip opens, reads nothing
    wait_for(lambda: editor.live.status().frame == 0)
    editor.step()
    settled(editor, 1)
