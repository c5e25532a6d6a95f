"""The `Image` port's representation: an RGB or RGBA frame that lives where it was made.

A frame is held in up to three representations: host memory (numpy), a GL texture per context, and a
torch tensor per device. A node asks for the one it works in; the others are made on demand, through
the context's bridge (app/runtime/bridge.py holds the row and channel conventions), at most once per
frame each. A rendered frame that only ever reaches the network and a window never visits host memory.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from app.runtime.gpu.bridge import host_to_tensor, tensor_to_device, tensor_to_host


class Image:
    """An immutable RGB(A) frame, row 0 at the top.

    numpy() -> read-only uint8 (H, W, channels); texture(gpu) -> RGBA8 texture in that GL context;
    tensor(device) -> RGBA uint8 (H, W, 4) torch tensor on that device (do not modify it).
    A producer that draws into a new frame uses `Image.on_texture(gpu, size)` and fills its texture before
    handing the Image on.
    """

    __slots__ = ("width", "height", "channels", "timestamp", "_host", "_textures", "_tensors", "__weakref__")

    def __init__(self, pixels: np.ndarray, timestamp: float | None = None):
        if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] not in (3, 4):
            raise TypeError(
                f"Image needs uint8 pixels of shape (H, W, 3|4), got {pixels.dtype} {pixels.shape}"
            )
        self._init(pixels.shape[1], pixels.shape[0], pixels.shape[2], timestamp)
        self._host = _read_only(pixels)

    @classmethod
    def on_tensor(cls, tensor, channels: int = 3, timestamp: float | None = None) -> Image:
        """A frame held by an RGBA uint8 (H, W, 4) tensor, which the Image now owns."""
        if tuple(tensor.shape[2:]) != (4,) or tensor.ndim != 3 or str(tensor.dtype) != "torch.uint8":
            raise TypeError(f"Image tensors are RGBA uint8 (H, W, 4), got {tensor.dtype} {tuple(tensor.shape)}")
        image = cls.__new__(cls)
        image._init(tensor.shape[1], tensor.shape[0], channels, timestamp)
        image._tensors[str(tensor.device)] = tensor
        return image

    @classmethod
    def on_texture(cls, gpu, size: tuple[int, int], channels: int = 3, timestamp: float | None = None) -> Image:
        """A new frame whose texture is borrowed from `gpu`'s pool; the caller draws into it first."""
        image = cls.__new__(cls)
        image._init(size[0], size[1], channels, timestamp)
        image._textures.append((gpu, gpu.textures.borrow(size, image)))
        return image

    def _init(self, width: int, height: int, channels: int, timestamp: float | None) -> None:
        self.width, self.height, self.channels = width, height, channels
        self.timestamp = timestamp  # seconds on the capture clock, when the source knows it
        self._host: np.ndarray | None = None
        self._textures: list[tuple[Any, Any]] = []  # (GpuContext, texture), one per context
        self._tensors: dict[str, Any] = {}  # device name -> RGBA tensor

    def numpy(self) -> np.ndarray:
        """A read-only (H, W, C) uint8 array of the pixels."""
        if self._host is None:
            self._host = _read_only(self._download())
        return self._host

    def rgb(self) -> np.ndarray:
        """A read-only (H, W, 3) uint8 view, alpha dropped."""
        return self.numpy()[:, :, :3]

    def texture(self, gpu):
        """This frame as an RGBA8 texture in `gpu`'s context (made current by the caller or here)."""
        for owner, texture in self._textures:
            if owner is gpu:
                return texture
        shared = next((t for device, t in self._tensors.items() if gpu.bridge.shares(device)), None)
        if shared is None:
            self.numpy()  # first, while no other context is current: the pixels may live in another one
        texture = gpu.textures.borrow((self.width, self.height), self)
        with gpu.current():
            if shared is not None:
                gpu.bridge.tensor_to_texture(shared, texture)
            else:
                gpu.bridge.host_to_texture(self.numpy(), texture)
        self._textures.append((gpu, texture))
        return texture

    def tensor(self, device: Any):
        """This frame as an RGBA uint8 (H, W, 4) tensor on `device` (e.g. 'cpu', 'cuda:0')."""
        key = _device_name(device)
        if key in self._tensors:
            return self._tensors[key]
        source = next(((gpu, t) for gpu, t in self._textures if gpu.bridge.shares(key)), None)
        if source is None and self._host is None and self._textures:
            source = self._textures[0]  # read back straight into the tensor, RGBA as the texture holds it
        if source is not None:
            gpu, texture = source
            with gpu.current():
                tensor = gpu.bridge.texture_to_tensor(texture, key)
        elif self._tensors:
            tensor = tensor_to_device(next(iter(self._tensors.values())), key)
        else:
            tensor = host_to_tensor(self.numpy(), key)
        self._tensors[key] = tensor
        return tensor

    def detach(self, gpu) -> None:
        """`gpu` is releasing this frame's texture: keep the pixels in host memory first."""
        if any(owner is gpu for owner, _ in self._textures):
            self.numpy()
            self._textures = [(owner, t) for owner, t in self._textures if owner is not gpu]

    def _download(self) -> np.ndarray:
        for device, tensor in self._tensors.items():
            if device == "cpu":
                return tensor_to_host(tensor, self.channels)
        if self._textures:
            gpu, texture = self._textures[0]
            with gpu.current():
                return gpu.bridge.texture_to_host(texture, self.channels, gpu.textures.framebuffer(texture))
        return tensor_to_host(next(iter(self._tensors.values())), self.channels)

    def __repr__(self) -> str:
        held = (["host"] if self._host is not None else []) + ["texture"] * len(self._textures) + list(self._tensors)
        return f"Image({self.width}x{self.height}x{self.channels} on {', '.join(held)})"


def _read_only(pixels: np.ndarray) -> np.ndarray:
    pixels = np.ascontiguousarray(pixels)
    pixels.flags.writeable = False
    return pixels


def _device_name(device: Any) -> str:
    """'cuda' and torch.device('cuda') both name the current CUDA device: 'cuda:N'."""
    name = str(device)
    if name == "cuda":
        import torch

        return f"cuda:{torch.cuda.current_device()}"
    return name
