"""The headless frame loop stops a run whose node fails on what never changes (a portrait with no face):
before the first frame, or on the first frame the node runs at all (its driver was not ready before)."""
from __future__ import annotations

import pytest

from app.cli.frame_loop import FAILED_FROM_THE_START, refuse_unmeasured, run_headless, still_inputs
from app.runtime import ports
from app.runtime.context import FrameContext
from app.runtime.errors import ReenactError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.progress import Progress
from app.runtime.registry import Registry
from app.runtime.scheduler import Scheduler
from app.runtime.schema import NodeSchema, Port
from tests.conftest import FAKE_NODES, Flaky


class NeedsPositive(Node):
    """Like retarget.face with a faceless portrait: fails on what its `portrait` input holds."""

    schema = NodeSchema("test.needs_positive", "Needs positive", "test", "fails on a negative portrait",
                        inputs=(Port("value", ports.FLOAT), Port("portrait", ports.FLOAT)),
                        outputs=(Port("value", ports.FLOAT),))

    def process(self, ctx: FrameContext, value: float, portrait: float) -> dict:
        if portrait < 0:
            raise ReenactError("no face in the portrait", from_input="portrait")
        return {"value": value}


@pytest.fixture
def studio() -> Registry:
    registry = Registry()
    registry.register_all([*FAKE_NODES, NeedsPositive], "tests")
    Flaky.fail_on = set()
    return registry


def _graph(portrait: float, driver_fails_on: set) -> Graph:
    Flaky.fail_on = driver_fails_on
    graph = Graph()
    for node_id, type_id, params in (("clock", "test.counter", {}), ("driver", "test.flaky", {}),
                                     ("portrait", "test.constant", {"value": portrait}),
                                     ("scaled", "test.gain", {}), ("retarget", "test.needs_positive", {}),
                                     ("out", "test.sink", {})):
        graph.add(NodeSpec(node_id, type_id, params=params))
    graph.connect("clock", "value", "driver", "value")
    graph.connect("driver", "value", "retarget", "value")
    graph.connect("portrait", "value", "scaled", "value")  # computed from the still alone: it never changes
    graph.connect("scaled", "value", "retarget", "portrait")
    graph.connect("retarget", "value", "out", "value")
    return graph


def _run(studio: Registry, graph: Graph):
    return run_headless(Scheduler(graph, studio), 10, Progress(10, enabled=False), lambda line: None,
                        still=still_inputs(graph, studio))


def test_inputs_fed_only_by_still_nodes_are_still(studio):
    assert still_inputs(_graph(1.0, set()), studio) == {("scaled", "value"), ("retarget", "portrait")}


def test_a_node_failing_on_a_still_input_stops_the_run_before_the_first_frame(studio):
    result = _run(studio, _graph(-1.0, set()))
    assert [f.node_id for f in result.not_started] == ["retarget"] and result.frames == 0
    with pytest.raises(ReenactError, match="nothing was measured"):
        refuse_unmeasured(result)


def test_it_stops_on_the_first_frame_it_runs_when_its_driver_was_not_ready_before(studio):
    result = _run(studio, _graph(-1.0, {0.0, 1.0}))  # the driver fails on frames 0 and 1, as a late camera
    assert not result.not_started and result.frames == 3 and [f.node_id for f in result.lasting] == ["retarget"]


def test_a_failure_on_what_changes_does_not_stop_the_run(studio):
    result = _run(studio, _graph(1.0, {0.0, 4.0}))
    assert not result.not_started and not result.lasting and result.frames == 10
    assert result.failures["driver"] == 2


@pytest.mark.parametrize("measuring, fails_on, frames, stopped", [
    (True, set(range(30)), FAILED_FROM_THE_START, True),  # bench, soak: nothing would be measured
    (False, set(range(30)), 30, False),  # a run goes on: a camera may come back
    (True, set(range(FAILED_FROM_THE_START - 1)), 30, False),  # it came right before the limit
])
def test_a_measuring_run_stops_when_a_node_fails_on_each_of_its_first_frames(studio, measuring, fails_on, frames,
                                                                            stopped):
    graph = _graph(1.0, fails_on)
    result = run_headless(Scheduler(graph, studio), 30, Progress(30, enabled=False), lambda line: None,
                          still=still_inputs(graph, studio), measuring=measuring)
    assert result.frames == frames and [f.node_id for f in result.lasting] == (["driver"] if stopped else [])
