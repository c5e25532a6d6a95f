"""The GPU context: one moderngl context, created once per run and passed down, with the shader
loader, the pool of frame textures and the bridge that moves frames between GL, torch and host memory
(chosen once, when the context is made)."""
from __future__ import annotations

import ctypes
import ctypes.util
import re
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Iterator

from app.runtime.gpu.bridge import ReadbackBridge
from app.runtime.gpu.cuda_gl import choose_bridge, cuda_device_count
from app.runtime.errors import ReenactError
from app.runtime.options import GpuOptions
from app.runtime.paths import ASSETS_DIR
from app.runtime.gpu.texture_pool import TexturePool

SHADER_DIR = ASSETS_DIR / "shaders"


class GpuContext:
    """Owns the moderngl context and compiled programs. Create with `GpuContext.create(options)`."""

    def __init__(self, ctx, backend: str = "", shader_dir: Path = SHADER_DIR, bridge: ReadbackBridge | None = None,
                 path_reason: str = "frames go through host memory", window_owned: bool = False):
        self.ctx, self.backend = ctx, backend
        self._window_owned = window_owned  # a window's context: its owner makes it current, moderngl cannot
        self._entered = False  # inside `current()` already (one thread uses a context at a time)
        self.bridge, self.path_reason = bridge or ReadbackBridge(), path_reason
        self.textures = TexturePool(self)
        self._shader_dir = shader_dir
        self._programs: dict[tuple[str, str], object] = {}

    @classmethod
    def create(cls, options: GpuOptions) -> GpuContext:
        """GLX when a display exists (so preview windows, which are GLX, can share the thread: Mesa
        refuses a GLX context current after an EGL one), headless EGL otherwise or if GLX fails.
        `options.backend` forces one."""
        import moderngl

        backends = [options.backend] if options.backend else (["x11", "egl"] if options.display else ["egl"])
        failures = []
        for backend, attempt in _context_attempts(backends, options.egl_device):
            try:
                ctx = moderngl.create_context(standalone=True, require=330, **attempt)
                break
            except Exception as exc:  # moderngl/glcontext raise plain Exceptions for driver problems
                device = f" (EGL device {attempt['device_index']})" if "device_index" in attempt else ""
                failures.append(f"{backend}{device}: {exc}")
        else:  # a device picked by hand that is not there is a wrong number, not a missing driver
            raise ReenactError(f"no OpenGL 3.3 context ({'; '.join(failures)})",
                               hint="install an EGL driver, e.g. apt-get install libegl1 libgl1-mesa-dri"
                               if options.egl_device is None else
                               f"EGL device {options.egl_device} was asked for (--egl-device or GLCONTEXT_DEVICE_"
                               "INDEX): pick one that `reenact doctor` lists, or leave it unset")
        try:
            bridge, why = choose_bridge(ctx, options)
        except ReenactError:
            ctx.release()
            raise
        return cls(ctx, backend, bridge=bridge, path_reason=why)

    @contextmanager
    def current(self) -> Iterator[None]:
        """`with gpu.current():` makes the context current around GL work, restoring the previous one.
        Re-entrant: a nested moderngl `with ctx:` would leave the context unusable on its way out."""
        if self._window_owned or self._entered:
            yield
            return
        with self.ctx:
            self._entered = True
            try:
                yield
            finally:
                self._entered = False

    def finish(self) -> None:
        """Wait for the GL work queued so far. moderngl holds Python's GIL in every call, and a software
        rasterizer (llvmpipe) does its work at the first call that waits for it: 8 ms a frame at 512²
        during which a pipelined run's tracking thread could not run a line of Python. glFinish called
        through ctypes waits with the GIL released, so the work is done there and the call that reads
        or resolves the result afterwards is quick."""
        gl_finish = _released_gl_finish()
        if gl_finish is None:
            self.ctx.finish()
        else:
            gl_finish()

    @property
    def software(self) -> bool:
        """The context rasterizes on the CPU (Mesa's llvmpipe or softpipe), where every texture fetch counts."""
        with self.current():
            renderer = self.ctx.info["GL_RENDERER"].lower()
        return "llvmpipe" in renderer or "softpipe" in renderer

    def program(self, vertex: str, fragment: str, defines: tuple[str, ...] = ()):
        """Compile (once) the program made of assets/shaders/VERTEX.vert and FRAGMENT.frag, with each of
        `defines` #defined in the fragment shader (a variant that leaves out what it does not draw)."""
        key = (vertex, fragment, defines)
        if key not in self._programs:
            version, _, rest = self._with_includes(self._read(f"{fragment}.frag")).partition("\n")  # #version first
            fragment_source = "\n".join([version, *(f"#define {name}" for name in defines), rest])
            try:
                self._programs[key] = self.ctx.program(vertex_shader=self._read(f"{vertex}.vert"),
                                                       fragment_shader=fragment_source)
            except Exception as exc:  # moderngl.Error carries the compiler log
                variant = f" with {', '.join(defines)}" if defines else ""
                raise ReenactError(f"shader {vertex}.vert + {fragment}.frag{variant} failed to compile:\n{exc}",
                                   where=str(self._shader_dir)) from None
        return self._programs[key]

    def _with_includes(self, source: str) -> str:
        """GLSL has no #include: each line `#include "NAME"` is replaced by assets/shaders/NAME."""
        return re.sub(r'^#include "([\w.]+)"$', lambda found: self._read(found.group(1)), source, flags=re.M)

    def _read(self, name: str) -> str:
        path = self._shader_dir / name
        try:
            return path.read_text()
        except OSError:
            raise ReenactError(f"shader '{name}' not found", where=str(self._shader_dir),
                               hint="reinstall Reenact Studio; shaders ship in assets/shaders") from None

    def release(self) -> None:
        with self.current():
            self.textures.release()
            self.bridge.release()
            for program in self._programs.values():
                program.release()
        self._programs.clear()
        if not self._window_owned:
            self.ctx.release()


@cache
def _released_gl_finish():
    """glFinish from the GL dispatch library (libglvnd: it forwards to the thread's current context, EGL
    or GLX), as a ctypes function, which releases the GIL while it runs; None where there is none."""
    for name in ("OpenGL", "GL"):
        path = ctypes.util.find_library(name)
        if path:
            try:
                return ctypes.CDLL(path).glFinish
            except (OSError, AttributeError):
                continue
    return None


def _context_attempts(backends: list[str], egl_device: int | None) -> Iterator[tuple[str, dict]]:
    """(backend, create_context options) in the order to try them. glcontext names only "egl"; its
    default on Linux (no name) is GLX. Headless, a device chosen by hand is the only one tried;
    otherwise the EGL device of the CUDA GPU comes first, then the default."""
    for backend in backends:
        if backend == "x11":
            yield backend, {}
            continue
        if egl_device is not None:
            yield backend, {"backend": "egl", "device_index": egl_device}
            continue
        device = _egl_device_for_cuda()
        if device:
            yield backend, {"backend": "egl", **device}
        yield backend, {"backend": "egl"}


def _egl_device_for_cuda() -> dict:
    """{'device_index': i} for the EGL device that is CUDA device 0 (what PyTorch uses by default), so
    frames can be shared; {} without CUDA, or where no EGL device says which CUDA device it is."""
    if not cuda_device_count()[0]:
        return {}
    from app.runtime.gpu import egl

    index = egl.index_for_cuda(0, egl.devices())
    return {} if index is None else {"device_index": index}
