"""`reenact run --realtime`: a clip shown live plays at its own frame rate, a render to a file as fast as it can."""
from __future__ import annotations

import pytest

from app.cli import main
from app.runtime.pacing import Pacer
from tests.conftest import REPO


class FakeTime:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 9))
        self.now += seconds


def started_at(pacer: Pacer, time: FakeTime, work: list[float]) -> list[float]:
    """When each frame starts, each taking `work` seconds to make."""
    starts = []
    for seconds in work:
        pacer.wait()
        starts.append(round(time.now, 6))
        time.now += seconds
    return starts


def test_frames_made_quicker_than_their_rate_wait_until_each_is_due():
    time = FakeTime()
    pacer = Pacer(lambda: 25.0, time.clock, time.sleep)
    assert started_at(pacer, time, [0.01] * 5) == [0.0, 0.04, 0.08, 0.12, 0.16] and pacer.paced_at == 25.0


def test_a_variable_rate_clips_frames_are_each_held_as_long_as_it_shows_them():
    """A phone's clip holds some frames longer: paced at its average rate, the rest of it played slower."""
    time, shown_for = FakeTime(), [0.1, 0.3, 0.1, 0.1, 20.0, 0.1]  # 20 s: a broken timestamp, not a held frame
    started: list[float] = []
    pacer = Pacer(lambda: 5.0, time.clock, time.sleep, duration=lambda: shown_for[len(started) - 1])
    for _ in shown_for:
        pacer.wait()
        started.append(round(time.now, 6))
        time.now += 0.01
    assert started == [0.0, 0.1, 0.4, 0.5, 0.6, 0.8] and pacer.late == 0


def test_a_late_frame_is_not_waited_for_and_the_next_ones_do_not_rush_to_catch_up():
    time = FakeTime()
    pacer = Pacer(lambda: 10.0, time.clock, time.sleep)
    # the second frame takes three and a half frames' time; after it frames are 0.1 s apart again, from it
    assert started_at(pacer, time, [0.02, 0.35, 0.02, 0.02]) == [0.0, 0.1, 0.45, 0.55] and pacer.late == 1


def test_a_clip_keeps_its_time_passing_over_the_frames_a_slow_graph_has_no_time_for():
    time, passed = FakeTime(), []
    pacer = Pacer(lambda: 4.0, time.clock, time.sleep, pass_over=lambda: lambda n: passed.append(n) or n)
    starts = started_at(pacer, time, [0.625] * 8)  # each frame takes two and a half frames' time
    assert passed == [1, 2, 1, 2, 1, 2]
    # the clip's frame each one shows, against when it is shown: no longer later and later (without passing
    # over, a frame and a half further behind each frame)
    shown = [index + sum(passed[:max(0, index - 1)]) for index in range(len(starts))]
    behind = [start - frame / 4.0 for start, frame in zip(starts, shown)]
    assert max(behind[2:]) - min(behind[2:]) < 0.25


def test_a_frame_late_by_less_than_a_frame_passes_nothing_over_and_the_next_ones_catch_up():
    time, passed = FakeTime(), []
    pacer = Pacer(lambda: 10.0, time.clock, time.sleep, pass_over=lambda: lambda n: passed.append(n) or n)
    assert started_at(pacer, time, [0.02, 0.02, 0.15, 0.02, 0.02]) == pytest.approx([0.0, 0.1, 0.2, 0.35, 0.4])
    assert passed == [] and pacer.late == 1


def test_a_clip_that_shows_every_frame_is_timed_from_a_late_one_as_a_camera_is():
    time = FakeTime()
    pacer = Pacer(lambda: 10.0, time.clock, time.sleep, pass_over=lambda: lambda n: 0)  # keep_time off
    assert started_at(pacer, time, [0.02, 0.02, 0.35, 0.02, 0.02]) == pytest.approx([0.0, 0.1, 0.2, 0.55, 0.65])
    assert pacer.late == 1


