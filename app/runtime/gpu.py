"""The GPU context: one moderngl context (headless EGL), created once per run and passed down, and
the shader loader. Images are read back to host memory (the CUDA bridge is a later step)."""
from __future__ import annotations

import os
from pathlib import Path

from app.runtime.errors import ReenactError
from app.runtime.paths import ASSETS_DIR

SHADER_DIR = ASSETS_DIR / "shaders"


class GpuContext:
    """Owns the moderngl context and compiled programs. Create with `GpuContext.create()`."""

    def __init__(self, ctx, backend: str = "", shader_dir: Path = SHADER_DIR):
        self.ctx, self.backend = ctx, backend
        self._shader_dir = shader_dir
        self._programs: dict[tuple[str, str], object] = {}

    @classmethod
    def create(cls) -> GpuContext:
        """GLX when a display exists (so preview windows, which are GLX, can share the thread: Mesa
        refuses a GLX context current after an EGL one), headless EGL otherwise or if GLX fails.
        REENACT_GL_BACKEND=egl|x11 forces one."""
        import moderngl

        forced = os.environ.get("REENACT_GL_BACKEND", "")
        backends = [forced] if forced else (["x11", "egl"] if os.environ.get("DISPLAY") else ["egl"])
        failures = []
        for backend in backends:
            try:
                # glcontext names only "egl"; its default backend on Linux (no name given) is GLX
                named = {} if backend == "x11" else {"backend": backend}
                return cls(moderngl.create_context(standalone=True, require=330, **named), backend)
            except Exception as exc:  # moderngl/glcontext raise plain Exceptions for driver problems
                failures.append(f"{backend}: {exc}")
        raise ReenactError(f"no OpenGL 3.3 context ({'; '.join(failures)})",
                           hint="install an EGL driver, e.g. apt-get install libegl1 libgl1-mesa-dri")

    @property
    def description(self) -> str:
        info = self.ctx.info
        return f"{info['GL_RENDERER']} / OpenGL {info['GL_VERSION']} ({self.backend or 'window'})"

    def program(self, vertex: str, fragment: str):
        """Compile (once) the program made of assets/shaders/VERTEX.vert and FRAGMENT.frag."""
        key = (vertex, fragment)
        if key not in self._programs:
            sources = [self._read(f"{vertex}.vert"), self._read(f"{fragment}.frag")]
            try:
                self._programs[key] = self.ctx.program(vertex_shader=sources[0], fragment_shader=sources[1])
            except Exception as exc:  # moderngl.Error carries the compiler log
                raise ReenactError(f"shader {vertex}.vert + {fragment}.frag failed to compile:\n{exc}",
                                   where=str(self._shader_dir)) from None
        return self._programs[key]

    def _read(self, name: str) -> str:
        path = self._shader_dir / name
        try:
            return path.read_text()
        except OSError:
            raise ReenactError(f"shader '{name}' not found", where=str(self._shader_dir),
                               hint="reinstall Reenact Studio; shaders ship in assets/shaders") from None

    def release(self) -> None:
        with self.ctx:
            for program in self._programs.values():
                program.release()
        self._programs.clear()
        self.ctx.release()


def gpu_of(run) -> GpuContext:
    """The run's GPU context, created on first use (nodes that need GL call this in `open`)."""
    if run.gpu is None:
        run.gpu = GpuContext.create()
    return run.gpu
