"""`reenact train-refiner`: learn render -> real frame for one target, with checkpoints, resume,
previews, a held-out PSNR, and multi-GPU through torchrun (PyTorch DDP)."""
from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
# Loaded with this module, not when the first optimizer is made (which imports it): with a CUDA build of
# PyTorch it loads Triton's LLVM, which crashes the process when a GL driver's LLVM (Mesa's llvmpipe renders
# the training pairs) was loaded first. So this module is imported before any GL context is made.
import torch._dynamo  # noqa: F401
import torch.distributed as dist
import torch.nn.functional as F

from app.runtime.progress import Progress
from app.runtime.options import Distributed
from app.runtime.errors import ReenactError
from app.runtime.signals import Interrupted, StopRequest, stop_on_signals
from app.training.pairs import Pairs, load_or_build
from nodes.output.folders import write_atomically
from nodes.refine.net import NetConfig, PatchDiscriminator, UNet, load_weights, save_tensors, save_weights, ssim

SSIM_WEIGHT = 0.2


@dataclass
class TrainConfig:
    target: Path
    out: Path
    steps: int = 2000
    size: int = 256
    batch: int = 8
    lr: float = 2e-3
    device: str = "auto"
    resume: bool = False
    channels: tuple[int, ...] = (16, 32, 64)
    holdout: float = 0.1
    max_frames: int | None = None
    every: int = 200  # steps between checkpoints, previews and held-out PSNR
    adversarial: float = 0.0  # weight of the patch discriminator's loss (0: off)
    seed: int = 0
    progress: bool = True
    distributed: Distributed = field(default_factory=Distributed)  # torchrun's ranks, from the options
    state_dir: Path | None = None  # where the clip's frame bank is cached (shared with the video-target graph)


@dataclass
class TrainResult:
    steps: int
    first_loss: float
    last_loss: float
    psnr_render: float  # held-out, face region: the raw render against the real frame
    psnr_refined: float  # held-out, face region: the refined render against the real frame
    seconds_per_step: float
    preview: Path
    primary: bool = True  # rank 0 of a torchrun job (or a single process): the one that reports


def train_refiner(cfg: TrainConfig) -> TrainResult:
    rank, world = _start_distributed(cfg.distributed)
    device = _device(cfg.device, cfg.distributed)
    torch.manual_seed(cfg.seed)
    cache = cfg.out.with_name(cfg.out.stem + ".pairs.npz")
    if rank == 0:
        pairs = load_or_build(cfg.target, cfg.size, cfg.max_frames, cache, cfg.progress, cfg.state_dir)
    if world > 1:
        dist.barrier()  # rank 0 tracked and rendered; the others read its cache
        if rank > 0:
            pairs = load_or_build(cfg.target, cfg.size, cfg.max_frames, cache, False, cfg.state_dir)
    train, held = pairs.split(cfg.holdout)
    model, config, start = _model(cfg)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.5, 0.99))
    if start:
        _load_optimizer(optimizer, cfg.out, device)
    net = torch.nn.parallel.DistributedDataParallel(model) if world > 1 else model
    critic = _Critic(device, cfg.lr, world) if cfg.adversarial > 0 else None
    generator = torch.Generator().manual_seed(cfg.seed * 1000 + rank + start)
    progress = Progress(cfg.steps, enabled=cfg.progress and rank == 0, unit="steps", rate_unit="steps/s")
    losses, started = [], time.perf_counter()
    done = start
    # Ctrl-C / SIGTERM: finish the step, save a checkpoint, stop (with torchrun, ranks must stop together)
    with stop_on_signals() if world == 1 else nullcontext(StopRequest()) as stop:
        for step in range(start, cfg.steps):
            render, real, maps, blend = _batch(train, cfg.batch, generator, device)
            refined = _composite(net(render, maps), render, blend)
            loss = F.l1_loss(refined, real) + SSIM_WEIGHT * (1 - ssim(refined, real))
            if critic is not None:
                loss = loss + cfg.adversarial * critic.generator_loss(refined)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if critic is not None:
                critic.update(refined.detach(), real)
            losses.append(loss.item())
            done = step + 1
            rate = (done - start) / (time.perf_counter() - started)
            progress.update(done, rate, note=f"loss {np.mean(losses[-20:]):.4f}")
            if rank == 0 and (done % cfg.every == 0 or done == cfg.steps or stop.signum):
                _checkpoint(model, config, optimizer, cfg.out, done)
            if stop.signum:
                break
    progress.finish(done, (done - start) / max(1e-9, time.perf_counter() - started))
    if stop.signum:
        raise Interrupted(stop.signum, f"stopped at step {done} of {cfg.steps}: checkpoint saved to {cfg.out}; "
                                       "continue with --resume")
    result = TrainResult(cfg.steps, float(np.mean(losses[:5])) if losses else math.nan,
                         float(np.mean(losses[-5:])) if losses else math.nan, *_held_out_psnr(model, held, device),
                         (time.perf_counter() - started) / max(1, cfg.steps - start),
                         _preview(model, held, cfg.out, device) if rank == 0 else cfg.out, rank == 0)
    if world > 1:
        dist.destroy_process_group()
    return result


# --------------------------------------------------------------------------- steps
def _batch(pairs: Pairs, size: int, generator: torch.Generator, device: torch.device):
    """Random pairs with the same flip, shift and colour jitter applied to render and real."""
    pick = torch.randint(len(pairs), (size,), generator=generator).numpy()
    render, real, maps, blend = _tensors(pairs, pick, device)
    if torch.rand((), generator=generator) < 0.5:
        render, real, maps, blend = (t.flip(-1) for t in (render, real, maps, blend))
    dy, dx = (int(v) for v in torch.randint(-4, 5, (2,), generator=generator))
    render, real, maps, blend = (t.roll((dy, dx), dims=(-2, -1)) for t in (render, real, maps, blend))
    gain = (1 + 0.1 * (torch.rand((size, 1, 1, 1), generator=generator) * 2 - 1)).to(device)
    return (render * gain).clamp(0, 1), (real * gain).clamp(0, 1), maps, blend