def test_a_clip_clock_passes_over_what_it_has_gone_past_once_the_graph_has_started():
    from app.runtime.pacing import ClipClock

    clock, passed = ClipClock(), []
    pass_over = lambda n: passed.append(n) or n  # noqa: E731
    position = 0
    for frame, now in enumerate([0.0, 2.0, 2.1, 2.35, 2.4]):  # 10 fps; the first frame took two seconds
        clock.keep(now, 10.0, position + sum(passed), frame, pass_over)
        position += 1
    assert passed == [1]  # at 2.35 s, frame 4 was due and 3 is next: one passed over (none for the start-up)
    clock.keep(2.9, 10.0, 5 + sum(passed), 5, lambda n: 0)  # late, but it shows every frame: timed from here
    clock.keep(3.0, 10.0, 6 + sum(passed), 6, pass_over)
    assert passed == [1]


def test_the_frame_after_the_first_is_not_counted_late_for_the_graphs_start_up():
    time = FakeTime()
    pacer = Pacer(lambda: 10.0, time.clock, time.sleep)
    assert started_at(pacer, time, [0.8, 0.02, 0.02]) == [0.0, 0.8, 0.9] and pacer.late == 0


def test_no_rate_yet_means_no_wait():
    time = FakeTime()
    pacer = Pacer(lambda: None, time.clock, time.sleep)
    pacer.wait()
    pacer.wait()
    assert time.slept == [] and pacer.paced_at is None


def test_a_long_wait_ends_as_soon_as_the_run_is_stopping():
    time = FakeTime()
    pacer = Pacer(lambda: 0.5, time.clock, time.sleep)  # a clip that says 0.5 fps: 2 s a frame
    pacer.wait()
    calls = []
    pacer.wait(lambda: calls.append(1) or len(calls) > 3)  # Ctrl-C after a few slices
    assert time.now < 0.2 and len(time.slept) == 3


@pytest.fixture
def rates_waited_at(monkeypatch):
    rates = []
    monkeypatch.setattr(Pacer, "wait", lambda self, stopping=None: rates.append(self._rate()))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    return rates


def test_realtime_on_holds_a_clip_to_its_own_rate(rates_waited_at, tmp_path, capsys):
    clip = REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4"
    assert main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--frames", "3", "--quiet", "--realtime", "on",
                 "--set", f"driver.path={clip}", "--set", f"out.path={tmp_path / 'out.mp4'}"]) == 0
    assert len(rates_waited_at) == 3 and rates_waited_at[-1] == pytest.approx(23.976, abs=0.001)


def test_by_default_a_render_to_a_file_is_not_held_back(rates_waited_at, tmp_path):
    clip = REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4"
    assert main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--frames", "2", "--quiet",
                 "--set", f"driver.path={clip}", "--set", f"out.path={tmp_path / 'out.mp4'}"]) == 0
    assert rates_waited_at == []


