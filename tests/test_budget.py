"""The frame budget: cheaper settings taken when frames run late, given back with headroom, no flapping;
and the bench's competing load, threads and budget report."""
from __future__ import annotations

import json
import subprocess
from types import SimpleNamespace

import pytest

from app.cli import main
from app.cli.bench import settled_figures
from app.cli.load import competing_load
from app.runtime.budget import FrameBudget
from app.runtime.graph import Graph, NodeSpec
from app.runtime.registry import Registry
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind
from app.runtime.timing import TimingStats, TimingWindow
from nodes import default_registry
from tests.conftest import REPO


class FakeRun:
    """A render whose frame time follows its settings: multisampling and refining each cost time."""

    COST = {"antialias": {"4x": 12.0, "2x": 6.0, "off": 2.0}, "every": {1: 20.0, 2: 10.0, 3: 7.0}}

    def __init__(self):
        self.params = {"render": {"antialias": "4x"}, "refine": {"every": 1}}
        self.other_ms = 10.0  # tracking etc., plus whatever a competing program takes

    def node(self, node_id):
        return SimpleNamespace(params=SimpleNamespace(**self.params[node_id]), beside_seconds=lambda: 0.0)

    def set_param(self, node_id, name, value):
        self.params[node_id][name] = value

    def node_timings(self):
        return {"render": TimingStats(self.COST["antialias"][self.params["render"]["antialias"]], 0, 0, 1),
                "refine": TimingStats(self.COST["every"][self.params["refine"]["every"]], 0, 0, 1)}

    def frame_seconds(self):
        return (self.other_ms + sum(t.mean_ms for t in self.node_timings().values())) / 1000.0


def registry() -> Registry:
    reg = Registry()
    for type_id, param, default, steps in (("t.render", "antialias", "4x", ("2x", "off")), ("t.refine", "every", 1, (2, 3))):
        kind = ParamKind.ENUM if isinstance(default, str) else ParamKind.INT
        extra = {"choices": ("off", "2x", "4x", "8x")} if kind is ParamKind.ENUM else {"minimum": 1, "maximum": 8}
        schema = NodeSchema(type_id, type_id, "test", "", params=(Param(param, kind, default, "", **extra),),
                            degrade=(Degrade(param, steps, "quality"),))
        reg.register(type("Fake", (), {"schema": schema}), "test")
    return reg


def graph() -> Graph:
    g = Graph()
    g.add(NodeSpec("render", "t.render"))
    g.add(NodeSpec("refine", "t.refine"))
    return g


def drive(budget: FrameBudget, run: FakeRun, frames: int) -> list:
    changes = []
    for _ in range(frames):
        change = budget.observe(run.frame_seconds())
        if change is not None:
            changes.append(change)
    return changes


def test_late_frames_take_the_costliest_nodes_cheaper_settings_one_at_a_time_until_in_budget():
    run = FakeRun()
    budget = FrameBudget(30.0, graph(), registry(), run, window=10)  # 33.3 ms; now 42 ms
    changes = drive(budget, run, 200)
    assert [(c.node_id, c.after) for c in changes] == [("refine", 2)]  # refine costs most; 32 ms then fits
    assert changes[0].frame == 10 and not changes[0].restored and "gives up quality" in changes[0].describe()
    run.other_ms = 30.0  # a competing program starts
    changes = drive(budget, run, 200)
    assert [(c.node_id, c.after) for c in changes] == [("render", "2x"), ("refine", 3), ("render", "off")]
    assert budget.active == ["refine.every=3", "render.antialias=off"]
    assert budget.report()["changes"][-1]["after"] == "off"


class BesideRun(FakeRun):
    """The refiner's network runs on a worker beside the graph: its own timing shows 1 ms a frame, the
    passes cost what FakeRun's refine does."""

    def __init__(self):
        super().__init__()
        self.busy = 0.0

    def node(self, node_id):
        node = super().node(node_id)
        if node_id == "refine":
            node.beside_seconds = lambda: self.busy
        return node

    def node_timings(self):
        return {**super().node_timings(), "refine": TimingStats(1.0, 0, 0, 1)}

    def frame_seconds(self):
        passes = self.COST["every"][self.params["refine"]["every"]]
        self.busy += passes / 1000.0
        return super().frame_seconds() + passes / 1000.0


