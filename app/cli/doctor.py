"""`reenact doctor`: what this machine offers — OpenGL, EGL devices, CUDA, versions, the image route."""
from __future__ import annotations

import argparse
import json
from typing import Any

from app.cli.common import add_gpu_arguments, add_threads_argument, options_of
from app.cli.console import EXIT_FAILED, EXIT_OK
from app.cli.machine import report


def run(args: argparse.Namespace) -> int:
    found = report(options_of(args))
    ok = "error" not in found["gl"]
    if args.json:
        print(json.dumps(found, indent=2))
        return EXIT_OK if ok else EXIT_FAILED
    gl = found["gl"]
    described = gl.get("error") or f"{gl['renderer']} ({gl['vendor']}), {gl['version']}, via {gl['backend']}"
    print(f"OpenGL:      {described}")
    devices = found["egl_devices"]
    print("EGL devices: " + ("; ".join(devices) if isinstance(devices, list) else devices))
    cuda = found["cuda"]
    print("CUDA:        " + (cuda if isinstance(cuda, str) else
                             f"{cuda['name']} (sm {cuda['capability']}, {cuda['memory_gb']} GB, CUDA {cuda['torch_cuda']})"))
    print(f"display:     {found['display']}")
    print(f"image path:  {found['image_path']}: {found['image_path_reason']}")
    print(f"threads:     {found['threads_summary']}")
    print(f"  in the editor: {options_of(args, editor=True).threads.summary()}")
    print("refiner:     on the CPU in " + {"bf16": "bf16 (the CPU has bfloat16 instructions)",
                                              "fp32": "fp32 (the CPU has no bfloat16 instructions)"}.get(
        found["cpu_refiner_precision"], "nothing (PyTorch is not installed)"))
    print("packages:    " + ", ".join(f"{k} {v}" for k, v in found["versions"].items()))
    return EXIT_OK if ok else EXIT_FAILED


def add_parser(sub: Any) -> None:
    p = sub.add_parser("doctor", help="what this machine offers: OpenGL, EGL devices, CUDA, versions, image path")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_gpu_arguments(p)
    add_threads_argument(p)
    p.set_defaults(func=run)