def _composite(network: torch.Tensor, render: torch.Tensor, blend: torch.Tensor) -> torch.Tensor:
    """What the node shows: the network's output inside the blend mask, the render outside."""
    return render + blend * (network - render)


class _Critic:
    """A patch discriminator with the hinge loss."""

    def __init__(self, device: torch.device, lr: float, world: int):
        self.model = PatchDiscriminator().to(device)
        self.net = torch.nn.parallel.DistributedDataParallel(self.model) if world > 1 else self.model
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, betas=(0.5, 0.99))

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -self.net(fake).mean()

    def update(self, fake: torch.Tensor, real: torch.Tensor) -> None:
        loss = F.relu(1 - self.net(real)).mean() + F.relu(1 + self.net(fake)).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()


# --------------------------------------------------------------------------- evaluation and files
@torch.no_grad()
def _held_out_psnr(model: UNet, held: Pairs, device: torch.device) -> tuple[float, float]:
    """PSNR in dB over the face region (the blend mask), where refinement may change pixels."""
    model.eval()
    errors_render, errors_refined, weight = 0.0, 0.0, 0.0
    for i in range(len(held)):
        render, real, maps, blend = _tensors(held, [i], device)
        refined = _composite(model(render, maps), render, blend)
        errors_render += float((blend * (render - real) ** 2).sum())
        errors_refined += float((blend * (refined - real) ** 2).sum())
        weight += float(blend.sum()) * 3
    model.train()
    psnr = lambda e: 10 * math.log10(weight / max(e, 1e-12))  # noqa: E731
    return psnr(errors_render), psnr(errors_refined)


def _tensors(pairs: Pairs, pick, device: torch.device):
    """The picked pairs as NCHW float tensors: render, real (0..1), maps (0/1), blend (N, 1, H, W)."""
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    return (as_tensor(pairs.renders[pick]).permute(0, 3, 1, 2).float() / 255,
            as_tensor(pairs.reals[pick]).permute(0, 3, 1, 2).float() / 255,
            as_tensor(pairs.maps[pick]).permute(0, 3, 1, 2).float(),
            as_tensor(pairs.blends[pick])[:, None])


@torch.no_grad()
def _preview(model: UNet, held: Pairs, out: Path, device: torch.device) -> Path:
    """A PNG with a row per held-out frame (up to 3): render | refined | real."""
    from PIL import Image as PILImage

    model.eval()
    rows = []
    for i in np.linspace(0, len(held) - 1, min(3, len(held))).astype(int):
        render, real, maps, blend = _tensors(held, [i], device)
        refined = _composite(model(render, maps), render, blend)
        row = torch.cat([render, refined, real], dim=-1)[0].permute(1, 2, 0).cpu().numpy()
        rows.append((row * 255).round().astype(np.uint8))
    model.train()
    path = out.with_name(out.stem + ".preview.png")
    write_atomically(path, lambda partial: PILImage.fromarray(np.concatenate(rows, axis=0)).save(partial, format="PNG"))
    return path


def _model(cfg: TrainConfig) -> tuple[UNet, NetConfig, int]:
    """A fresh network, or with --resume the one in cfg.out and the step it reached."""
    if not cfg.resume:
        config = NetConfig(tuple(cfg.channels), cfg.size)
        return UNet(config), config, 0
    model, config, meta = load_weights(cfg.out)
    step = int(meta.get("step", "0"))
    if step >= cfg.steps:
        raise ReenactError(f"the checkpoint already reached step {step}", where=str(cfg.out),
                           hint=f"ask for more --steps than {step} to continue")
    return model, config, step


def _checkpoint(model: UNet, config: NetConfig, optimizer: torch.optim.Optimizer, out: Path, step: int) -> None:
    save_weights(model, config, out, {"step": str(step)})
    state = {}
    for index, param_state in optimizer.state_dict()["state"].items():
        for name, value in param_state.items():
            state[f"{index}.{name}"] = torch.as_tensor(value).detach().cpu().float().reshape(-1) \
                if name == "step" else value.detach().cpu().contiguous()
    save_tensors(_optimizer_path(out), state, {"step": str(step)})


def _load_optimizer(optimizer: torch.optim.Optimizer, out: Path, device: torch.device) -> None:
    from safetensors.torch import load_file

    path = _optimizer_path(out)
    if not path.exists():
        return  # weights without optimizer state still resume, with fresh moments
    flat = load_file(str(path), device=str(device))
    state = optimizer.state_dict()
    for key, value in flat.items():
        index, name = key.split(".", 1)
        state["state"].setdefault(int(index), {})[name] = value.reshape(()) if name == "step" else value
    optimizer.load_state_dict(state)


def _optimizer_path(out: Path) -> Path:
    return out.with_name(out.stem + ".optim.safetensors")


def _start_distributed(distributed: Distributed) -> tuple[int, int]:
    """(rank, world size); under torchrun this joins the process group."""
    world = distributed.world_size
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank() if world > 1 else 0), world


def _device(choice: str, distributed: Distributed) -> torch.device:
    if choice == "auto":
        choice = "cuda" if torch.cuda.is_available() else "cpu"
    if choice.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ReenactError("--device cuda was asked for but PyTorch sees no CUDA GPU", hint="use --device cpu")
        return torch.device(f"cuda:{distributed.local_rank}")
    return torch.device(choice)