def test_the_work_a_node_does_beside_the_graph_counts_as_its_cost():
    """A pose pass every third frame or a refiner's network runs on a worker (`LatePass`): the node's own
    timing shows only the start of it. Counted, the refiner (1 + 20 ms) goes before the render (12 ms)."""
    run = BesideRun()
    budget = FrameBudget(30.0, graph(), registry(), run, window=10)  # 33.3 ms; now 43 ms
    changes = drive(budget, run, 200)
    assert [(c.node_id, c.after) for c in changes] == [("refine", 2)]


def test_a_late_pass_counts_the_time_its_passes_take_on_its_worker():
    import time

    from app.runtime.late_pass import LatePass
    from app.runtime.node import Node

    class Looking(Node):
        def open(self, run):
            self.looks = LatePass("test-looks")

    node = Looking("n", {})
    node.open(None)
    for _ in range(3):
        node.looks.start(time.sleep, 0.02)
    node.looks.close()
    assert 0.06 <= node.beside_seconds() < 0.5
    assert Node("plain", {}).beside_seconds() == 0.0


def test_headroom_gives_settings_back_last_first_and_a_steady_load_does_not_flap():
    run = FakeRun()
    run.other_ms = 30.0
    budget = FrameBudget(25.0, graph(), registry(), run, window=10)  # 40 ms
    drive(budget, run, 300)
    assert len(budget.active) == 2 and run.params == {"render": {"antialias": "off"}, "refine": {"every": 3}}
    run.other_ms = 25.0  # lighter, but not enough to afford everything back: it must settle, not oscillate
    changes = drive(budget, run, 2000)
    assert len(changes) <= 4, [c.describe() for c in changes]
    run.other_ms = 0.0  # the competing program quits
    changes = drive(budget, run, 2000)
    assert all(c.restored for c in changes) and budget.active == []
    assert run.params == {"render": {"antialias": "4x"}, "refine": {"every": 1}}


def test_a_users_own_setting_is_never_raised_nor_overwritten():
    run = FakeRun()
    run.params["render"]["antialias"] = "off"  # already the cheapest: nothing to take there
    run.other_ms = 40.0
    budget = FrameBudget(30.0, graph(), registry(), run, window=10)
    changes = drive(budget, run, 100)
    assert {c.node_id for c in changes} == {"refine"} and budget.exhausted
    run.params["refine"]["every"] = 2  # the user picks a value while the budget holds 3
    run.other_ms = 0.0
    drive(budget, run, 1000)
    assert run.params["refine"]["every"] == 2 and run.params["render"]["antialias"] == "off"


def test_a_degrade_step_for_an_unknown_param_or_value_is_refused_when_declared():
    with pytest.raises(ValueError, match="unknown param 'size'"):
        NodeSchema("t.x", "x", "test", "", degrade=(Degrade("size", (1,), "q"),))
    from app.runtime.errors import ParamError
    with pytest.raises(ParamError):
        NodeSchema("t.x", "x", "test", "", params=(Param("n", ParamKind.INT, 1, "", minimum=1, maximum=4),),
                   degrade=(Degrade("n", (9,), "q"),))


def test_shipped_nodes_declare_cheaper_settings():
    declared = {t.schema.type_id: [d.param for d in t.schema.degrade] for t in default_registry().types()
                if t.schema.degrade}
    assert declared["render.portrait"] == ["antialias", "resampling", "grid"] and declared["refine.neural"] == ["threads", "every"]
    assert declared["track.face"] == ["max_faces", "hands_every"] and declared["track.body"] == ["every"]
    assert declared["output.video"] == ["speed"]


def test_the_competing_load_spins_and_stops_with_the_measurement():
    with competing_load(2) as spinners:
        assert all(s.poll() is None for s in spinners)
    assert all(s.returncode is not None for s in spinners)


def test_a_load_process_stops_by_itself_at_its_deadline():
    with competing_load(1, longest_seconds=0.2) as (spinner,):
        assert spinner.wait(timeout=10) == 0


