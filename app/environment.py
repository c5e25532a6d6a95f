"""What this machine offers the studio: GL, EGL devices, CUDA, package versions, and which image
path (CUDA–GL sharing or read-back through host memory) a run uses, and why."""
from __future__ import annotations

import ctypes
import importlib.metadata
import os
import platform
from typing import Any

PACKAGES = ("numpy", "moderngl", "glcontext", "glfw", "mediapipe", "torch", "safetensors", "dearpygui",
            "imageio", "imageio-ffmpeg", "pillow", "scikit-image", "scipy")
_EGL_EXTENSIONS = 0x3055
_EGL_DRM_DEVICE_FILE_EXT = 0x3233


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


def image_path(gl_renderer: str | None, cuda: dict[str, Any] | None) -> tuple[str, str]:
    """('read-back' | 'cuda-gl', why). Sharing needs CUDA and a GL context on the same NVIDIA GPU."""
    if cuda is None:
        return "read-back", "no CUDA device visible to PyTorch: frames go through host memory"
    if gl_renderer is None or "nvidia" not in gl_renderer.lower():
        return "read-back", f"the OpenGL renderer ({gl_renderer or 'none'}) is not the CUDA GPU"
    return "read-back", "CUDA and GL share an NVIDIA GPU, but CUDA-GL sharing is not built yet"


def gl_info() -> dict[str, Any]:
    from app.runtime.gpu import GpuContext
    from app.runtime.errors import ReenactError

    try:
        gpu = GpuContext.create()
    except ReenactError as exc:
        return {"error": exc.message}
    try:
        info = gpu.ctx.info
        return {"vendor": info["GL_VENDOR"], "renderer": info["GL_RENDERER"], "version": info["GL_VERSION"],
                "backend": gpu.backend}
    finally:
        gpu.release()


def egl_devices() -> list[str] | str:
    """The EGL devices (EGL_EXT_device_enumeration), or why they cannot be listed."""
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError as exc:
        return f"libEGL not found ({exc})"
    egl.eglGetProcAddress.restype = ctypes.c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    address = egl.eglGetProcAddress(b"eglQueryDevicesEXT")
    string_address = egl.eglGetProcAddress(b"eglQueryDeviceStringEXT")
    if not address or not string_address:
        return "the EGL driver cannot enumerate devices"
    query = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(ctypes.c_int))(address)
    describe = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(string_address)
    devices = (ctypes.c_void_p * 16)()
    count = ctypes.c_int(0)
    if not query(16, devices, ctypes.byref(count)):
        return "eglQueryDevicesEXT failed"
    names = []
    for index in range(count.value):
        drm = describe(devices[index], _EGL_DRM_DEVICE_FILE_EXT)
        extensions = (describe(devices[index], _EGL_EXTENSIONS) or b"").decode()
        kind = "software (Mesa)" if "MESA_device_software" in extensions else "hardware"
        names.append(f"device {index}: {drm.decode() if drm else 'no DRM node'} ({kind})")
    return names


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def report() -> dict[str, Any]:
    gl = gl_info()
    cuda = cuda_device()
    path, why = image_path(gl.get("renderer"), cuda)
    return {"gl": gl, "egl_devices": egl_devices(), "cuda": cuda or "none", "image_path": path,
            "image_path_reason": why, "display": os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or "none",
            "versions": versions()}
