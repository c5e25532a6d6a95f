"""LatePass: a slow pass run beside the graph, its result taken on the next frame."""
from __future__ import annotations

import threading

import pytest

from app.runtime.late_pass import NOTHING, LatePass


def test_a_result_is_taken_once_and_comes_from_the_worker_thread():
    passes = LatePass("test")
    try:
        assert passes.take() is NOTHING
        passes.start(lambda x: (x * 2, threading.current_thread().name), 21)
        value, thread = passes.take()
        assert value == 42 and thread.startswith("test") and thread != threading.current_thread().name
        assert passes.take() is NOTHING
        assert passes.now(lambda: "now") == "now"
    finally:
        passes.close()


def test_every_pass_runs_on_the_same_thread_one_at_a_time():
    """MediaPipe's graphs are not for concurrent use: a second pass starts only after the first ended."""
    passes, running, overlaps, threads = LatePass("test"), [0], [], set()

    def work():
        running[0] += 1
        overlaps.append(running[0] > 1)
        threads.add(threading.get_ident())
        running[0] -= 1

    try:
        for _ in range(20):
            passes.start(work)
    finally:
        passes.close()
    assert len(overlaps) == 20 and not any(overlaps) and len(threads) == 1


def test_a_failed_pass_raises_where_it_is_taken_and_is_dropped_by_discard():
    passes = LatePass("test")

    def fail():
        raise ValueError("model broke")

    try:
        passes.start(fail)
        with pytest.raises(ValueError, match="model broke"):
            passes.take()
        passes.start(fail)
        passes.discard()  # settings changed under it: neither result nor error matters
        assert passes.take() is NOTHING
    finally:
        passes.close()


def test_close_waits_for_the_pass_in_flight():
    passes, finished, release = LatePass("test"), [], threading.Event()

    def slow():
        release.wait(5)
        finished.append(True)

    passes.start(slow)
    threading.Timer(0.05, release.set).start()
    passes.close()
    assert finished == [True]