@pytest.mark.gl
def test_bench_under_load_with_a_budget_logs_each_change_and_reports_it(tmp_path, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", str(REPO / "graphs" / "demo.json"), "--frames", "40", "--warmup", "2", "--quiet",
                 "--set", f"out.path={tmp_path / 'demo.mp4'}", "--load", "1", "--target-fps", "240",
                 "--threads", "1", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    printed = capsys.readouterr()
    out = printed.out + printed.err
    assert data["load"] == 1 and data["threads"]["cores"] == 1 and data["frame_ms"]["p95"] > 0
    changes = data["budget"]["changes"]
    assert changes and changes[0]["node_id"] == "render" and changes[0]["after"] == "2x"  # 240 fps: always late
    assert "frame budget: render.antialias 4x -> 2x" in out and "1 competing busy process" in out
    assert "--frames" in data["settled"]["why"] and "held from frame" in out  # 40 frames cannot show a held rate
    assert subprocess.run(["pgrep", "-f", "time.monotonic"], capture_output=True).stdout == b""  # spinners gone


def test_the_held_rate_counts_only_the_frames_after_the_budgets_last_change():
    """Frames before the last change ran with settings since made cheaper: counted, they understate the
    rate the budget holds (a short clip spent half its frames settling)."""
    steps = TimingWindow(200)
    for ms in [40.0] * 50 + [20.0] * 150:  # measured frames 20..219; the last change came after frame 70
        steps.add(ms / 1000.0)
    runner, budget = SimpleNamespace(step_times=steps), SimpleNamespace(changes=[SimpleNamespace(frame=70)])
    held = settled_figures(runner, 220, 20, budget)
    assert held["from_frame"] == 70 and held["frames"] == 150
    assert held["fps"] == pytest.approx(50.0) and held["frame_ms"]["p95"] == pytest.approx(20.0)
    assert settled_figures(runner, 220, 20, SimpleNamespace(changes=[]))["frames"] == 200  # it changed nothing
    assert "--frames" in settled_figures(runner, 220, 20, SimpleNamespace(changes=[SimpleNamespace(frame=150)]))["why"]
    assert settled_figures(runner, 220, 20, None) is None


@pytest.mark.gl
def test_an_offline_render_never_degrades_unless_asked(tmp_path, capsys):
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--frames", "30", "--quiet",
                 "--set", f"out.path={tmp_path / 'demo.mp4'}"]) == 0
    assert "frame budget" not in capsys.readouterr().err
    assert main(["run", str(REPO / "graphs" / "demo.json"), "--frames", "30", "--quiet", "--target-fps", "240",
                 "--set", f"out.path={tmp_path / 'demo.mp4'}"]) == 0
    err = capsys.readouterr().err
    assert "frame budget: render.antialias 4x -> 2x" in err and "frame budget 240 fps: render.antialias" in err


@pytest.mark.parametrize("flag, says", [("--load=17", "must be at most 16"), ("--target-fps=0", "between 1 and 240"),
                                        ("--threads=0", "at least 1")])
def test_bench_refuses_a_load_rate_or_thread_count_that_makes_no_sense(flag, says, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["bench", str(REPO / "graphs" / "demo.json"), flag])
    assert stop.value.code == 2 and says in capsys.readouterr().err


def test_a_setting_that_makes_frames_slower_here_is_given_back_at_once_and_not_taken_again():
    run = FakeRun()
    run.COST = {"antialias": {"4x": 12.0, "2x": 30.0, "off": 2.0}, "every": {1: 20.0, 2: 10.0, 3: 7.0}}
    run.params["refine"]["every"] = 3  # refining has nothing left to give: the render goes first
    budget = FrameBudget(30.0, graph(), registry(), run, window=10)
    run.other_ms = 20.0  # 39 ms: late
    changes = drive(budget, run, 200)
    assert [(c.after, c.restored) for c in changes][:2] == [("2x", False), ("4x", True)]
    assert "it does not help here" in changes[1].describe()
    assert run.params["render"]["antialias"] == "4x" and budget.exhausted
