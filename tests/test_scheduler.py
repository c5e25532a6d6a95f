"""The scheduler, with fake nodes: order, caching, volatility, edits, failures, bypass, lifecycle."""
from __future__ import annotations

import threading
import time

import pytest

from app.runtime import ports
from app.runtime.context import FrameContext
from app.runtime.errors import EndOfStream, GraphError, ParamError, ProblemsError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.node import Node
from app.runtime.plan import build_plan
from app.runtime.scheduler import Scheduler
from app.runtime.schema import NodeSchema, Param, ParamKind, Port
from tests.conftest import BadOpen, Constant, Flaky, Sink


def chain(*types_and_params) -> Graph:
    """n0 -> n1 -> ... through each node's first output/input named 'value'."""
    graph = Graph()
    for i, (node_type, params) in enumerate(types_and_params):
        graph.add(NodeSpec(f"n{i}", node_type, params=params))
        if i:
            graph.connect(f"n{i - 1}", "value", f"n{i}", "value")
    return graph


def run(graph, registry, frames):
    scheduler = Scheduler(graph, registry)
    scheduler.open()
    for _ in range(frames):
        scheduler.step()
    return scheduler


def test_plan_orders_dependencies_before_dependents():
    graph = Graph()
    for node_id, node_type in [("sink", "test.sink"), ("add", "test.add"), ("b", "test.constant"),
                               ("a", "test.counter")]:
        graph.add(NodeSpec(node_id, node_type))
    graph.connect("add", "value", "sink", "value")
    graph.connect("a", "value", "add", "a")
    graph.connect("b", "value", "add", "b")
    order = build_plan(graph).order
    assert order.index("a") < order.index("add") and order.index("b") < order.index("add")
    assert order.index("add") < order.index("sink")


def test_cycle_is_an_error_that_names_its_nodes(registry):
    graph = chain(("test.gain", {}), ("test.gain", {}), ("test.gain", {}))
    graph.connect("n2", "value", "n0", "value")
    with pytest.raises(GraphError, match="n0 -> n1 -> n2 -> n0"):
        build_plan(graph)


def test_static_node_runs_once_over_many_frames(registry):
    graph = chain(("test.constant", {"value": 3.0}), ("test.gain", {"gain": 2.0}), ("test.sink", {}))
    run(graph, registry, 50)
    assert Constant.runs == 1
    assert len(Sink.log) == 50 and all(v == 6.0 for _, v in Sink.log)


def test_volatile_source_runs_every_frame_and_downstream_follows(registry):
    run(chain(("test.counter", {}), ("test.gain", {"gain": 2.0}), ("test.sink", {})), registry, 5)
    assert [v for _, v in Sink.log] == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_param_edit_invalidates_cache_and_applies_next_frame(registry):
    scheduler = run(chain(("test.constant", {"value": 1.0}), ("test.sink", {})), registry, 3)
    scheduler.set_param("n0", "value", 5.0)
    assert Sink.log[-1][1] == 1.0  # not applied until the next frame
    scheduler.step()
    assert Sink.log[-1][1] == 5.0 and Constant.runs == 2


def test_a_param_set_then_a_graph_replaced_before_the_next_frame_runs_the_new_graph(registry):
    """The frame budget sets a param the preset leaves at its default; the editor then swaps in the graph
    (a node added): the swap wins, and the set param is not looked up in the new graph (a KeyError)."""
    scheduler = run(chain(("test.constant", {}), ("test.sink", {})), registry, 2)
    scheduler.set_param("n0", "value", 5.0)
    scheduler.replace_graph(chain(("test.constant", {}), ("test.sink", {})))
    assert scheduler.step() == [] and Sink.log[-1][1] == 1.0
    scheduler.replace_graph(chain(("test.constant", {}), ("test.sink", {})))
    scheduler.set_param("n0", "value", 5.0)  # after the swap: applied to the new graph
    scheduler.step()
    assert Sink.log[-1][1] == 5.0


