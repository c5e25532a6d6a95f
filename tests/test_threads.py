"""The thread budget: resolved once from flags and the environment, applied to each library's pool."""
from __future__ import annotations

import os

import pytest

from app.runtime.errors import ReenactError
from app.runtime.options import resolve
from app.runtime.threads import RASTERIZER_ENV, apply_process_wide, plan_budget


def test_pools_use_the_runs_cores_the_codec_half_and_the_editor_keeps_one_for_its_window():
    two = plan_budget(2)
    assert (two.cores, two.torch_intra, two.torch_interop, two.rasterizer, two.opencv, two.codec, two.ui) == \
        (2, 2, 1, 2, 2, 1, 0)
    sixteen = plan_budget(16)
    assert sixteen.torch_intra == 16 and sixteen.rasterizer == 16 and sixteen.codec == 8
    editor = plan_budget(2, editor=True)
    assert editor.cores == 1 and editor.ui == 1 and "editor" in editor.summary()
    assert plan_budget(1, editor=True).cores == 1  # one core: nothing to keep back


def test_flag_wins_over_environment_and_is_capped_by_the_machine():
    env = {"REENACT_THREADS": "1"}
    assert resolve(env).threads.cores == 1 and "REENACT_THREADS" in resolve(env).threads.source
    many = resolve(env, threads=999).threads
    assert many.cores == many.machine_cores and "only" in many.source
    with pytest.raises(ReenactError, match="REENACT_THREADS=two is not a whole number"):
        resolve({"REENACT_THREADS": "two"})
    with pytest.raises(ReenactError, match="not a number of cores"):
        resolve({"REENACT_THREADS": "0"})


def test_a_rasterizer_count_the_user_exported_stays_theirs(monkeypatch):
    budget = resolve({RASTERIZER_ENV: "3"}).threads
    assert budget.rasterizer == 3
    monkeypatch.delenv(RASTERIZER_ENV, raising=False)
    apply_process_wide(budget)
    assert os.environ[RASTERIZER_ENV] == "3"


def test_torch_pools_follow_the_budget():
    torch = pytest.importorskip("torch")
    from app.runtime.threads import apply_torch

    before = torch.get_num_threads()
    try:
        apply_torch(plan_budget(2, requested=1))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
