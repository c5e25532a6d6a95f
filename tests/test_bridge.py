"""The read-back route between host memory and GL textures, doctor and bench reports, and CUDA-only
checks (marker `gpu`, skipped without CUDA)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from app.runtime.gpu.bridge import ReadbackBridge
from tests.conftest import REPO

pytestmark = pytest.mark.gl


@pytest.mark.parametrize("size", [(7, 5), (33, 17), (1, 1), (513, 257)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float16, np.float32])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_read_back_round_trips_byte_exactly_at_odd_sizes(gpu, size, dtype, channels):
    rng = np.random.default_rng(size[0] * 7 + channels)
    width, height = size
    if dtype == np.uint8:
        pixels = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    else:
        pixels = rng.standard_normal((height, width, channels)).astype(dtype)
    with gpu.current():
        texture = ReadbackBridge.upload(gpu.ctx, pixels)
        try:
            back = ReadbackBridge.download(texture)
            assert back.dtype == pixels.dtype and back.tobytes() == pixels.tobytes()
            if channels == 4:
                assert np.array_equal(ReadbackBridge.download(texture, channels=3), pixels[:, :, :3])
        finally:
            texture.release()


def test_the_top_row_stays_on_top_through_a_framebuffer(gpu):
    pixels = np.zeros((9, 6, 4), np.uint8)
    pixels[0] = (255, 0, 0, 255)  # the top row is red
    with gpu.current():
        texture = ReadbackBridge.upload(gpu.ctx, pixels)
        framebuffer = gpu.ctx.framebuffer([texture])
        try:
            read = np.frombuffer(framebuffer.read(components=4, alignment=1), np.uint8).reshape(9, 6, 4)
            assert np.array_equal(read, pixels)
        finally:
            framebuffer.release()
            texture.release()


def test_unsupported_pixels_are_refused(gpu):
    with pytest.raises(ValueError, match="unsupported pixel type"):
        ReadbackBridge.upload(gpu.ctx, np.zeros((2, 2, 3), np.int32))
    with pytest.raises(ValueError, match="must be"):
        ReadbackBridge.upload(gpu.ctx, np.zeros((2, 2), np.uint8))


def test_doctor_reports_gl_cuda_versions_and_the_image_path(capsys):
    assert main(["doctor", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["gl"]["renderer"] and found["image_path"] in ("read-back", "cuda-gl")
    assert found["image_path_reason"] and found["versions"]["mediapipe"] == "0.10.21"
    assert isinstance(found["egl_devices"], (list, str))
    assert found["cpu_refiner_precision"] in ("bf16", "fp32")


def test_bench_writes_the_documented_json(tmp_path, capsys):
    report = tmp_path / "bench.json"
    assert main(["bench", str(REPO / "graphs" / "demo.json"), "--frames", "6", "--warmup", "2", "--quiet",
                 "--set", f"out.path={tmp_path / 'demo.mp4'}", "--json", str(report)]) == 0
    data = json.loads(report.read_text())
    for key in ("fps", "latency_ms", "peak_rss_mb", "path", "gpu_memory_mb", "nodes", "baselines"):
        assert key in data
    assert set(data["nodes"]["render"]) >= {"mean_ms", "p50_ms", "p95_ms"}
    warp = data["baselines"]["cpu_warp"]
    assert warp["node"] == "render" and warp["cpu_warp_ms"] > 0 and warp["cpu_over_gl"] > 0
    assert "image path" in capsys.readouterr().out


def _weights(tmp_path):
    """A weights file of a small refiner whose last layer is not zero (an untrained one returns its input)."""
    import torch

    from nodes.refine.net import NetConfig, UNet, save_weights

    config = NetConfig((16, 32, 64), 256)
    model = UNet(config)
    torch.nn.init.normal_(model.head.weight, std=0.02)
    path = tmp_path / "w.safetensors"
    save_weights(model, config, path)
    return path


@pytest.mark.gpu
def test_refinement_in_fp16_on_cuda_matches_fp32(tmp_path):
    import torch

    from nodes.refine.neural import Refiner

    path = _weights(tmp_path)
    frame = torch.randint(0, 256, (512, 512, 4), dtype=torch.uint8)
    maps = np.zeros((512, 512, 2), np.float32)
    maps[100:400, 150:350, 0] = 1
    def refined(refiner, render):
        return refiner.apply(render, refiner.correction(render, maps, 512), maps)

    half = refined(Refiner.load(path, "cuda", "fp16"), frame.cuda()).cpu()
    full = refined(Refiner.load(path, "cpu", "fp32"), frame)
    assert (half.int() - full.int()).abs().max() <= 3


@pytest.mark.gpu
def test_the_refiner_replayed_as_a_cuda_graph_matches_it_run_eagerly(tmp_path):
    import torch

    from nodes.refine.net import load_weights
    from nodes.refine.neural import Refiner

    path = _weights(tmp_path)
    graphed, eager = Refiner.load(path, "cuda", "fp16"), Refiner(*load_weights(path)[:2], "cuda", "fp16", graphs=False)
    kept = None
    for side in (512, 512, 384):  # the second frame replays the first one's graph; a resize captures another
        frame = torch.randint(0, 256, (side, side, 4), dtype=torch.uint8, device="cuda")
        maps = np.zeros((side, side, 2), np.float32)
        maps[100:300, 150:250, 0] = 1
        found, expected = graphed.correction(frame, maps, 256), eager.correction(frame, maps, 256)
        assert found.shape == (1, 3, side, side)
        assert (found.float() - expected.float()).abs().max() <= 1e-3
        if kept is None:
            kept, kept_copy = found, found.clone()
    assert torch.equal(kept, kept_copy)  # a correction kept for `every` > 1 is not overwritten by the next replay
    assert graphed.graphs.problem == ""
