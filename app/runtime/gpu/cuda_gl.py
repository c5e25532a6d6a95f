"""The CUDA texture route: GL textures <-> CUDA tensors copied on the GPU (cuda-bindings runtime API).

Each texture is registered with CUDA once, on first use, and mapped around each copy. A mapped texture
is an opaque CUDA array that no tensor can alias, so a conversion is one device-to-device copy. The copy
runs on PyTorch's current stream: mapping waits for the GL work already issued on the context and
unmapping makes later GL work wait for the stream, so no glFinish or stream sync is needed on one thread.
`choose_bridge` decides once per GL context whether this route can be used, and says why not.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from app.runtime.gpu.bridge import ReadbackBridge, transfers
from app.runtime.errors import ReenactError
from app.runtime.options import GpuOptions

GL_TEXTURE_2D = 0x0DE1


def _runtime():
    from cuda.bindings import runtime

    return runtime


def _error_name(error: Any) -> str:
    return getattr(error, "name", str(error))


def _check(result: tuple, what: str) -> Any:
    """cuda-bindings calls return (error, values...): raise on an error, else return the values."""
    error, *values = result
    if int(error) != 0:
        raise RuntimeError(f"{what} failed: {_error_name(error)}")
    return values[0] if len(values) == 1 else values


def cuda_device_count() -> tuple[int, str]:
    """(CUDA devices the driver offers, why none) without importing PyTorch."""
    try:
        runtime = _runtime()
    except ImportError:
        return 0, "cuda-bindings is not installed"
    error, count = runtime.cudaGetDeviceCount()
    if int(error) != 0:
        return 0, f"no CUDA driver or device ({_error_name(error)})"
    return count, "" if count else "no CUDA device"


class CudaGLBridge(ReadbackBridge):
    """4-channel textures (RGBA8/16F/32F) <-> (H, W, 4) uint8/float16/float32 tensors on one CUDA device;
    anything else (another device, fewer channels) falls back to read-back."""

    name = "cuda-gl"

    def __init__(self, device_index: int):
        self.device_index = device_index
        self.registrations = 0  # how many textures were ever registered (tests: once per texture)
        self._resources: dict[int, Any] = {}  # texture GL name -> registered CUDA resource

    def shares(self, device: Any) -> bool:
        return str(device) == f"cuda:{self.device_index}"

    def texture_to_tensor(self, texture, device: Any):
        import torch

        if not (self.shares(device) and _shareable(texture)):
            return super().texture_to_tensor(texture, device)
        width, height = texture.size
        tensor = torch.empty((height, width, 4), dtype=getattr(torch, _TORCH_DTYPES[texture.dtype]), device=device)
        row = width * 4 * tensor.element_size()
        runtime = _runtime()
        with transfers.timed("texture->tensor"), self._mapped(texture) as (array, stream):
            _check(runtime.cudaMemcpy2DFromArrayAsync(
                tensor.data_ptr(), row, array, 0, 0, row, height,
                runtime.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copying a texture to a tensor")
        return tensor

    def tensor_to_texture(self, tensor, texture) -> None:
        if not (self.shares(tensor.device) and _shareable(texture)):
            return super().tensor_to_texture(tensor, texture)
        width, height = texture.size
        if tuple(tensor.shape) != (height, width, 4) or str(tensor.dtype) != f"torch.{_TORCH_DTYPES[texture.dtype]}":
            raise ValueError(f"a {tuple(tensor.shape)} {tensor.dtype} tensor cannot fill a {width}x{height} "
                             f"{texture.dtype} RGBA texture")
        tensor = tensor.contiguous()
        row = width * 4 * tensor.element_size()
        runtime = _runtime()
        with transfers.timed("tensor->texture"), self._mapped(texture) as (array, stream):
            _check(runtime.cudaMemcpy2DToArrayAsync(
                array, 0, 0, tensor.data_ptr(), row, row, height,
                runtime.cudaMemcpyKind.cudaMemcpyDeviceToDevice, stream), "copying a tensor to a texture")

    def _stream(self) -> int:
        import torch

        return torch.cuda.current_stream(self.device_index).cuda_stream

    @contextmanager
    def _mapped(self, texture) -> Iterator[tuple[Any, int]]:
        runtime = _runtime()
        resource = self._register(texture)
        stream = self._stream()
        _check(runtime.cudaGraphicsMapResources(1, resource, stream), "mapping a texture for CUDA")
        try:
            yield _check(runtime.cudaGraphicsSubResourceGetMappedArray(resource, 0, 0), "reading a mapped texture"), stream
        finally:
            _check(runtime.cudaGraphicsUnmapResources(1, resource, stream), "unmapping a texture")

    def _register(self, texture) -> Any:
        resource = self._resources.get(texture.glo)
        if resource is None:
            runtime = _runtime()
            _check(runtime.cudaSetDevice(self.device_index), "selecting the CUDA device")
            resource = _check(runtime.cudaGraphicsGLRegisterImage(
                texture.glo, GL_TEXTURE_2D, runtime.cudaGraphicsRegisterFlags.cudaGraphicsRegisterFlagsNone),
                "registering a texture with CUDA")
            self._resources[texture.glo] = resource
            self.registrations += 1
        return resource

    def forget(self, texture) -> None:
        resource = self._resources.pop(texture.glo, None)
        if resource is not None:
            _check(_runtime().cudaGraphicsUnregisterResource(resource), "unregistering a texture")

    def release(self) -> None:
        runtime = _runtime()
        for resource in self._resources.values():
            runtime.cudaGraphicsUnregisterResource(resource)  # best effort: the context is going away
        self._resources.clear()


_TORCH_DTYPES = {"f1": "uint8", "f2": "float16", "f4": "float32"}  # moderngl texel type -> torch dtype


def _shareable(texture) -> bool:
    return texture.components == 4 and texture.dtype in _TORCH_DTYPES


def choose_bridge(ctx, options: GpuOptions) -> tuple[ReadbackBridge, str]:
    """The route for frames of this (current-able) GL context, and why. Called once per context."""
    forced, source = options.route, options.route_source or "the options"
    if forced == "read-back":
        return ReadbackBridge(), f"read-back forced by {source}"
    try:
        return _sharing_bridge(ctx)
    except Exception as exc:  # however the probe breaks (a driver, a bindings version), rendering goes on
        why = str(exc) if isinstance(exc, _NoSharing) else f"probing CUDA-GL sharing failed ({type(exc).__name__}: {exc})"
        if forced == "cuda-gl":
            raise ReenactError(f"{source} asks for cuda-gl, but {why}",
                               hint="drop the forced route to fall back to read-back") from None
        return ReadbackBridge(), f"{why}: frames go through host memory"


class _NoSharing(Exception):
    pass


def _sharing_bridge(ctx) -> tuple[CudaGLBridge, str]:
    count, why = cuda_device_count()
    if not count:
        raise _NoSharing(why)
    import torch

    if not torch.cuda.is_available():
        raise _NoSharing(f"PyTorch {torch.__version__} has no CUDA (a CPU build?)")
    device = torch.cuda.current_device()
    runtime = _runtime()
    with ctx:
        error, found, listed = runtime.cudaGLGetDevices(8, runtime.cudaGLDeviceList.cudaGLDeviceListAll)
        renderer = ctx.info["GL_RENDERER"]
    if int(error) != 0:
        raise _NoSharing(f"the GL context ({renderer}) is not on a CUDA GPU ({_error_name(error)})")
    if device not in list(listed)[:found]:
        raise _NoSharing(f"the GL context is on CUDA device {list(listed)[:found]} but PyTorch uses device {device} "
                         "(set CUDA_VISIBLE_DEVICES or GLCONTEXT_DEVICE_INDEX so they match)")
    bridge = CudaGLBridge(device)
    try:
        with ctx:
            _self_test(ctx, bridge, device)
    except Exception as exc:  # a driver that registers but copies wrongly must not be trusted with frames
        bridge.release()
        raise _NoSharing(f"CUDA-GL sharing failed its self-test ({exc})") from None
    return bridge, f"CUDA device {device} ({torch.cuda.get_device_name(device)}) shares textures with GL"


def _self_test(ctx, bridge: CudaGLBridge, device: int) -> None:
    """A 5x3 frame through texture -> tensor -> texture must come back byte for byte."""
    import torch

    pixels = np.random.default_rng(0).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    texture = ctx.texture((5, 3), 4)
    try:
        ReadbackBridge.write(texture, pixels)
        tensor = bridge.texture_to_tensor(texture, f"cuda:{device}")
        if not np.array_equal(tensor.cpu().numpy(), pixels):
            raise RuntimeError("texture -> tensor changed the pixels")
        bridge.tensor_to_texture(torch.flip(tensor, (0,)).contiguous(), texture)
        torch.cuda.synchronize(device)
        if not np.array_equal(ReadbackBridge.download(texture), pixels[::-1]):
            raise RuntimeError("tensor -> texture changed the pixels")
    finally:
        bridge.forget(texture)
        texture.release()
