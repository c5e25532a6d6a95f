"""How long moving one RGBA8 frame takes on each route this machine offers (part of `reenact bench`).

Read-back: texture -> host and host -> texture (what every frame costs without sharing). CUDA-GL, where
the run's context shares: texture -> CUDA tensor and back, timed with CUDA events around the copies,
against the read-back route's texture -> CUDA tensor (download, then upload to the GPU).
"""
from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from app.runtime.gpu.bridge import ReadbackBridge

SIZES = ((512, 512), (1024, 1024))


def measure_transfers(gpu, repeats: int = 20) -> dict[str, dict[str, float]]:
    """{"WxH": {route.kind: mean ms}} for the routes of `gpu`'s context."""
    found: dict[str, dict[str, float]] = {}
    readback = ReadbackBridge()
    with gpu.current():
        for size in SIZES:
            texture = gpu.ctx.texture(size, 4)
            pixels = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 4), dtype=np.uint8)
            try:
                times = {
                    "read-back.host->texture": _host_ms(lambda: readback.write(texture, pixels), repeats),
                    "read-back.texture->host": _host_ms(lambda: readback.download(texture), repeats),
                }
                if gpu.bridge.name == "cuda-gl":
                    times.update(_cuda_times(gpu.bridge, readback, texture, repeats))
            finally:
                gpu.bridge.forget(texture)
                texture.release()
            found[f"{size[0]}x{size[1]}"] = times
    return found


def _host_ms(work: Callable[[], Any], repeats: int) -> float:
    work()  # warm-up: first use allocates
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    return (time.perf_counter() - started) / repeats * 1000.0


def _cuda_times(bridge, readback: ReadbackBridge, texture, repeats: int) -> dict[str, float]:
    device = f"cuda:{bridge.device_index}"
    tensor = bridge.texture_to_tensor(texture, device)
    return {
        "cuda-gl.texture->tensor": _cuda_ms(lambda: bridge.texture_to_tensor(texture, device), repeats),
        "cuda-gl.tensor->texture": _cuda_ms(lambda: bridge.tensor_to_texture(tensor, texture), repeats),
        "read-back.texture->tensor": _cuda_ms(lambda: readback.texture_to_tensor(texture, device), repeats),
        "read-back.tensor->texture": _cuda_ms(lambda: readback.tensor_to_texture(tensor, texture), repeats),
    }


def _cuda_ms(work: Callable[[], Any], repeats: int) -> float:
    import torch

    work()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    for _ in range(repeats):
        work()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / repeats