def test_an_edit_after_a_graph_replaced_before_the_next_frame_is_checked_against_the_node_it_will_meet(registry):
    """Undo brings back a node of another type under the same id; a param set (or an action run) before the
    next frame was checked against the type being replaced: refused where the new node has it, and let through
    where only the old one had it."""
    scheduler = run(chain(("test.counter", {}), ("test.flaky", {}), ("test.sink", {})), registry, 1)
    scheduler.replace_graph(chain(("test.counter", {}), ("test.gain", {}), ("test.sink", {})))
    assert scheduler.set_param("n1", "gain", 2.0) == 2.0
    scheduler.trigger("n1", "reset")
    assert scheduler.step() == [] and Sink.log[-1] == (1, 2.0) and scheduler.node("n1").actions == ["reset"]
    scheduler.replace_graph(chain(("test.counter", {}), ("test.flaky", {}), ("test.sink", {})))
    with pytest.raises(ParamError, match=r"^n1\.gain: unknown param of test\.flaky \(known: none\)"):
        scheduler.set_param("n1", "gain", 1.5)
    with pytest.raises(GraphError, match="test.flaky has no action 'reset'"):
        scheduler.trigger("n1", "reset")
    assert scheduler.step() == [] and Sink.log[-1] == (2, 2.0)


def test_edits_are_checked_when_submitted(registry):
    scheduler = run(chain(("test.constant", {}), ("test.sink", {})), registry, 1)
    with pytest.raises(ParamError, match="above the maximum 100"):
        scheduler.set_param("n0", "value", 1000.0)
    with pytest.raises(ParamError, match="unknown param"):
        scheduler.set_param("n0", "nope", 1.0)
    with pytest.raises(GraphError, match="no node"):
        scheduler.set_param("ghost", "value", 1.0)


def _sum_graph() -> Graph:
    graph = Graph()
    graph.add(NodeSpec("a", "test.constant", params={"value": 0.0}))
    graph.add(NodeSpec("b", "test.constant", params={"value": 0.0}))
    graph.add(NodeSpec("add", "test.add"))
    graph.add(NodeSpec("sink", "test.sink"))
    graph.connect("a", "value", "add", "a")
    graph.connect("b", "value", "add", "b")
    graph.connect("add", "value", "sink", "value")
    return graph


def test_edits_from_another_thread_apply_atomically_between_frames(registry):
    """Pairs of edits made together from another thread are never seen half-applied."""
    scheduler = Scheduler(_sum_graph(), registry)
    scheduler.open()
    stop = threading.Event()
    submitted = []

    def editor():
        k = 0
        while not stop.is_set():
            k += 1
            edited = scheduler.graph  # both params change in one graph edit
            edited.nodes["a"].params["value"] = float(k % 90)
            edited.nodes["b"].params["value"] = float(-(k % 90))
            scheduler.replace_graph(edited)
            submitted.append(k)

    thread = threading.Thread(target=editor)
    thread.start()
    deadline = time.monotonic() + 5.0
    try:
        while Constant.runs < 40 and time.monotonic() < deadline:  # edits keep arriving while frames run
            scheduler.step()
            time.sleep(0.0005)
    finally:
        stop.set()
        thread.join()
    assert len(submitted) > 10 and Constant.runs >= 40
    assert {v for _, v in Sink.log} == {0.0}


def test_an_edit_never_lands_inside_a_running_frame(registry):
    """A node that reads its param twice with a pause between sees the same value both times."""
    seen = []

    class Slow(Constant):
        schema = Constant.schema.__class__("test.slow", "Slow", "test", "slow reader",
                                           outputs=Constant.schema.outputs, params=Constant.schema.params,
                                           volatile=True)

        def process(self, ctx):
            first = self.params.value
            started.set()
            release.wait(1.0)
            seen.append((first, self.params.value))
            return {"value": first}

    started, release = threading.Event(), threading.Event()
    registry.register(Slow)
    scheduler = run(chain(("test.slow", {}), ("test.sink", {})), registry, 0)
    worker = threading.Thread(target=scheduler.step)
    worker.start()
    started.wait(1.0)
    scheduler.set_param("n0", "value", 7.0)  # arrives mid-frame
    release.set()
    worker.join()
    started.clear()
    scheduler.step()
    assert seen == [(1.0, 1.0), (7.0, 7.0)]


