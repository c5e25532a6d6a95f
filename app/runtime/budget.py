"""The frame budget: holds a live run near a target frame rate. When frames run late it takes, one at a
time, the cheaper settings nodes declare (`NodeSchema.degrade`), starting with the node that costs the
most; when there is headroom it gives them back, last taken first.

It does not flap: a step is judged only after a full window of frames at the new setting, a setting is
given back only when the frame time it saved still fits in the budget with a margin, and a setting that
had to be taken again soon after it was given back waits twice as long (and needs more headroom) the
next time. Every change is returned to the caller to be logged and shown.
"""
from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from app.runtime.graph import Graph
from app.runtime.registry import Registry
from app.runtime.schema import Degrade

NEGLIGIBLE_MS = 1.0  # a node this cheap (e.g. a refiner passing frames through) has nothing to give
LATE = 1.05  # mean frame time over the budget by more than this: take a cheaper setting
HEADROOM = 0.85  # give one back only if the frame time plus what it saved stays under this share
WORSE = 0.25  # a setting after which frames take this much longer is given back at once (noise stays below)


@dataclass(frozen=True)
class BudgetChange:
    """One setting taken (or given back): at which frame, why (the mean frame time), what it gives up."""

    frame: int
    node_id: str
    param: str
    before: Any
    after: Any
    restored: bool
    frame_ms: float
    budget_ms: float
    gives_up: str
    why: str = ""  # for a setting given back: why, when it is not headroom

    def describe(self) -> str:
        if self.restored:
            return (f"frame budget: {self.node_id}.{self.param} back to {self.after} ("
                    + (self.why or f"frames take {self.frame_ms:.1f} ms of {self.budget_ms:.1f}") + ")")
        return (f"frame budget: {self.node_id}.{self.param} {self.before} -> {self.after} (frames take "
                f"{self.frame_ms:.1f} ms of {self.budget_ms:.1f}; gives up {self.gives_up})")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Taken:
    node_id: str
    step: Degrade
    before: Any
    value: Any
    late_ms: float  # frame time just before it was taken
    saved_ms: float | None = None  # measured one window later


