"""Frames placed on a constant-rate file's slots by their own times (nodes/output/frame_clock.py)."""
from __future__ import annotations

import pytest

from nodes.output.frame_clock import LIVE_GAP_S, FrameClock


def _slots(clock: FrameClock, times: list) -> list[int]:
    """How many slots each frame at `times` fills, the last one's at the end."""
    counts = [clock.covered(time) for time in times][1:]
    return [*counts, clock.last()]


@pytest.mark.parametrize("source, file, counts", [
    (30, 30, [1] * 30),
    (30, 60, [2] * 30),  # each frame twice: the same second of motion
    (30, 24, [1, 1, 0, 1, 1] * 6),  # one frame in five left out
    (29.97, 30, [1] * 30)])  # a hair off the file's rate: no frame repeated or dropped within a second
def test_a_steady_source_at_the_files_rate_or_another(source, file, counts):
    clock = FrameClock(file)
    assert _slots(clock, [n / source + 5.0 for n in range(30)]) == counts and not clock.jumped
    assert clock.origin == 5.0  # where the file starts in the source: its sound starts there too


def test_a_varying_rate_keeps_each_frame_for_as_long_as_it_was_shown():
    """60 fps, then 15 fps, written at 30: of the fast frames every other one is kept, the slow ones fill
    two slots each (the last one: the shortest interval, one slot)."""
    times = [n / 60 for n in range(6)] + [0.1 + n / 15 for n in range(1, 4)]
    assert _slots(FrameClock(30), times) == [1, 0, 1, 0, 1, 2, 2, 2, 1]


def test_frames_without_times_fill_a_slot_each():
    assert _slots(FrameClock(25), [None] * 5) == [1] * 5


def test_time_jumping_back_starts_the_count_again_and_says_so_and_a_long_hold_is_kept():
    clock = FrameClock(10)
    assert _slots(clock, [1.0, 1.1, 1.2, 0.0, 0.1]) == [1, 1, 1, 1, 1] and clock.jumped  # back to the start
    clock = FrameClock(10)  # a file's frame held 30 s (a screen recording's still stretch) is what it recorded
    assert _slots(clock, [0.0, 0.1, 30.1, 30.2]) == [1, 300, 1, 1] and not clock.jumped
    clock = FrameClock(10, max_gap=LIVE_GAP_S)  # a camera's frames a while apart: the graph was paused
    assert _slots(clock, [0.0, 0.1, 0.1 + LIVE_GAP_S + 1, 0.2 + LIVE_GAP_S + 1]) == [1, 1, 1, 1] and clock.jumped


def test_a_repeated_time_keeps_the_later_frame_and_a_single_frame_is_written():
    assert _slots(FrameClock(30), [0.0, 0.0, 1 / 30]) == [0, 1, 1]
    assert _slots(FrameClock(30), [2.0]) == [1]
    assert FrameClock(30).last() == 0  # no frame came


def test_a_slow_file_lasts_as_long_as_its_source():
    """10 s of a 30 fps clip at 0.5 fps: five frames, 10 s (the last source frame falls in the last slot)."""
    counts = _slots(FrameClock(0.5), [n / 30 for n in range(300)])
    assert sum(counts) == 5
