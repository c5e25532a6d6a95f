"""EGL device enumeration (EGL_EXT_device_enumeration), and which EGL device is a given CUDA device.

The EGL device index glcontext takes (`device_index`) is not the CUDA ordinal and ignores
CUDA_VISIBLE_DEVICES, so the GPU a headless context runs on is chosen by the EGL_NV_device_cuda
attribute, which names the CUDA device as this process numbers it.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass

_EGL_EXTENSIONS = 0x3055
_EGL_DRM_DEVICE_FILE_EXT = 0x3233
_EGL_CUDA_DEVICE_NV = 0x323A
_MAX_DEVICES = 16


@dataclass(frozen=True)
class EglDevice:
    index: int  # what glcontext's device_index (GLCONTEXT_DEVICE_INDEX) takes
    drm_node: str | None
    software: bool  # Mesa's llvmpipe/softpipe
    cuda_device: int | None  # the CUDA ordinal of the same GPU, where the driver says

    def describe(self) -> str:
        kind = "software (Mesa)" if self.software else "hardware"
        cuda = f", CUDA device {self.cuda_device}" if self.cuda_device is not None else ""
        return f"device {self.index}: {self.drm_node or 'no DRM node'} ({kind}{cuda})"


def devices() -> list[EglDevice] | str:
    """The EGL devices, or why they cannot be listed."""
    try:
        egl = ctypes.CDLL("libEGL.so.1")
    except OSError as exc:
        return f"libEGL not found ({exc})"
    egl.eglGetProcAddress.restype = ctypes.c_void_p
    egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]
    addresses = [egl.eglGetProcAddress(name) for name in
                 (b"eglQueryDevicesEXT", b"eglQueryDeviceStringEXT", b"eglQueryDeviceAttribEXT")]
    if not all(addresses[:2]):
        return "the EGL driver cannot enumerate devices"
    query = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                             ctypes.POINTER(ctypes.c_int))(addresses[0])
    describe = ctypes.CFUNCTYPE(ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int)(addresses[1])
    attribute = (ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_ssize_t))
                 (addresses[2]) if addresses[2] else None)
    handles = (ctypes.c_void_p * _MAX_DEVICES)()
    count = ctypes.c_int(0)
    if not query(_MAX_DEVICES, handles, ctypes.byref(count)):
        return "eglQueryDevicesEXT failed"
    found = []
    for index in range(count.value):
        drm = describe(handles[index], _EGL_DRM_DEVICE_FILE_EXT)
        extensions = (describe(handles[index], _EGL_EXTENSIONS) or b"").decode()
        cuda = None
        if attribute is not None and "EGL_NV_device_cuda" in extensions:
            value = ctypes.c_ssize_t(-1)
            if attribute(handles[index], _EGL_CUDA_DEVICE_NV, ctypes.byref(value)):
                cuda = value.value
        found.append(EglDevice(index, drm.decode() if drm else None, "MESA_device_software" in extensions, cuda))
    return found


def index_for_cuda(cuda_device: int, listed: list[EglDevice] | str) -> int | None:
    """The EGL device index of CUDA device `cuda_device`, or None where no device says so."""
    if isinstance(listed, str):
        return None
    return next((d.index for d in listed if d.cuda_device == cuda_device), None)
