"""Frame textures of one GL context, lent to the Images that live on them.

A texture goes back to the pool only once the Image that borrowed it is gone, so a frame is never
overwritten while anyone (a cached output, a preview, a pipelined stage) can still read it, and a steady
run reuses two or three textures instead of allocating one per frame.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any


@dataclass
class _Entry:
    texture: Any
    borrower: weakref.ref | None = None
    framebuffer: Any = None

    @property
    def free(self) -> bool:
        return self.borrower is None or self.borrower() is None


class TexturePool:
    """RGBA8 textures (the format CUDA can share) for `Image.on_texture` and `Image.texture`. Use on the context's thread;
    `release` expects the context current (GpuContext.release makes it so)."""

    def __init__(self, gpu):
        self._gpu = gpu
        self._entries: list[_Entry] = []

    def borrow(self, size: tuple[int, int], image) -> Any:
        """A texture of `size` that stays `image`'s until that Image is garbage."""
        for entry in self._entries:
            if entry.free and entry.texture.size == size:
                entry.borrower = weakref.ref(image)
                return entry.texture
        with self._gpu.current():
            self._drop_free_of_other_sizes(size)
            entry = _Entry(self._gpu.ctx.texture(size, 4), weakref.ref(image))
        self._entries.append(entry)
        return entry.texture

    def framebuffer(self, texture) -> Any:
        """A framebuffer drawing into a pooled texture (made once per texture)."""
        entry = next(e for e in self._entries if e.texture is texture)
        if entry.framebuffer is None:
            with self._gpu.current():
                entry.framebuffer = self._gpu.ctx.framebuffer([texture])
        return entry.framebuffer

    def __len__(self) -> int:
        return len(self._entries)

    def release(self) -> None:
        """Release every texture. Images still alive first keep a host copy, so they stay readable."""
        for entry in self._entries:
            image = entry.borrower() if entry.borrower is not None else None
            if image is not None:
                image.detach(self._gpu)
            self._release(entry)
        self._entries.clear()

    def _drop_free_of_other_sizes(self, size: tuple[int, int]) -> None:
        """The output size changed: textures of the old size that nobody holds are not coming back."""
        keep = []
        for entry in self._entries:
            if entry.free and entry.texture.size != size:
                self._release(entry)
            else:
                keep.append(entry)
        self._entries = keep

    def _release(self, entry: _Entry) -> None:
        self._gpu.bridge.forget(entry.texture)
        if entry.framebuffer is not None:
            entry.framebuffer.release()
        entry.texture.release()
