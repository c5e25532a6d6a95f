"""The refinement network (a small U-Net), its optional patch discriminator, SSIM, and the weights
file format: safetensors with metadata. Loading never unpickles.

Tensors here are NCHW float in [0, 1] unless a docstring says otherwise.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from app.runtime.errors import ReenactError, first_line
from nodes.output.folders import write_atomically

ARCHITECTURE = "reenact-unet-v1"
MAP_CHANNELS = 2  # face mask, mouth-interior mask
IN_CHANNELS = 3 + MAP_CHANNELS
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 16, 4096  # the side a network may say it was trained at


@dataclass(frozen=True)
class NetConfig:
    """What a weights file must say about itself to be loaded."""

    channels: tuple[int, ...] = (16, 32, 64)  # per U-Net level, finest first
    input_size: int = 256  # the side it was trained at (inference may use another)

    def metadata(self) -> dict[str, str]:
        return {"architecture": ARCHITECTURE, "channels": json.dumps(list(self.channels)),
                "in_channels": str(IN_CHANNELS), "input_size": str(self.input_size)}

    @staticmethod
    def from_metadata(meta: dict[str, str] | None, where: str) -> NetConfig:
        meta = meta or {}
        if meta.get("architecture") != ARCHITECTURE:
            raise ReenactError(f"not a Reenact refiner: architecture is {meta.get('architecture')!r}, "
                               f"expected {ARCHITECTURE!r}", where=where,
                               hint="train weights for this target with `reenact train-refiner`")
        try:
            channels = tuple(int(c) for c in json.loads(meta["channels"]))
            size = int(meta["input_size"])
            well_formed = (int(meta["in_channels"]) == IN_CHANNELS and channels and all(0 < c <= 1024 for c in channels)
                           and MIN_INPUT_SIZE <= size <= MAX_INPUT_SIZE)  # else every frame fails to allocate
        except (KeyError, ValueError, TypeError):
            well_formed = False
        if not well_formed:
            raise ReenactError("the weights' metadata (channels, in_channels, input_size) is missing, malformed "
                               f"or out of range (input_size {MIN_INPUT_SIZE}..{MAX_INPUT_SIZE})", where=where,
                               hint="re-export with `reenact train-refiner`") from None
        return NetConfig(channels, size)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(min(8, cout), cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(min(8, cout), cout), nn.SiLU())


class UNet(nn.Module):
    """forward(render (N, 3, H, W), maps (N, 2, H, W)) -> refined (N, 3, H, W), all in [0, 1].

    H and W must be multiples of 2**(levels - 1). The last layer starts at zero, so an untrained
    network returns its input: training only ever adds corrections to the render.
    """

    def __init__(self, config: NetConfig):
        super().__init__()
        chans = config.channels
        self.down = nn.ModuleList([_block(IN_CHANNELS, chans[0])] +
                                  [_block(chans[i - 1], chans[i]) for i in range(1, len(chans))])
        self.up = nn.ModuleList([_block(chans[i] + chans[i - 1], chans[i - 1]) for i in range(len(chans) - 1, 0, -1)])
        self.head = nn.Conv2d(chans[0], 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def multiple(self) -> int:
        return 2 ** (len(self.down) - 1)

    def forward(self, render: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        x = torch.cat([render * 2 - 1, maps], dim=1)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return (render + self.head(x)).clamp(0, 1)


class PatchDiscriminator(nn.Module):
    """forward(image (N, 3, H, W) in [0, 1]) -> (N, 1, H/8, W/8) realness logits per patch."""

    def __init__(self, width: int = 32):
        super().__init__()
        layers, cin = [], 3
        for cout in (width, width * 2, width * 4):
            layers += [nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            cin = cout
        self.net = nn.Sequential(*layers, nn.Conv2d(cin, 1, 3, padding=1))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image * 2 - 1)


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> torch.Tensor:
    """Mean structural similarity of two (N, C, H, W) images in [0, 1] (uniform window)."""
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    pool = lambda x: F.avg_pool2d(x, window, stride=1, padding=window // 2, count_include_pad=False)  # noqa: E731
    mu_a, mu_b = pool(a), pool(b)
    var_a, var_b = pool(a * a) - mu_a ** 2, pool(b * b) - mu_b ** 2
    cov = pool(a * b) - mu_a * mu_b
    score = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return score.mean()


# --------------------------------------------------------------------------- weights files
def save_weights(model: UNet, config: NetConfig, path: Path, extra: dict[str, str] | None = None) -> None:
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_tensors(path, state, {**config.metadata(), **(extra or {})})


def save_tensors(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """A safetensors file written whole or not at all (never half-written, no partial file left);
    ReenactError when it cannot be written (a full disk)."""
    from safetensors.torch import save_file

    try:
        write_atomically(path, lambda partial: save_file(state, str(partial), metadata=metadata))
    except Exception as exc:  # safetensors reports I/O failures with its own error type
        raise ReenactError(f"cannot write the file: {first_line(exc)}", where=str(path),
                           hint="free some space or choose another folder") from None


def load_weights(path: Path) -> tuple[UNet, NetConfig, dict[str, str]]:
    """A UNet with the file's weights (on the CPU, fp32), its config and metadata; ReenactError for a
    missing, foreign (e.g. a pickle), truncated or mismatched file, or one with non-finite weights."""
    from safetensors import safe_open

    where = str(path)
    if not path.is_file():
        raise ReenactError("the weights file does not exist", where=where,
                           hint="train one with `reenact train-refiner`, or clear the param to pass frames through")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            meta = handle.metadata()
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except Exception as exc:  # safetensors raises several types for foreign or damaged files
        raise ReenactError(f"not a readable safetensors file ({first_line(exc)})", where=where,
                           hint="pickled PyTorch files (.pt/.pth/.ckpt) are refused on purpose; use weights "
                                "written by `reenact train-refiner`, and re-copy the file if it was cut short") from None
    config = NetConfig.from_metadata(meta, where)
    with torch.device("meta"):  # shapes only: metadata alone must not make us allocate gigabytes
        expected = UNet(config).state_dict()
    problems = [f"{k}: file {tuple(state[k].shape)}, network {tuple(v.shape)}"
                for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems += [f"missing {k}" for k in expected if k not in state]
    problems += [f"unexpected {k}" for k in sorted(set(state) - set(expected))]
    if problems:
        raise ReenactError(f"the weights do not fit the network its metadata describes ({problems[0]})", where=where,
                           hint="the file was edited or written by another version; train it again")
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:  # they would black out the face without a word
        raise ReenactError(f"the weights contain NaN or infinite values ({broken[0]})", where=where,
                           hint="the training diverged or the file is damaged; train it again")
    model = UNet(config)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model, config, dict(meta or {})
