"""Where a shared frame's transfer and the refiner's frame go on a CUDA GPU (tools/gpu/check.sh):

    python tools/gpu/profile_gpu.py WEIGHTS.safetensors

Transfers: texture <-> tensor at 512² and 1024² RGBA8, against mapping and unmapping alone and a plain
device copy, and with read-only / write-discard map flags. The refiner at 512² (fp16): its masks and
blend box on the CPU, its network (as a CUDA graph and eagerly), its blend, and the GPU kernels that take
longest."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from app.runtime.gpu.context import GpuContext
from app.runtime.gpu.cuda_gl import _check, _runtime
from app.runtime.options import resolve
from nodes.refine.maps import blend_box, conditioning_maps
from nodes.refine.neural import Refiner


def mean_ms(work, repeats: int = 200) -> float:
    """Wall time per call, the GPU's work included (synchronized before and after)."""
    work()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(repeats):
        work()
    torch.cuda.synchronize()
    return (time.perf_counter() - started) / repeats * 1000


def transfers(gpu: GpuContext) -> None:
    bridge, runtime = gpu.bridge, _runtime()
    flags = runtime.cudaGraphicsMapFlags
    with gpu.current():
        for side in (512, 1024):
            texture = gpu.ctx.texture((side, side), 4)
            tensor = bridge.texture_to_tensor(texture, "cuda:0")
            resource, stream = bridge._register(texture), bridge._stream()

            def map_and_unmap():
                _check(runtime.cudaGraphicsMapResources(1, resource, stream), "mapping")
                _check(runtime.cudaGraphicsUnmapResources(1, resource, stream), "unmapping")

            def with_flag(flag, work):
                _check(runtime.cudaGraphicsResourceSetMapFlags(resource, flag), "setting map flags")
                try:
                    return mean_ms(work)
                finally:
                    _check(runtime.cudaGraphicsResourceSetMapFlags(resource, flags.cudaGraphicsMapFlagsNone), "")

            to_tensor = lambda: bridge.texture_to_tensor(texture, "cuda:0")  # noqa: E731
            to_texture = lambda: bridge.tensor_to_texture(tensor, texture)  # noqa: E731
            found = {"map+unmap": mean_ms(map_and_unmap), "device copy": mean_ms(tensor.clone),
                     "texture->tensor": mean_ms(to_tensor), "tensor->texture": mean_ms(to_texture),
                     "texture->tensor, read-only": with_flag(flags.cudaGraphicsMapFlagsReadOnly, to_tensor),
                     "tensor->texture, write-discard": with_flag(flags.cudaGraphicsMapFlagsWriteDiscard, to_texture)}
            print(f"{side}²: " + "  ".join(f"{name} {ms:.3f} ms" for name, ms in found.items()))
            bridge.forget(texture)
            texture.release()


def refiner_parts(weights: Path) -> None:
    refiner = Refiner.load(weights, "cuda", "auto")
    render = torch.randint(0, 256, (512, 512, 4), dtype=torch.uint8, device="cuda")
    angle = np.linspace(0, 2 * np.pi, 478, endpoint=False)  # a face-sized ellipse of landmarks
    landmarks = np.stack([256 + 120 * np.cos(angle), 256 + 150 * np.sin(angle)], 1).astype(np.float32)
    maps = conditioning_maps(landmarks, (512, 512))
    correction = refiner.correction(render, maps, 0)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                            torch.profiler.ProfilerActivity.CUDA]) as profiler:
        for _ in range(20):
            refiner.apply(render, refiner.correction(render, maps, 0), maps)
        torch.cuda.synchronize()
    print(profiler.key_averages().table(sort_by="cuda_time_total", row_limit=8, max_name_column_width=40))
    eager = Refiner(refiner.model, refiner.config, "cuda", "auto", graphs=False)
    parts = {"masks (CPU)": mean_ms(lambda: conditioning_maps(landmarks, (512, 512)), 50),
             "blend box (CPU)": mean_ms(lambda: blend_box(maps[..., 0]), 50),
             "network as a CUDA graph": mean_ms(lambda: refiner.correction(render, maps, 0), 100),
             "network eagerly": mean_ms(lambda: eager.correction(render, maps, 0), 100),
             "blend": mean_ms(lambda: refiner.apply(render, correction, maps), 100)}
    print("refiner at 512², fp16: " + "  ".join(f"{name} {ms:.3f} ms" for name, ms in parts.items()))


if __name__ == "__main__":
    context = GpuContext.create(resolve().gpu)
    print("route:", context.bridge.name, "-", context.path_reason)
    if context.bridge.name == "cuda-gl":
        transfers(context)
    if len(sys.argv) > 1:
        refiner_parts(Path(sys.argv[1]))
    context.release()
