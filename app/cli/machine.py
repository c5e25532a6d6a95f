"""What this machine offers the studio: GL, EGL devices, CUDA, package versions, and which image
path (CUDA–GL sharing or read-back through host memory) a run uses, and why."""
from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

from app.runtime.options import Options

PACKAGES = ("numpy", "moderngl", "glcontext", "glfw", "mediapipe", "torch", "safetensors", "dearpygui",
            "imageio", "imageio-ffmpeg", "pillow", "scikit-image", "scipy", "cuda-bindings")


def cuda_device() -> dict[str, Any] | None:
    """The CUDA device PyTorch would use, or None."""
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {"name": props.name, "capability": f"{props.major}.{props.minor}",
            "memory_gb": round(props.total_memory / 2 ** 30, 1), "torch_cuda": torch.version.cuda}


def cpu_refiner_precision() -> str | None:
    """What `refine.neural` runs in on this CPU with `precision` auto: bf16, fp32, or None without PyTorch."""
    from nodes.refine.neural import cpu_computes_bf16

    try:
        return "bf16" if cpu_computes_bf16() else "fp32"
    except ImportError:
        return None


def gl_info(options: Options) -> dict[str, Any]:
    from app.runtime.gpu.context import GpuContext
    from app.runtime.errors import ReenactError

    try:
        gpu = GpuContext.create(options.gpu)
    except ReenactError as exc:
        return {"error": exc.message}
    try:
        info = gpu.ctx.info
        return {"vendor": info["GL_VENDOR"], "renderer": info["GL_RENDERER"], "version": info["GL_VERSION"],
                "backend": gpu.backend, "image_path": gpu.bridge.name, "image_path_reason": gpu.path_reason}
    finally:
        gpu.release()


def egl_devices() -> list[str] | str:
    """The EGL devices, described, or why they cannot be listed."""
    from app.runtime.gpu import egl

    listed = egl.devices()
    return listed if isinstance(listed, str) else [device.describe() for device in listed]


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def report(options: Options) -> dict[str, Any]:
    gl = gl_info(options)
    return {"gl": gl, "egl_devices": egl_devices(), "cuda": cuda_device() or "none",
            "image_path": gl.pop("image_path", "none"),
            "image_path_reason": gl.pop("image_path_reason", "no GL context: nothing can render"),
            "display": options.display or "none",
            "threads": options.threads.describe(), "threads_summary": options.threads.summary(),
            "cpu_refiner_precision": cpu_refiner_precision(),
            "versions": versions()}