class FrameBudget:
    """Call `observe(seconds)` after each frame with the frame's own duration (its step, without any
    pacing sleep); apply what it returns with the runner's `set_param` (it has done so already when a
    runner was given). `target_fps` may change while running (the editor's field)."""

    def __init__(self, target_fps: float, graph: Graph, registry: Registry, runner: Any = None, window: int = 20):
        self.target_fps = target_fps
        self._runner = runner
        self._window = window
        self._recent: deque[float] = deque(maxlen=window)  # milliseconds
        self._since_change = 0
        self._frame = 0
        self._taken: list[_Taken] = []
        self._flaps: dict[tuple[str, str], int] = {}  # (node, param) -> times taken again soon after giving back
        self._given_back_at: dict[tuple[str, str], int] = {}
        self._useless: set[tuple[str, str]] = set()  # settings that made frames slower here
        self._beside: dict[str, tuple[float, int]] = {}  # node -> (its work beside the graph, at frame), last looked
        self.changes: list[BudgetChange] = []
        self.exhausted = False  # late with nothing cheaper left
        self._steps = {node_id: registry.require(spec.type).schema for node_id, spec in graph.nodes.items()
                       if not spec.bypassed and registry.require(spec.type).schema.degrade}

    @property
    def budget_ms(self) -> float:
        return 1000.0 / self.target_fps if self.target_fps > 0 else float("inf")

    @property
    def active(self) -> list[str]:
        """The settings taken now, as node.param=value (the cheapest taken of each param)."""
        latest = {(t.node_id, t.step.param): t.value for t in self._taken}
        return [f"{node_id}.{param}={value}" for (node_id, param), value in latest.items()]

    def report(self) -> dict[str, Any]:
        return {"target_fps": self.target_fps, "budget_ms": self.budget_ms, "active": self.active,
                "exhausted": self.exhausted, "changes": [c.as_dict() for c in self.changes]}

    def observe(self, seconds: float, node_ms: dict[str, float] | None = None) -> BudgetChange | None:
        """node_ms: each node's mean time, to pick the costliest first (the runner's, when one was given)."""
        self._frame += 1
        self._recent.append(seconds * 1000.0)
        self._since_change += 1
        if self._since_change < self._window or self.target_fps <= 0:
            return None
        if self._forget_user_changes():  # frames so far were timed with other settings: start a new window
            self._since_change = 0
            self._recent.clear()
            return None
        mean_ms = sum(self._recent) / len(self._recent)
        change = self._decide(mean_ms, node_ms)
        if change is not None:
            self.changes.append(change)
            self._since_change = 0
            self._recent.clear()
        return change

    def _decide(self, mean_ms: float, node_ms: dict[str, float] | None) -> BudgetChange | None:
        """Late (or with headroom) means the whole window and its newer half agree, so a load that has
        just started or stopped is judged once it shows, and what a change saved is measured against it."""
        last = self._taken[-1] if self._taken else None
        latest_ms = self._latest_ms()
        if last is not None and last.saved_ms is None:  # the first full window since it was taken
            last.saved_ms = last.late_ms - mean_ms  # may be ~0: it bought nothing
            if last.saved_ms < -WORSE * last.late_ms:  # it made frames slower here: undo it, never take it again
                self._useless.add((last.node_id, last.step.param))
                return self._give_back(mean_ms, f"frames took {mean_ms:.1f} ms with it, {last.late_ms:.1f} "
                                                "before: it does not help here")
        if min(mean_ms, latest_ms) > self.budget_ms * LATE:
            return self._take(mean_ms, latest_ms, node_ms if node_ms is not None else self._node_ms())
        if last is not None and self._may_give_back(last, max(mean_ms, latest_ms)):
            return self._give_back(mean_ms)
        return None

    # ----------------------------------------------------------------- taking and giving back
    def _latest_ms(self) -> float:
        """The median of the window's newer half: the frame time just before a change, against which
        what it saved is judged (a load that has just started shows there first)."""
        newer = sorted(list(self._recent)[len(self._recent) // 2:])
        return newer[len(newer) // 2]

    def _take(self, mean_ms: float, latest_ms: float, node_ms: dict[str, float]) -> BudgetChange | None:
        for node_id in sorted(self._steps, key=lambda n: -node_ms.get(n, 0.0)):
            if node_ms and node_ms.get(node_id, 0.0) < NEGLIGIBLE_MS:
                continue
            for step in self._steps[node_id].degrade:
                current = self._current(node_id, step.param)
                default = self._steps[node_id].param(step.param).default
                cheaper = step.cheaper_than(current, default)
                if not cheaper or (node_id, step.param) in self._useless:
                    continue
                key = (node_id, step.param)
                if self._frame - self._given_back_at.pop(key, -10 ** 9) < 3 * self._window:
                    self._flaps[key] = self._flaps.get(key, 0) + 1
                self._set(node_id, step.param, cheaper[0])
                self._taken.append(_Taken(node_id, step, current, cheaper[0], latest_ms))
                self.exhausted = False
                return BudgetChange(self._frame, node_id, step.param, current, cheaper[0], False, mean_ms,
                                    self.budget_ms, step.gives_up)
        self.exhausted = True
        return None

    def _may_give_back(self, taken: _Taken, frame_ms: float) -> bool:
        flaps = self._flaps.get((taken.node_id, taken.step.param), 0)
        if self._since_change < self._window * 2 ** flaps:
            return False
        saved = max(taken.saved_ms or 0.0, 0.0) * (1.0 + 0.25 * flaps)
        return frame_ms + saved < self.budget_ms * HEADROOM

    def give_back_all(self) -> list[BudgetChange]:
        """Every setting taken, back as it was (holding the rate was switched off), last taken first."""
        changes = []
        self._forget_user_changes()
        while self._taken:
            changes.append(self._give_back(0.0, "holding the rate is off"))
        self.changes += changes
        self._since_change, self.exhausted = 0, False
        self._recent.clear()
        return changes

    def _forget_user_changes(self) -> bool:
        """A param the user set while the budget held it is theirs now: never given back or taken over."""
        latest = {(t.node_id, t.step.param): t.value for t in self._taken}
        changed = {key for key, value in latest.items() if self._current(*key) != value}
        self._taken = [t for t in self._taken if (t.node_id, t.step.param) not in changed]
        return bool(changed)

    def _give_back(self, mean_ms: float, why: str = "") -> BudgetChange:
        taken = self._taken.pop()
        key = (taken.node_id, taken.step.param)
        self._given_back_at[key] = self._frame
        self._set(taken.node_id, taken.step.param, taken.before)
        return BudgetChange(self._frame, taken.node_id, taken.step.param, taken.value, taken.before, True,
                            mean_ms, self.budget_ms, taken.step.gives_up, why)

    # ----------------------------------------------------------------- the runner
    def _current(self, node_id: str, param: str) -> Any:
        node = self._runner.node(node_id) if self._runner is not None else None
        if node is not None:
            return getattr(node.params, param)
        taken = [t.value for t in self._taken if (t.node_id, t.step.param) == (node_id, param)]
        return taken[-1] if taken else self._steps[node_id].param(param).default

    def _set(self, node_id: str, param: str, value: Any) -> None:
        if self._runner is not None:
            self._runner.set_param(node_id, param, value)

    def _node_ms(self) -> dict[str, float]:
        if self._runner is None:
            return {}
        timings = self._runner.node_timings()
        frames = max((stats.samples for stats in timings.values()), default=0)  # a volatile source runs every frame
        # per frame: a node that ran once and was cached since (the target's tracker) costs nothing now
        return {node_id: stats.mean_ms * stats.samples / frames + self._beside_ms(node_id)
                for node_id, stats in timings.items() if frames}

    def _beside_ms(self, node_id: str) -> float:
        """Milliseconds a frame of the node's work beside the graph (a pose pass every third frame, on a
        worker) since the budget last looked: at 6 ms a frame, more than its own timing's 0.5."""
        node = self._runner.node(node_id)
        seconds = node.beside_seconds() if node is not None else 0.0
        before, at = self._beside.get(node_id, (0.0, 0))
        self._beside[node_id] = (seconds, self._frame)
        if seconds < before or self._frame <= at:  # its passes were made anew
            return 0.0
        return (seconds - before) * 1000.0 / (self._frame - at)
