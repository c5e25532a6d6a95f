"""Neural refinement: a per-target network turns the raster into the target's real look."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.runtime.context import FrameContext, RunContext
from app.runtime.errors import ReenactError
from nodes.retarget.types import Motion
from app.runtime.gpu.image import Image
from app.runtime.late_pass import NOTHING, LatePass
from app.runtime.node import Node
from app.runtime import ports
from nodes.retarget.types import MOTION
from app.runtime.schema import Degrade, NodeSchema, Param, ParamKind, Port
from app.runtime.threads import apply_torch, use_threads
from nodes.refine.cuda_graphs import CapturedCalls
from nodes.refine.maps import blend_box, conditioning_maps, scaled_landmarks

MIN_WORKING_SIZE = 64  # below this a refiner sees too little of the face to help


class Refiner:
    """The refinement network on one device, at one precision.

    refine(render RGBA uint8 tensor (H, W, 4), maps (H, W, 2) float32 {0, 1}, size) -> the same kind of tensor.
    The network runs with the longest side at `size` (rounded to the network's multiple); its
    correction is upsampled to full size and blended in through the face's blend mask, so pixels
    outside it are the render's, bit for bit. CUDA runs fp16; a CPU that computes bfloat16 itself
    (AVX512-BF16 or AMX) runs the convolutions in it (autocast: 20 -> 9 ms on two threads at 256², 0.7/255
    off at most), others fp32; all channels-last (on CPU, oneDNN's convolutions take 25-30% less time in it:
    47 -> 34 ms on one thread at 256²). On CUDA the network is replayed as a CUDA graph (`graphs`).
    """

    def __init__(self, model, config, device: str = "auto", precision: str = "auto", graphs: bool = True):
        import torch

        self.config = config
        self.device = torch.device("cuda" if device == "auto" and torch.cuda.is_available() else
                                   "cpu" if device == "auto" else device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise ReenactError("device 'cuda' was asked for but PyTorch sees no CUDA GPU",
                               hint="set device to auto or cpu")
        on_cuda = self.device.type == "cuda"
        if precision == "fp16" and not on_cuda:
            raise ReenactError("fp16 refinement needs a CUDA GPU", hint="set precision to auto, bf16 or fp32")
        if precision == "bf16" and on_cuda:
            raise ReenactError("bf16 refinement is for the CPU", hint="set precision to auto or fp16 on CUDA")
        self.precision = (precision if precision != "auto" else "fp16" if on_cuda else
                          "bf16" if cpu_computes_bf16() else "fp32")
        self.half = self.precision == "fp16"
        self.dtype = torch.float16 if self.half else torch.float32
        self.model = model.to(self.device, self.dtype, memory_format=torch.channels_last).eval()
        self.graphs = CapturedCalls(self._network_correction) if on_cuda and graphs else None

    @classmethod
    def load(cls, path: Path, device: str = "auto", precision: str = "auto") -> Refiner:
        from nodes.refine.net import load_weights

        model, config, _ = load_weights(path)
        return cls(model, config, device, precision)

    def correction(self, render, maps: np.ndarray, size: int):
        """What the network adds to the render, at full size: a (1, 3, H, W) tensor; None where the network's
        output is not finite (NaN or infinity, e.g. an fp16 overflow). render: RGBA uint8 (H, W, 4) tensor
        on this refiner's device (an `Image.tensor`); maps: (H, W, 2) float32 {0, 1}."""
        import torch

        with torch.inference_mode():
            cond = torch.from_numpy(maps).to(self.device, self.dtype)
            h, w = render.shape[:2]
            work = self._working_size(w, h, size)
            if self.graphs is not None:
                correction, finite = self.graphs((h, w, work), render, cond, work=work)
            else:
                correction, finite = self._network_correction(render, cond, work)
        return correction if bool(finite) else None

    def _network_correction(self, render, cond, work: tuple[int, int]):
        """(correction at full size, whether it is all finite) from tensors on the device alone, so that on
        CUDA it can be captured as a graph."""
        import torch
        import torch.nn.functional as F

        base = render[:, :, :3].permute(2, 0, 1)[None].to(self.dtype) / 255.0
        cond = cond.permute(2, 0, 1)[None]
        h, w = render.shape[:2]
        small = F.interpolate(base, size=work, mode="area") if work != (h, w) else base
        small_maps = F.interpolate(cond, size=work, mode="nearest") if work != (h, w) else cond
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            refined = self.model(small, small_maps)
        correction = refined.to(small.dtype) - small
        finite = torch.isfinite(correction).all()
        if work != (h, w):
            correction = F.interpolate(correction, size=(h, w), mode="bilinear", align_corners=False)
        return correction, finite

    def apply(self, render, correction, maps: np.ndarray, strength: float = 1.0):
        """The render with a correction (this frame's, or a recent frame's) blended in through the face mask:
        a new RGBA uint8 tensor on the same device, alpha unchanged. Only the box around the face is
        touched (the blend is 0 outside it): a third of the frame's pixels or less."""
        import torch

        weights, (top, bottom, left, right) = blend_box(maps[..., 0])
        out = render.clone()
        if weights.size == 0:
            return out
        with torch.inference_mode():
            region = render[top:bottom, left:right, :3]
            base = region.permute(2, 0, 1)[None].to(self.dtype) / 255.0
            fix = correction[:, :, top:bottom, left:right]
            refined = (base + fix).clamp(0, 1)[0].permute(1, 2, 0).float() * 255.0
            weight = torch.from_numpy(weights * strength).to(self.device, torch.float32)[..., None]
            original = region.float()
            blended = torch.round(original + weight * (refined - original))
            # outside the face: the render's, exactly
            out[top:bottom, left:right, :3] = torch.where(weight > 0, blended, original).to(torch.uint8)
        return out

    def _working_size(self, width: int, height: int, size: int) -> tuple[int, int]:
        m = self.model.multiple
        scale = (size or self.config.input_size) / max(width, height)
        return (max(m, round(height * scale / m) * m), max(m, round(width * scale / m) * m))


class RefineNeural(Node):
    schema = NodeSchema(
        type_id="refine.neural", title="Neural Refine", category="refine",
        help="A network trained on a video of the target (`reenact train-refiner`) turns the coarse render into "
             "the target's real look: mouth interior, teeth, skin, seams. Pixels away from the face stay exactly "
             "the render's. With no weights set, frames pass through unchanged.",
        inputs=(Port("image", ports.IMAGE, "the rendered frame"),
                Port("motion", MOTION, "the motion the frame was rendered with (for the face and mouth maps)")),
        outputs=(Port("image", ports.IMAGE, "the refined frame"),),
        params=(
            Param("weights", ParamKind.PATH, "", "refiner weights (.safetensors) for this target; empty: pass through",
                  files=(("Refiner weights", (".safetensors",)),)),
            Param("size", ParamKind.INT, 0, "longest side the network runs at (0: the size it was trained at)",
                  minimum=0, maximum=2048),
            Param("strength", ParamKind.FLOAT, 1.0, "how much of the correction to apply", minimum=0.0, maximum=1.0),
            Param("every", ParamKind.INT, 1, "run the network every Nth frame and blend its last correction into "
                  "the frames between (cheaper, but a fast move lags by up to N-1 frames)", minimum=1, maximum=8),
            Param("threads", ParamKind.INT, 0, "CPU threads of the network (0: the run's thread budget). Beside a "
                  "busy program one thread runs about twice as fast as two, which wait on each other; on a quiet "
                  "machine more threads are faster", minimum=0, maximum=256),
            Param("device", ParamKind.ENUM, "auto", "where the network runs (auto: CUDA when available)",
                  choices=("auto", "cpu", "cuda")),
            Param("precision", ParamKind.ENUM, "auto", "auto: fp16 on CUDA; on the CPU bf16 where it computes "
                  "bfloat16 itself (AVX512-BF16 or AMX: about twice as fast), else fp32",
                  choices=("auto", "fp32", "fp16", "bf16")),
        ),
        gpu=True,
        degrade=(Degrade("threads", (1,), "nothing beside a busy program; on a quiet machine the network is "
                         "slower, and the frame budget gives it back"),
                 Degrade("every", (2, 3), "the face's correction lags fast moves by a frame or two")),
    )

    def open(self, run: RunContext) -> None:
        self._run = run
        self._passes = LatePass(f"{self.node_id}-net")
        self._load()

    def close(self) -> None:
        if getattr(self, "_passes", None) is not None:
            self._passes.close()
            self._passes = None

    def params_changed(self, names: set[str]) -> None:
        if names & {"weights", "device", "precision"}:
            self._load()
        elif "size" in names:
            self._working_size = 0  # a size the user picks is tried again, even after running out of memory

    def _load(self) -> None:
        self._passes.discard()  # computed with the settings or the network being replaced
        self._refiner, self._problem, self._working_size = None, "", 0
        self._last = None  # (frame index it is used from, correction) reused by `every` > 1
        if not self.params.weights:
            self._problem = "no weights set: frames pass through unchanged"
        else:
            apply_torch(self._run.options.threads)  # before the network's first work in this run
            try:
                self._refiner = Refiner.load(self._run.asset(self.params.weights), self.params.device,
                                             self.params.precision)
            except ReenactError as exc:
                self._problem = f"{exc.message}; frames pass through unchanged"
        if self._problem:
            self._run.notice(f"{self.node_id}: {self._problem}")

    def status(self) -> str:
        if self._problem:
            return self._problem
        graphs = self._refiner.graphs
        how = "" if graphs is None else f", {graphs.problem}" if graphs.problem else ", as a CUDA graph"
        return f"refining on {self._refiner.device} ({self._refiner.precision}{how})"

    def process(self, ctx: FrameContext, image: Image, motion: Motion) -> dict:
        if self._refiner is None or not motion.valid:
            return {"image": image}
        if self._refiner.device.type == "cpu":
            use_threads(self.params.threads or self._run.options.threads.torch_intra)
        size = (image.width, image.height)
        maps = conditioning_maps(scaled_landmarks(motion.landmarks, motion.image_size, size), size)
        while True:
            working = self._working_size or self.params.size or self._refiner.config.input_size
            try:
                render = image.tensor(self._refiner.device)
                correction = self._correction(ctx.index, render, maps, working)
                if correction is None:  # the raw render rather than a blacked-out face
                    self._say_once("the network gave NaN or infinite values: showing the raw render instead")
                    return {"image": image}
                refined = self._refiner.apply(render, correction, maps, self.params.strength)
                return {"image": Image.on_tensor(refined, image.channels, image.timestamp)}
            except Exception as exc:  # only running out of GPU memory is handled here
                if not _out_of_memory(exc):
                    raise
                self._shrink_after_oom(working)
                if self._refiner is None:
                    return {"image": image}

    def _correction(self, index: int, render, maps: np.ndarray, working: int):
        """This frame's correction, or with `every` > 1 the last one while it is recent enough. On a CPU the
        next one is computed beside the graph (a LatePass) from the frame before it is due and used from
        that frame on: the frames that ran the network no longer take twice as long as the others (the
        frame time's 95th percentile), for one more frame of lag."""
        done = self._passes.take()
        if done is not NOTHING:
            if done is None:
                return None
            self._last = (index, done)
        if self._last is not None:
            at, correction = self._last
            if 0 <= index - at < self.params.every and correction.shape[-2:] == render.shape[:2]:
                self._start_next(index, render, maps, working)
                return correction
        correction = self._refiner.correction(render, maps, working)  # the first, or after a gap or a resize
        self._last = None if correction is None else (index, correction)
        if correction is not None:
            self._start_next(index, render, maps, working)
        return correction

    def _start_next(self, index: int, render, maps: np.ndarray, working: int) -> None:
        """Start the pass that the next frame takes, when the next frame is due a fresh correction."""
        every = self.params.every
        if every > 1 and self._refiner.device.type == "cpu" and index + 1 - self._last[0] >= every:
            self._passes.start(self._refiner.correction, render.clone(), maps, working)

    def _say_once(self, problem: str) -> None:
        if self._problem != problem:
            self._problem = problem
            self._run.notice(f"{self.node_id}: {problem}")

    def _shrink_after_oom(self, working: int) -> None:
        """Out of GPU memory: halve the working size; below the minimum, stop refining. Say so."""
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        if working // 2 >= MIN_WORKING_SIZE:
            self._working_size = working // 2
            self._run.notice(f"{self.node_id}: out of GPU memory at size {working}; refining at "
                             f"{self._working_size} instead")
        else:
            self._refiner, self._problem = None, "out of GPU memory even at the smallest size: refinement " \
                                                 "bypassed, frames pass through unchanged"
            self._run.notice(f"{self.node_id}: {self._problem}")


def cpu_computes_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (AVX512-BF16 or AMX); elsewhere oneDNN emulates them,
    slower than fp32 (its own check, `_is_mkldnn_bf16_supported`, asks for AVX512 alone)."""
    import torch

    try:
        found = torch.cpu.get_capabilities()
    except (AttributeError, RuntimeError):  # a PyTorch older than 2.6 or a CPU it cannot read
        return False
    return bool(found.get("avx512_bf16") or found.get("amx_bf16"))


def _out_of_memory(exc: BaseException) -> bool:
    import torch

    return isinstance(exc, torch.OutOfMemoryError)


NODES = [RefineNeural]
