"""Issue 17, item 3: weights with NaN are refused, and a refined frame that is not finite falls back to
the raw render with a notice, instead of a blacked-out face."""
from __future__ import annotations

import resource

import numpy as np
import pytest
import torch

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from app.runtime.gpu.image import Image
from nodes.refine.net import NetConfig, UNet, load_weights, save_weights
from nodes.retarget.types import Motion
from tests.conftest import reference_track

TINY = NetConfig((8, 16, 32), 96)


def weights_with(tmp_path, name: str, tensor: str, value: float):
    """Tiny weights with every value of one tensor set to `value`."""
    model = UNet(TINY)
    with torch.no_grad():
        model.get_parameter(tensor).fill_(value)
    path = tmp_path / name
    save_weights(model, TINY, path)
    return path


def test_weights_with_nan_are_refused(tmp_path):
    with pytest.raises(ReenactError, match=r"NaN or infinite values \(head.weight\).*train it again"):
        load_weights(weights_with(tmp_path, "nan.safetensors", "head.weight", float("nan")))


def test_a_run_with_nan_weights_passes_the_render_through_and_says_so(studio_registry, tmp_path):
    path = weights_with(tmp_path, "nan.safetensors", "head.weight", float("nan"))
    node = studio_registry.create("refine.neural", "refine",
                                  {**studio_registry.require("refine.neural").schema.defaults(), "weights": str(path)})
    run = RunContext()
    node.open(run)
    image = Image(np.full((400, 400, 3), 120, np.uint8))
    out = node.process(FrameContext(0, 0.0, run), image=image, motion=Motion(reference_track(0.0).landmarks))
    assert out["image"] is image
    assert any("NaN or infinite values" in n and "pass through" in n for n in run.notices)


def test_a_non_finite_refined_frame_falls_back_to_the_raw_render(studio_registry, tmp_path):
    # finite, but the first convolution overflows to infinity and its normalization turns that into NaN
    path = weights_with(tmp_path, "overflowing.safetensors", "down.0.0.weight", 3e38)
    node = studio_registry.create("refine.neural", "refine",
                                  {**studio_registry.require("refine.neural").schema.defaults(), "weights": str(path)})
    run = RunContext()
    node.open(run)
    image = Image(np.full((400, 400, 3), 120, np.uint8))
    motion = Motion(reference_track(0.0).landmarks, image_size=(400, 400))
    for index in range(3):
        out = node.process(FrameContext(index, 0.0, run), image=image, motion=motion)
        assert out["image"] is image  # the render as it was, not a black face
    assert run.notices == ["refine: the network gave NaN or infinite values: showing the raw render instead"]
    assert "raw render" in node.status()


def test_metadata_naming_a_huge_network_is_refused_without_building_it(tmp_path):
    # a few KB of tensors whose metadata claims 24 levels of 1024 channels (building it takes ~4.5 GB)
    path = weights_with(tmp_path, "deep.safetensors", "head.bias", 0.0)
    from safetensors import safe_open
    from safetensors.torch import save_file
    with safe_open(str(path), framework="pt") as handle:
        state, meta = {k: handle.get_tensor(k) for k in handle.keys()}, handle.metadata()
    save_file(state, str(path), metadata={**meta, "channels": str([1024] * 24)})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ReenactError, match=r"do not fit the network its metadata describes.*train it again"):
        load_weights(path)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000  # KB: nothing that size built