def test_by_default_a_window_skipped_for_want_of_a_display_does_not_hold_the_run_back(rates_waited_at, tmp_path,
                                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo writes renders/demo.mp4 here
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--frames", "2", "--quiet"]) == 0
    assert len(rates_waited_at) == 2 and set(rates_waited_at) == {None}


def test_the_editor_plays_a_clip_no_faster_than_its_own_rate_under_its_frame_cap():
    from app.editor.live import playback_rate

    assert playback_rate(30.0, None) == 30.0  # no source has said its rate
    assert playback_rate(30.0, 23.976) == 23.976
    assert playback_rate(15.0, 23.976) == 15.0
    assert playback_rate(0.0, 23.976) == 0.0  # unlimited: as fast as the graph runs, also for a clip


def test_ctrl_c_while_waiting_starts_no_further_frame(monkeypatch, tmp_path, capsys):
    import signal

    import imageio.v3 as iio

    waits = []

    def wait(self, stopping=None):
        waits.append(1)
        if len(waits) == 2:  # Ctrl-C while the second frame is waited for
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(Pacer, "wait", wait)
    clip, out = REPO / "tests" / "data" / "real" / "wolfgang_expressions.mp4", tmp_path / "out.mp4"
    assert main(["run", str(REPO / "graphs" / "video_to_portrait.json"), "--frames", "5", "--quiet", "--realtime", "on",
                 "--set", f"driver.path={clip}", "--set", f"out.path={out}"]) == 130
    assert len(iio.imread(out)) == 1  # the first frame, finalized; none started after Ctrl-C


def test_frames_coming_long_and_short_by_turns_are_shown_evenly():
    """A pipelined run beside a busy program: frames done 30 and 10 ms apart by turns. Held to 0.9 of the
    recent interval, the quick ones wait and the spacing settles near the mean; a late one never waits."""
    from app.runtime.pacing import EVEN_SHARE, EvenSpacing

    time = FakeTime()
    spacing = EvenSpacing(time.clock, time.sleep)
    shown = []
    done = 0.0
    for work in [0.03, 0.01] * 40:
        done += work  # the stages work on while a frame is held: when each is done does not move
        time.now = max(time.now, done)
        shown.append(spacing.show(time.now))
    gaps = [b - a for a, b in zip(shown[40:], shown[41:])]
    assert max(gaps) <= 0.03 + 1e-9 and min(gaps) >= EVEN_SHARE * 0.019  # were 0.03 and 0.01
    assert sum(gaps) / len(gaps) == pytest.approx(0.02, abs=0.002)  # the rate a frame is shown at is kept
    assert all(seconds > 0 for seconds in time.slept)


def test_a_stall_does_not_hold_the_frames_after_it():
    """One frame 2 s late (the machine swapping, a paused process): the 10 ms frames after it are shown as
    they come, not held for most of a second each while an average forgets the stall."""
    from app.runtime.pacing import EvenSpacing

    time = FakeTime()
    spacing = EvenSpacing(time.clock, time.sleep)
    for work in [0.01] * 20 + [2.0] + [0.01] * 100:
        time.now += work
        spacing.show(time.now)
    assert time.now < 20 * 0.01 + 2.0 + 100 * 0.01 + 0.05 and max(time.slept, default=0) < 0.01


def test_a_clip_clock_keeps_a_variable_rate_clips_own_time_and_starts_again_where_it_loops():
    """noface_face.mov-like: frames of 1/24 s, then of 1/30 s, at an average of 27 fps. Timed by the
    average, its 1/24 s stretch read as falling behind, and frames were passed over."""
    from app.runtime.pacing import ClipClock

    clock, passed = ClipClock(), []
    pass_over = lambda n: passed.append(n) or n  # noqa: E731
    due, now = 0.0, 0.0
    for frame, duration in enumerate([1 / 24] * 20 + [1 / 30] * 20):
        clock.keep(now, 27.0, frame, frame, pass_over, due)
        due, now = due + duration, now + duration  # shown on time, each for as long as the clip holds it
    assert passed == []
    clock.keep(now + 0.5, 27.0, 40, 40, pass_over, due)  # a stall of half a second: 13 frames' time behind
    assert passed == [13]
    clock.keep(now + 0.6, 27.0, 54, 41, pass_over, 0.0)  # the clip starts again: its time, from here
    clock.keep(now + 0.6 + 1 / 24, 27.0, 55, 42, pass_over, 1 / 24)
    assert passed == [13]


@pytest.mark.parametrize("max_fps, rate, shown_for, interval", [
    (30.0, 27.0, 1 / 24, 1 / 24),  # the clip's rate holds playback: each frame as long as the clip shows it
    (30.0, 27.0, 1 / 60, 1 / 30),  # ...never quicker than the cap
    (20.0, 27.0, 1 / 24, 1 / 20),  # the cap holds playback (the clip clock passes frames over)
    (30.0, 27.0, None, 1 / 27),  # a clip that does not say: its rate
    (30.0, None, None, 1 / 30),  # a camera, or no source yet
    (0.0, 27.0, 1 / 24, 0.0),  # no cap: as fast as the graph runs
])
def test_the_editor_shows_each_frame_of_a_variable_rate_clip_as_long_as_the_clip_holds_it(max_fps, rate, shown_for,
                                                                                           interval):
    from app.runtime.pacing import frame_interval

    assert frame_interval(max_fps, rate, shown_for) == pytest.approx(interval)