def test_a_failing_node_is_isolated_and_recovers(registry):
    Flaky.fail_on = {2.0, 3.0}
    graph = Graph()
    graph.add(NodeSpec("count", "test.counter"))
    graph.add(NodeSpec("flaky", "test.flaky"))
    graph.add(NodeSpec("after", "test.sink"))
    graph.add(NodeSpec("other", "test.sink"))
    graph.connect("count", "value", "flaky", "value")
    graph.connect("flaky", "value", "after", "value")
    graph.connect("count", "value", "other", "value")
    scheduler = Scheduler(graph, registry)
    scheduler.open()
    reports = [scheduler.step() for _ in range(6)]
    assert [len(r) for r in reports] == [0, 0, 1, 1, 0, 0]
    failure = reports[2][0]
    assert (failure.node_id, failure.node_type, failure.frame) == ("flaky", "test.flaky", 2)
    assert "bad value 2.0" in failure.message and "ValueError" in failure.traceback
    after = [f for f, _ in Sink.log if f in range(6)]
    # 'after' skipped frames 2 and 3 (downstream of the failure); 'other' ran every frame
    assert sorted(after).count(2) == 1 and sorted(after).count(3) == 1 and len(Sink.log) == 10
    assert scheduler.output("flaky", "value") == 5.0  # recovered
    assert "flaky" not in scheduler.failures


class Picky(Node):
    """A sink that fails on values over its limit."""

    schema = NodeSchema("test.picky", "Picky", "output", "fails over its limit",
                        inputs=(Port("value", ports.FLOAT),), volatile=True,
                        params=(Param("limit", ParamKind.FLOAT, 0.0, "the largest value taken"),))

    def process(self, ctx: FrameContext, value: float) -> dict:
        if value > self.params.limit:
            raise ValueError(f"{value} is over the limit")
        return {}


def test_a_failure_fixed_by_a_param_goes_even_where_the_node_runs_no_frame(registry):
    """Paused, a sink does not run on a redraw (nothing is written twice): the error its old path caused
    stayed on it after its user had fixed the path."""
    registry.register_all([Picky], "tests")
    scheduler = run(chain(("test.counter", {}), ("test.picky", {})), registry, 3)
    assert "n1" in scheduler.failures
    scheduler.set_param("n1", "limit", 100.0)
    scheduler.redraw()
    assert "n1" not in scheduler.failures


def test_last_good_output_is_kept_while_failing(registry):
    Flaky.fail_on = {1.0, 2.0}
    scheduler = run(chain(("test.counter", {}), ("test.flaky", {})), registry, 2)
    assert scheduler.output("n1", "value") == 0.0
    assert "n1" in scheduler.failures


def test_node_that_cannot_open_is_reported_and_the_rest_runs(registry):
    graph = Graph()
    graph.add(NodeSpec("bad", "test.badopen"))
    graph.add(NodeSpec("c", "test.counter"))
    graph.add(NodeSpec("sink", "test.sink"))
    graph.connect("c", "value", "sink", "value")
    scheduler = Scheduler(graph, registry)
    scheduler.open()
    failures = scheduler.step()
    assert [f.node_id for f in failures] == ["bad"] and "device missing" in failures[0].message
    assert Sink.log == [(0, 0.0)]


def device_into_sink(registry, device: str) -> Scheduler:
    """An opened graph of a node that starts only with a device (test.badopen) feeding a sink."""
    graph = Graph()
    graph.add(NodeSpec("bad", "test.badopen", params={"device": device}))
    graph.add(NodeSpec("sink", "test.sink"))
    graph.connect("bad", "value", "sink", "value")
    scheduler = Scheduler(graph, registry)
    scheduler.open()
    return scheduler


def test_a_node_that_could_not_start_starts_when_its_params_are_fixed(registry):
    """As a path corrected in the editor's inspector: no Restart needed (the driver had stayed red)."""
    scheduler = device_into_sink(registry, "")
    assert [f.node_id for f in scheduler.step()] == ["bad"] and Sink.log == []
    scheduler.set_param("bad", "device", "cam0")
    assert scheduler.step() == [] and "bad" not in scheduler.failures and Sink.log == [(1, 0.0)]


