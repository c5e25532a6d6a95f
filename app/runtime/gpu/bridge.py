"""Moving frames between host memory, GL textures and torch tensors: the one place that converts.

Conventions, held here and nowhere else:
- rows: row 0 is the image's top row in arrays, textures and tensors alike (renderers draw with y down
  so that GL's row 0 is the image's top), so no conversion ever flips rows;
- channels: frame textures and tensors are RGBA uint8 (CUDA shares only 1-, 2- or 4-channel textures;
  alpha is 255 where the frame has none); host arrays have the frame's own 3 or 4 channels.

Two routes: `ReadbackBridge` goes through host memory (Mesa/llvmpipe, or no CUDA), and
`app.runtime.cuda_gl.CudaGLBridge` copies textures to and from CUDA tensors on the GPU.
`GpuContext.create` picks one, once. Every conversion is timed in `transfers` for `reenact bench`.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

import cv2
import numpy as np

# numpy dtype <-> moderngl texture dtype, per supported texel format
_DTYPES = {np.dtype(np.uint8): "f1", np.dtype(np.float16): "f2", np.dtype(np.float32): "f4"}


class TransferLog:
    """How many conversions of each kind ran and how long they took in all. A measurement, like a
    profiler, so it is one log per process rather than a piece of any context. Constant memory: a
    run of hours keeps two numbers per kind."""

    def __init__(self):
        self._lock = threading.Lock()
        self._totals: dict[str, list] = {}  # kind -> [count, seconds]

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                total = self._totals.setdefault(kind, [0, 0.0])
                total[0] += 1
                total[1] += elapsed

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {kind: count for kind, (count, _) in self._totals.items()}

    def report(self, frames: int) -> dict[str, dict[str, float]]:
        """{kind: {per_frame, mean_ms}} since the last reset."""
        with self._lock:
            return {kind: {"per_frame": count / max(frames, 1), "mean_ms": seconds / count * 1000.0}
                    for kind, (count, seconds) in sorted(self._totals.items())}

    def reset(self) -> None:
        with self._lock:
            self._totals.clear()


transfers = TransferLog()


class ReadbackBridge:
    """Host memory <-> GL texture through glTexImage/glGetTexImage; tensors go through host memory."""

    name = "read-back"

    @staticmethod
    def upload(ctx, pixels: np.ndarray):
        """(H, W, C) uint8 / float16 / float32, C in 1..4 -> a new texture of the same size and format.
        The caller owns (and releases) the texture."""
        height, width, channels = _shape(pixels)
        texture = ctx.texture((width, height), channels, dtype=_texel(pixels.dtype), alignment=1)
        texture.write(np.ascontiguousarray(pixels).tobytes())
        return texture

    @staticmethod
    def write(texture, pixels: np.ndarray) -> None:
        """Replace a texture's pixels with same-sized (H, W, C) data."""
        texture.write(np.ascontiguousarray(pixels).tobytes(), alignment=1)

    @staticmethod
    def download(texture, channels: int | None = None) -> np.ndarray:
        """A texture's pixels as (H, W, C) in its own dtype; `channels` reads only the first ones."""
        width, height = texture.size
        channels = channels or texture.components
        dtype = next(np_dtype for np_dtype, gl in _DTYPES.items() if gl == texture.dtype)
        pixels = np.empty((height, width, texture.components), dtype)  # writable, so tensors can share it
        texture.read_into(pixels, alignment=1)
        if channels == texture.components:
            return pixels
        return np.ascontiguousarray(pixels[:, :, :channels])  # textures cannot read a subset of channels

    # -- frame conversions (RGBA uint8 textures and tensors; see the module's conventions) --

    def shares(self, device: Any) -> bool:
        """Whether textures reach tensors on `device` without host memory (never, on this route)."""
        return False

    def texture_to_host(self, texture, channels: int, framebuffer=None) -> np.ndarray:
        """`framebuffer` (one drawing into this RGBA8 texture) lets the driver drop alpha while it reads,
        about 5x faster than reading RGBA and copying RGB out in numpy."""
        with transfers.timed("texture->host"):
            if framebuffer is None or channels == texture.components:
                return self.download(texture, channels)
            width, height = texture.size
            pixels = np.empty((height, width, channels), np.uint8)
            framebuffer.read_into(pixels, components=channels, alignment=1)
            return pixels

    def host_to_texture(self, pixels: np.ndarray, texture) -> None:
        with transfers.timed("host->texture"):
            self.write(texture, rgba(pixels))

    def texture_to_tensor(self, texture, device: Any):
        import torch

        with transfers.timed("texture->tensor"):
            return torch.from_numpy(self.download(texture)).to(device)

    def tensor_to_texture(self, tensor, texture) -> None:
        with transfers.timed("tensor->texture"):
            self.write(texture, tensor.cpu().numpy())

    def forget(self, texture) -> None:
        """The texture is about to be released (the CUDA route drops its registration)."""

    def release(self) -> None:
        """Drop whatever the route holds (nothing, on this route)."""


def host_to_tensor(pixels: np.ndarray, device: Any):
    """Host (H, W, 3|4) uint8 -> an RGBA uint8 tensor on `device` (same on every route)."""
    import torch

    with transfers.timed("host->tensor"):
        return torch.from_numpy(rgba(pixels)).to(device)


def tensor_to_host(tensor, channels: int) -> np.ndarray:
    """An RGBA uint8 tensor -> host (H, W, channels), contiguous (same on every route)."""
    with transfers.timed("tensor->host"):
        return np.ascontiguousarray(tensor[:, :, :channels].cpu().numpy())


def tensor_to_device(tensor, device: Any):
    with transfers.timed("tensor->tensor"):
        return tensor.to(device)


def rgba(pixels: np.ndarray) -> np.ndarray:
    """(H, W, 3|4) uint8 -> a writable (H, W, 4), alpha 255 where there was none (tensors share it)."""
    if pixels.shape[2] == 4:
        return pixels if pixels.flags.writeable and pixels.flags.c_contiguous else pixels.copy()
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2RGBA)  # a new array; 40x faster than filling alpha in NumPy


def _shape(pixels: np.ndarray) -> tuple[int, int, int]:
    if pixels.ndim != 3 or not 1 <= pixels.shape[2] <= 4:
        raise ValueError(f"pixels must be (H, W, 1..4), got {pixels.shape}")
    return pixels.shape


def _texel(dtype: np.dtype) -> str:
    try:
        return _DTYPES[np.dtype(dtype)]
    except KeyError:
        raise ValueError(f"unsupported pixel type {dtype}; use uint8, float16 or float32") from None
