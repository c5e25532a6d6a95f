"""One Euro filter: less jitter at rest, little lag on fast moves, real timestamps, reset on re-acquire."""
from __future__ import annotations

import numpy as np

from app.runtime.context import FrameContext, RunContext
from nodes.smooth.one_euro import OneEuroFilter
from tests.conftest import reference_track as _track


def test_filter_reduces_jitter_at_rest_and_follows_a_jump():
    rng = np.random.default_rng(0)
    smooth = OneEuroFilter(min_cutoff=1.0, beta=0.005, d_cutoff=1.0)
    noisy = 100.0 + rng.normal(0, 2.0, size=(300, 1))
    out = np.array([smooth.filter(x, i / 30.0) for i, x in enumerate(noisy)])
    assert out[50:].std() < 0.4 * noisy[50:].std()
    jump = [smooth.filter(np.array([200.0]), (300 + i) / 30.0) for i in range(10)]
    assert jump[-1][0] > 190.0  # fast moves raise the cutoff: little lag


def test_uneven_timestamps_matter_and_repeats_hold():
    a, b = OneEuroFilter(1.0, 0.0, 1.0), OneEuroFilter(1.0, 0.0, 1.0)
    for f in (a, b):
        f.filter(np.array([0.0]), 0.0)
    short = a.filter(np.array([10.0]), 0.01)[0]
    long = b.filter(np.array([10.0]), 0.5)[0]
    assert short < long  # a longer gap lets more of the new value through
    assert a.filter(np.array([50.0]), 0.01)[0] == short  # same timestamp: no update


def test_node_resets_when_the_face_is_found_again(studio_registry):
    schema = studio_registry.require("smooth.one_euro").schema
    node = studio_registry.create("smooth.one_euro", "s", {**schema.defaults(), "min_cutoff": 0.05, "beta": 0.0})
    node.open(RunContext())
    step = lambda t, track: node.process(FrameContext(0, t, RunContext()), track=track)["track"]  # noqa: E731
    step(0.0, _track(0.0))
    lagging = step(0.1, _track(0.1, shift=50.0))
    assert lagging.landmarks[:, 0].mean() < _track(0.1, shift=50.0).landmarks[:, 0].mean() - 20  # heavy smoothing
    assert not step(0.2, _track(0.2, valid=False)).valid
    found = step(0.3, _track(0.3, shift=50.0))
    assert found.landmarks[:, 0].mean() == _track(0.3, shift=50.0).landmarks[:, 0].mean()  # no memory of before
    assert node.process(FrameContext(0, 0.4, RunContext()))["motion"] is None