def test_a_node_that_cannot_apply_edited_params_stops_until_they_are_fixed(registry):
    """As a driver given a path that is not there: it had played on with the clip it had, which hid the error
    (the next frame cleared it) while the inspector showed the new path."""
    scheduler = device_into_sink(registry, "cam0")
    scheduler.step()
    scheduler.set_param("bad", "device", "")
    failures = scheduler.step()
    assert [f.message for f in failures] == ["applying device: device missing"] and len(Sink.log) == 1
    assert [f.node_id for f in scheduler.step()] == ["bad"]  # still: no frame of it clears the error
    scheduler.set_param("bad", "device", "cam1")
    assert scheduler.step() == [] and len(Sink.log) == 2


def test_a_node_that_could_not_start_is_closed_once_and_forgotten_when_removed(registry):
    graph = Graph()
    graph.add(NodeSpec("bad", "test.badopen"))
    scheduler = Scheduler(graph, registry)
    scheduler.open()
    scheduler.step()
    assert BadOpen.closes == 1 and "bad" in scheduler.failures
    scheduler.replace_graph(Graph())
    scheduler.step()
    scheduler.close()
    assert BadOpen.closes == 1 and scheduler.failures == {}


def test_undo_brings_back_the_params_a_node_could_start_with_and_it_starts(registry):
    """Undo, Redo and graph edits replace the graph: a node that could not start is started with the
    params the new graph gives it (it had stayed red until Restart)."""
    scheduler = device_into_sink(registry, "")
    assert [f.node_id for f in scheduler.step()] == ["bad"]
    undone = scheduler.graph
    undone.nodes["bad"].params["device"] = "cam0"
    scheduler.replace_graph(undone)
    assert scheduler.step() == [] and Sink.log == [(1, 0.0)]


def test_bypass_passes_the_input_through(registry):
    graph = chain(("test.counter", {}), ("test.gain", {"gain": 2.0}), ("test.sink", {}))
    graph.nodes["n1"].bypassed = True
    scheduler = run(graph, registry, 2)
    assert [v for _, v in Sink.log] == [0.0, 1.0]
    edited = scheduler.graph
    edited.nodes["n1"].bypassed = False
    scheduler.replace_graph(edited)
    scheduler.step()
    assert Sink.log[-1][1] == 4.0


def test_actions_run_between_frames(registry):
    scheduler = run(chain(("test.counter", {}), ("test.gain", {})), registry, 1)
    scheduler.trigger("n1", "reset")
    assert scheduler.node("n1").actions == []
    scheduler.step()
    assert scheduler.node("n1").actions == ["reset"]
    with pytest.raises(GraphError, match="no action"):
        scheduler.trigger("n1", "explode")


def test_replace_graph_keeps_state_of_surviving_nodes_and_closes_removed(registry):
    graph = chain(("test.counter", {}), ("test.sink", {}))
    scheduler = run(graph, registry, 3)
    counter = scheduler.node("n0")
    edited = scheduler.graph
    edited.add(NodeSpec("g", "test.gain", params={"gain": 2.0}))
    edited.add(NodeSpec("s2", "test.sink"))
    edited.connect("n0", "value", "g", "value")
    edited.connect("g", "value", "s2", "value")
    edited.remove("n1")
    scheduler.replace_graph(edited)
    scheduler.step()
    assert scheduler.node("n0") is counter  # state kept: the count goes on
    assert Sink.log[-1] == (3, 6.0)
    assert ("close", "n1") in Sink.lifecycle and ("open", "s2") in Sink.lifecycle


def test_replace_graph_refuses_an_invalid_graph(registry):
    scheduler = run(chain(("test.counter", {}), ("test.sink", {})), registry, 1)
    bad = scheduler.graph
    bad.connect("n1", "value", "n0", "value")  # sinks have no outputs
    with pytest.raises(ProblemsError):
        scheduler.replace_graph(bad)


def test_close_closes_every_node_once(registry):
    scheduler = run(chain(("test.counter", {}), ("test.sink", {})), registry, 2)
    assert scheduler.close() == []
    scheduler.close()
    assert Sink.lifecycle == [("open", "n1"), ("close", "n1")]


