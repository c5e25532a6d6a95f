"""Settings resolved once where the program starts: command-line flags first, then the environment.

This is the only module that reads `os.environ`; everything else receives typed options.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from app.runtime.errors import ReenactError
from app.runtime.threads import RASTERIZER_ENV, ThreadBudget, machine_cores, plan_budget

GL_BACKENDS = ("egl", "x11")
IMAGE_ROUTES = ("read-back", "cuda-gl")
ROUTE_ENV, BACKEND_ENV, EGL_DEVICE_ENV = "REENACT_IMAGE_PATH", "REENACT_GL_BACKEND", "GLCONTEXT_DEVICE_INDEX"
THREADS_ENV = "REENACT_THREADS"


@dataclass(frozen=True)
class GpuOptions:
    """backend: "" (GLX where a display exists, else headless EGL), "egl" or "x11".
    route: "" (CUDA-GL sharing where it works, else read-back), "read-back" or "cuda-gl".
    egl_device: the EGL device index for headless contexts; None picks the CUDA GPU's, then the default.
    display: a display exists (X11 or Wayland)."""

    backend: str = ""
    route: str = ""
    egl_device: int | None = None
    display: bool = False
    route_source: str = ""  # where a forced route came from, for messages ("--gpu-route", the variable)

    def with_route(self, route: str, source: str) -> GpuOptions:
        return replace(self, route=route, route_source=source)


@dataclass(frozen=True)
class Distributed:
    """Set by torchrun for multi-GPU training; one process otherwise."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0


@dataclass(frozen=True)
class Options:
    gpu: GpuOptions = field(default_factory=GpuOptions)
    display: str = ""  # the display's name, "" without one
    state_dir: Path = field(default_factory=lambda: Path.home() / ".local" / "state" / "reenact-studio")
    distributed: Distributed = field(default_factory=Distributed)
    threads: ThreadBudget = field(default_factory=lambda: plan_budget(machine_cores()))


def resolve(environ: Mapping[str, str] | None = None, gpu_route: str | None = None,
            egl_device: int | None = None, gl_backend: str | None = None, threads: int | None = None,
            editor: bool = False) -> Options:
    """Options from flags (None: not given) over the environment. ReenactError for a bad value.
    editor: the program is the editor, whose window keeps a core of the thread budget."""
    env = os.environ if environ is None else environ
    display = env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or ""
    route, route_source = (gpu_route, "--gpu-route") if gpu_route else (env.get(ROUTE_ENV, ""), ROUTE_ENV)
    _check_choice(route, IMAGE_ROUTES, route_source)
    backend = gl_backend or env.get(BACKEND_ENV, "")
    _check_choice(backend, GL_BACKENDS, BACKEND_ENV)
    if egl_device is None and env.get(EGL_DEVICE_ENV, ""):
        egl_device = _integer(env[EGL_DEVICE_ENV], EGL_DEVICE_ENV)
    gpu = GpuOptions(backend, route, egl_device, bool(display), route_source if route else "")
    return Options(gpu=gpu, display=display, state_dir=_state_dir(env), distributed=Distributed(
        _integer(env.get("WORLD_SIZE", "1"), "WORLD_SIZE"), _integer(env.get("RANK", "0"), "RANK"),
        _integer(env.get("LOCAL_RANK", env.get("RANK", "0")), "LOCAL_RANK")), threads=_thread_budget(env, threads, editor))


def _thread_budget(env: Mapping[str, str], threads: int | None, editor: bool) -> ThreadBudget:
    """--threads, else $REENACT_THREADS, else every core (but one in the editor)."""
    source = "--threads"
    if threads is None and env.get(THREADS_ENV, ""):
        threads, source = _integer(env[THREADS_ENV], THREADS_ENV), THREADS_ENV
    rasterizer = _integer(env[RASTERIZER_ENV], RASTERIZER_ENV) if env.get(RASTERIZER_ENV, "") else None
    return plan_budget(machine_cores(), threads, editor, source, rasterizer)


def _state_dir(env: Mapping[str, str]) -> Path:
    """$REENACT_STATE_DIR, else $XDG_STATE_HOME/reenact-studio, else ~/.local/state/reenact-studio."""
    if env.get("REENACT_STATE_DIR"):
        return Path(env["REENACT_STATE_DIR"])
    return Path(env.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "reenact-studio"


def _check_choice(value: str, choices: tuple[str, ...], source: str) -> None:
    if value and value not in choices:
        raise ReenactError(f"{source}={value} is not one of {', '.join(choices)}",
                           hint=f"use {' or '.join(choices)}, or leave it unset to choose automatically")


def _integer(text: str, source: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ReenactError(f"{source}={text} is not a whole number", hint=f"fix or unset {source}") from None
