"""The GPU side of the runtime: options, the context, frames (Image), the bridge between GL, torch
and host memory, the CUDA-GL route, the texture pool and EGL device matching."""