def test_timings_and_frame_rate_are_available(registry):
    scheduler = run(chain(("test.counter", {}), ("test.gain", {}), ("test.sink", {})), registry, 20)
    timings = scheduler.node_timings()
    assert set(timings) == {"n0", "n1", "n2"}
    assert timings["n0"].samples == 20 and timings["n0"].p95_ms >= timings["n0"].p50_ms >= 0
    assert scheduler.fps > 0


def test_wrong_output_type_is_a_node_failure(registry):
    class Liar(Constant):
        schema = Constant.schema.__class__("test.liar", "Liar", "test", "lies",
                                           outputs=Constant.schema.outputs)

        def process(self, ctx):
            return {"value": "not a number"}

    registry.register(Liar)
    scheduler = run(chain(("test.liar", {}), ("test.sink", {})), registry, 0)
    failures = scheduler.step()
    assert "output 'value' is str, expected int or float" in failures[0].message


def test_end_of_stream_propagates(registry):
    class Finite(Constant):
        schema = Constant.schema.__class__("test.finite", "Finite", "test", "ends",
                                           outputs=Constant.schema.outputs, volatile=True)

        def process(self, ctx):
            if ctx.index == 2:
                raise EndOfStream
            return {"value": 1.0}

    registry.register(Finite)
    scheduler = run(chain(("test.finite", {}), ("test.sink", {})), registry, 2)
    with pytest.raises(EndOfStream):
        scheduler.step()


def test_an_edit_for_a_node_removed_in_the_same_batch_is_dropped(registry):
    scheduler = run(chain(("test.counter", {}), ("test.gain", {}), ("test.sink", {})), registry, 1)
    scheduler.set_param("n1", "gain", 2.0)
    edited = scheduler.graph
    edited.remove("n1")
    edited.connect("n0", "value", "n2", "value")
    scheduler.replace_graph(edited)
    scheduler.step()
    assert Sink.log[-1] == (1, 1.0) and scheduler.node("n1") is None


from app.runtime import ports  # noqa: E402  (appended with the redraw tests)
from app.runtime.schema import NodeSchema, Port  # noqa: E402


class _FileSink(Sink):
    """A sink in the "output" category, like the nodes that write files or open windows."""

    schema = NodeSchema("test.file_sink", "File sink", "output", "writes what reaches it",
                        inputs=(Port("value", ports.FLOAT),), volatile=True)


def test_redraw_shows_an_edit_on_the_current_frame_without_advancing_or_writing(registry):
    registry.register(_FileSink, "tests")
    graph = chain(("test.counter", {}), ("test.gain", {"gain": 1.0}), ("test.file_sink", {}))
    graph.add(NodeSpec("k", "test.constant", params={"value": 3.0}))
    graph.add(NodeSpec("add", "test.add"))
    graph.connect("n1", "value", "add", "a")
    graph.connect("k", "value", "add", "b")
    scheduler = run(graph, registry, 3)  # the counter has shown 0, 1, 2
    written, frame, version = len(Sink.log), scheduler.frame_index, scheduler._slots["n0"].version
    scheduler.set_param("n1", "gain", 2.0)
    scheduler.set_param("k", "value", 10.0)  # a static source's edit is redrawn too
    assert scheduler.redraw() == []
    assert scheduler.output("n0", "value") == 2.0 and scheduler._slots["n0"].version == version
    assert scheduler.output("n1", "value") == 4.0 and scheduler.output("add", "value") == 14.0
    assert len(Sink.log) == written and scheduler.frame_index == frame  # nothing written, no frame advanced
    scheduler.step()
    assert scheduler.output("n0", "value") == 3.0 and Sink.log[-1] == (3, 6.0)


def test_redraw_before_the_first_frame_runs_each_source_once(registry):
    scheduler = Scheduler(chain(("test.counter", {}), ("test.gain", {"gain": 2.0})), registry)
    scheduler.open()
    assert scheduler.redraw() == [] and scheduler.output("n1", "value") == 0.0
    scheduler.redraw()
    assert scheduler.output("n0", "value") == 0.0 and scheduler.frame_index == 0
