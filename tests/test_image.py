"""The Image port as a GPU-resident frame: lazy conversions through the bridge, at most once per frame
per representation; the texture pool; how the route is chosen; the whole chain's transfers."""
from __future__ import annotations

import ctypes
import gc
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from app.presets import load_preset
from app.runtime.gpu import egl
from app.runtime.options import ROUTE_ENV, GpuOptions, resolve
from app.runtime.gpu.bridge import ReadbackBridge, transfers
from app.runtime.gpu.cuda_gl import CudaGLBridge, choose_bridge
from app.runtime.errors import ReenactError
from app.runtime.gpu.context import GpuContext
from app.runtime.graph import NodeSpec
from app.runtime.gpu.image import Image
from app.runtime.scheduler import Scheduler
from tests.conftest import REPO

pytestmark = pytest.mark.gl


@pytest.fixture
def fresh_gpu(gpu):  # `gpu` first: it skips where no GL context can be made
    context = GpuContext.create(resolve().gpu)
    yield context
    context.release()


def drawn_frame(gpu, pixels: np.ndarray) -> Image:
    """A texture-backed frame filled the way a renderer fills one (no host copy kept)."""
    frame = Image.on_texture(gpu, (pixels.shape[1], pixels.shape[0]), channels=pixels.shape[2])
    with gpu.current():
        ReadbackBridge.write(frame.texture(gpu), np.concatenate(
            [pixels, np.full(pixels.shape[:2] + (1,), 255, np.uint8)], axis=2) if pixels.shape[2] == 3 else pixels)
    return frame


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (513, 257)])
def test_a_rendered_frame_is_read_back_once_however_often_it_is_asked(fresh_gpu, size):
    pixels = np.random.default_rng(size[0]).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    frame = drawn_frame(fresh_gpu, pixels)
    transfers.reset()
    assert np.array_equal(frame.numpy(), pixels) and np.array_equal(frame.rgb(), pixels)
    assert frame.numpy() is frame.numpy() and not frame.numpy().flags.writeable
    assert torch.equal(frame.tensor("cpu")[:, :, :3], torch.from_numpy(pixels))
    frame.tensor("cpu")
    assert transfers.counts() == {"texture->host": 1, "host->tensor": 1}  # read-back: tensors come from host


def test_host_frames_reach_textures_and_tensors_once_each(fresh_gpu):
    pixels = np.random.default_rng(3).integers(0, 256, (17, 33, 3), dtype=np.uint8)
    image = Image(pixels)
    transfers.reset()
    texture = image.texture(fresh_gpu)
    assert image.texture(fresh_gpu) is texture and texture.components == 4
    with fresh_gpu.current():
        assert np.array_equal(ReadbackBridge.download(texture, 3), pixels)
    rgba = image.tensor("cpu")
    assert image.tensor("cpu") is rgba and rgba.shape == (17, 33, 4) and bool((rgba[:, :, 3] == 255).all())
    assert transfers.counts() == {"host->texture": 1, "host->tensor": 1}


def test_a_tensor_frame_reaches_host_and_texture(fresh_gpu):
    rgba = torch.randint(0, 256, (9, 11, 4), dtype=torch.uint8)
    image = Image.on_tensor(rgba, channels=3)
    assert np.array_equal(image.numpy(), rgba[:, :, :3].numpy()) and image.numpy().flags.c_contiguous
    texture = image.texture(fresh_gpu)
    with fresh_gpu.current():
        assert np.array_equal(ReadbackBridge.download(texture, 3), rgba[:, :, :3].numpy())
    with pytest.raises(TypeError, match="RGBA uint8"):
        Image.on_tensor(torch.zeros(4, 4, 3, dtype=torch.uint8))


def test_pooled_textures_are_reused_only_once_their_frame_is_gone(fresh_gpu):
    pixels = np.zeros((8, 8, 3), np.uint8)
    for _ in range(10):
        drawn_frame(fresh_gpu, pixels)  # dropped at once, like a frame nobody keeps
    assert len(fresh_gpu.textures) == 1
    kept = [drawn_frame(fresh_gpu, pixels + i) for i in range(3)]
    assert len(fresh_gpu.textures) == 3
    assert [int(k.numpy()[0, 0, 0]) for k in kept] == [0, 1, 2]  # none was drawn over
    drawn_frame(fresh_gpu, np.zeros((4, 6, 3), np.uint8))  # a new size: the free old-size texture goes
    assert len(fresh_gpu.textures) == 4


def test_frames_outlive_their_context_as_host_copies(gpu):
    context = GpuContext.create(resolve().gpu)
    pixels = np.random.default_rng(5).integers(0, 256, (6, 10, 3), dtype=np.uint8)
    frame = drawn_frame(context, pixels)
    context.release()
    assert np.array_equal(frame.numpy(), pixels)


def test_the_chain_reads_each_rendered_frame_back_once_for_two_writers(studio_registry, tmp_path):
    graph = load_preset(REPO / "graphs" / "demo.json", studio_registry).graph
    graph.nodes["out"].params["path"] = str(tmp_path / "demo.mp4")
    graph.add(NodeSpec("frames", "output.images", params={"path": str(tmp_path / "frames")}))
    graph.connect("render", "image", "frames", "image")
    scheduler = Scheduler(graph, studio_registry)
    scheduler.open()
    try:
        scheduler.step()
        transfers.reset()
        for _ in range(4):
            scheduler.step()
        assert transfers.counts() == {"texture->host": 4}
        assert scheduler.run.gpu.bridge.name in ("read-back", "cuda-gl")
    finally:
        scheduler.close()
    gc.collect()
    assert len(list((tmp_path / "frames").glob("*.png"))) == 5


def test_the_route_can_be_forced_and_a_bad_choice_is_explained(gpu):
    bridge, why = choose_bridge(gpu.ctx, resolve({ROUTE_ENV: "read-back"}).gpu)
    assert bridge.name == "read-back" and ROUTE_ENV in why
    bridge, why = choose_bridge(gpu.ctx, resolve({ROUTE_ENV: "cuda-gl"}, gpu_route="read-back").gpu)
    assert bridge.name == "read-back" and "--gpu-route" in why  # the flag wins over the environment
    with pytest.raises(ReenactError, match="not one of read-back, cuda-gl"):
        resolve({ROUTE_ENV: "zero-copy"})
    bridge, why = choose_bridge(gpu.ctx, GpuOptions())
    if bridge.name == "read-back":  # no CUDA here: the reason names what is missing, and forcing fails clearly
        assert "host memory" in why
        with pytest.raises(ReenactError, match="cuda-gl, but"):
            choose_bridge(gpu.ctx, resolve({}, gpu_route="cuda-gl").gpu)


def test_the_egl_device_of_a_cuda_device_is_found_by_its_attribute():
    listed = [egl.EglDevice(0, None, True, None), egl.EglDevice(1, "/dev/dri/card1", False, 1),
              egl.EglDevice(2, "/dev/dri/card0", False, 0)]
    assert egl.index_for_cuda(0, listed) == 2 and egl.index_for_cuda(1, listed) == 1
    assert egl.index_for_cuda(3, listed) is None and egl.index_for_cuda(0, "no libEGL") is None
    found = egl.devices()
    assert isinstance(found, str) or all(d.describe().startswith(f"device {d.index}") for d in found)


def test_headless_contexts_try_the_cuda_gpus_egl_device_first_then_the_default(monkeypatch):
    from app.runtime.gpu import context as gpu_module

    monkeypatch.setattr(gpu_module, "_egl_device_for_cuda", lambda: {"device_index": 2})
    assert list(gpu_module._context_attempts(["x11", "egl"], None)) == [
        ("x11", {}), ("egl", {"backend": "egl", "device_index": 2}), ("egl", {"backend": "egl"})]
    monkeypatch.setattr(gpu_module, "_egl_device_for_cuda", lambda: {})
    assert list(gpu_module._context_attempts(["egl"], None)) == [("egl", {"backend": "egl"})]
    assert list(gpu_module._context_attempts(["egl"], 3)) == [("egl", {"backend": "egl", "device_index": 3})]


# ---------------------------------------------------------------- CUDA only (marker gpu)

@pytest.fixture
def sharing_gpu(gpu):
    context = GpuContext.create(resolve().gpu)
    assert context.bridge.name == "cuda-gl", f"CUDA is here but frames are not shared: {context.path_reason}"
    yield context
    context.release()


@pytest.mark.gpu
@pytest.mark.parametrize("size", [(7, 5), (513, 257)])
@pytest.mark.parametrize("dtype", ["f1", "f2", "f4"])
def test_textures_and_cuda_tensors_round_trip_byte_exactly(sharing_gpu, size, dtype):
    numpy_type = {"f1": np.uint8, "f2": np.float16, "f4": np.float32}[dtype]
    rng = np.random.default_rng(size[0])
    pixels = (rng.integers(0, 256, (size[1], size[0], 4)) if dtype == "f1"
              else rng.standard_normal((size[1], size[0], 4))).astype(numpy_type)
    bridge = sharing_gpu.bridge
    with sharing_gpu.current():
        texture = sharing_gpu.ctx.texture(size, 4, dtype=dtype)
        try:
            ReadbackBridge.write(texture, pixels)
            tensor = bridge.texture_to_tensor(texture, "cuda:0")
            assert tensor.is_cuda and tensor.cpu().numpy().tobytes() == pixels.tobytes()  # top row on top
            bridge.tensor_to_texture(torch.flip(tensor, (0,)).contiguous(), texture)
            torch.cuda.synchronize()
            assert ReadbackBridge.download(texture).tobytes() == pixels[::-1].tobytes()
        finally:
            bridge.forget(texture)
            texture.release()


@pytest.mark.gpu
def test_a_hundred_frames_from_a_side_stream_with_one_registration_and_no_gl_error(sharing_gpu):
    bridge = sharing_gpu.bridge
    registered = bridge.registrations
    stream = torch.cuda.Stream()
    with sharing_gpu.current():
        texture = sharing_gpu.ctx.texture((512, 512), 4)
        try:
            for i in range(100):
                with torch.cuda.stream(stream):
                    frame = torch.full((512, 512, 4), i, dtype=torch.uint8, device="cuda:0")
                    bridge.tensor_to_texture(frame, texture)
                    back = bridge.texture_to_tensor(texture, "cuda:0")
                stream.synchronize()
                assert int(back[0, 0, 0]) == i and int(back[-1, -1, -1]) == i
            assert sharing_gpu.ctx.error == "GL_NO_ERROR"
            assert bridge.registrations == registered + 1
        finally:
            bridge.forget(texture)
            texture.release()


@pytest.mark.gpu
def test_a_rendered_frame_reaches_the_network_without_host_memory(sharing_gpu):
    pixels = np.random.default_rng(9).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    frame = drawn_frame(sharing_gpu, pixels)
    transfers.reset()
    tensor = frame.tensor("cuda")
    assert tensor.device.type == "cuda" and np.array_equal(tensor[:, :, :3].cpu().numpy(), pixels)
    refined = Image.on_tensor(tensor.clone())
    texture = refined.texture(sharing_gpu)
    with sharing_gpu.current():
        assert np.array_equal(ReadbackBridge.download(texture, 3), pixels)
    assert transfers.counts() == {"texture->tensor": 1, "tensor->texture": 1}


class FakeCudaRuntime:
    """cuda-bindings' runtime calls used by CudaGLBridge, on host memory: a 'mapped array' is the GL
    texture itself and a device pointer is a CPU tensor's. Checks the copy geometry, that every map is
    unmapped, and that each texture is registered once, where no GPU is at hand."""

    cudaMemcpyKind = SimpleNamespace(cudaMemcpyDeviceToDevice=3)
    cudaGraphicsRegisterFlags = SimpleNamespace(cudaGraphicsRegisterFlagsNone=0)

    def __init__(self, ctx, size: tuple[int, int], dtype: str = "f1"):
        self.ctx, self.size, self.dtype = ctx, size, dtype  # of every texture it will be handed
        self.resources, self.mapped = {}, set()

    def cudaSetDevice(self, device):
        return (0,)

    def cudaGraphicsGLRegisterImage(self, glo, target, flags):
        assert target == 0x0DE1
        resource = object()
        self.resources[resource] = self.ctx.external_texture(glo, self.size, 4, 0, self.dtype)
        return 0, resource

    def cudaGraphicsUnregisterResource(self, resource):
        del self.resources[resource]
        return (0,)

    def cudaGraphicsMapResources(self, count, resource, stream):
        assert count == 1 and resource not in self.mapped
        self.mapped.add(resource)
        return (0,)

    def cudaGraphicsUnmapResources(self, count, resource, stream):
        self.mapped.remove(resource)
        return (0,)

    def cudaGraphicsSubResourceGetMappedArray(self, resource, index, level):
        assert resource in self.mapped and (index, level) == (0, 0)
        return 0, self.resources[resource]

    def cudaMemcpy2DFromArrayAsync(self, dst, dpitch, src, w_offset, h_offset, width, height, kind, stream):
        data = ReadbackBridge.download(src).tobytes()
        assert (w_offset, h_offset) == (0, 0) and dpitch == width and len(data) == width * height
        ctypes.memmove(dst, data, len(data))
        return (0,)

    def cudaMemcpy2DToArrayAsync(self, dst, w_offset, h_offset, src, spitch, width, height, kind, stream):
        assert (w_offset, h_offset) == (0, 0) and spitch == width
        dst.write(ctypes.string_at(src, width * height), alignment=1)
        return (0,)


class HostSharingBridge(CudaGLBridge):
    """The CUDA route's code path with 'cpu' standing in for the CUDA device."""

    def shares(self, device):
        return str(device) == "cpu"

    def _stream(self):
        return 0


@pytest.mark.parametrize("dtype", ["f1", "f2", "f4"])
def test_the_cuda_route_copies_whole_rows_and_registers_each_texture_once(fresh_gpu, monkeypatch, dtype):
    numpy_type = {"f1": np.uint8, "f2": np.float16, "f4": np.float32}[dtype]
    pixels = np.random.default_rng(2).integers(0, 200, (257, 513, 4)).astype(numpy_type)
    bridge = HostSharingBridge(0)
    with fresh_gpu.current():
        texture = fresh_gpu.ctx.texture((513, 257), 4, dtype=dtype)
        runtime = FakeCudaRuntime(fresh_gpu.ctx, (513, 257), dtype)
        monkeypatch.setattr("app.runtime.gpu.cuda_gl._runtime", lambda: runtime)
        ReadbackBridge.write(texture, pixels)
        for _ in range(3):
            tensor = bridge.texture_to_tensor(texture, "cpu")
            assert tensor.numpy().tobytes() == pixels.tobytes()
            bridge.tensor_to_texture(torch.flip(tensor, (0,)), texture)
            assert ReadbackBridge.download(texture).tobytes() == pixels[::-1].tobytes()
            bridge.tensor_to_texture(tensor, texture)
        assert bridge.registrations == 1 and not runtime.mapped
        with pytest.raises(ValueError, match="cannot fill"):
            bridge.tensor_to_texture(tensor[:-1], texture)
        bridge.forget(texture)
        assert not runtime.resources
        texture.release()


def test_with_sharing_a_rendered_frame_reaches_a_tensor_and_back_without_host_memory(fresh_gpu, monkeypatch):
    pixels = np.random.default_rng(4).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    monkeypatch.setattr(fresh_gpu, "bridge", HostSharingBridge(0))
    runtime = FakeCudaRuntime(fresh_gpu.ctx, (96, 64))
    monkeypatch.setattr("app.runtime.gpu.cuda_gl._runtime", lambda: runtime)
    frame = drawn_frame(fresh_gpu, pixels)
    transfers.reset()
    tensor = frame.tensor("cpu")
    assert np.array_equal(tensor[:, :, :3].numpy(), pixels)
    refined = Image.on_tensor(255 - tensor)  # what a network hands back
    texture = refined.texture(fresh_gpu)
    assert transfers.counts() == {"texture->tensor": 1, "tensor->texture": 1}
    with fresh_gpu.current():
        assert np.array_equal(ReadbackBridge.download(texture, 3), 255 - pixels)
    assert fresh_gpu.bridge.registrations == 2 and not runtime.mapped


@pytest.mark.parametrize("gl_devices, expected", [
    ((999, 0, []), "not on a CUDA GPU"),  # cudaGLGetDevices fails: GL runs elsewhere (llvmpipe, another vendor)
    ((0, 1, [1]), "PyTorch uses device 0"),
    ((0, 1, [0]), "failed its self-test"),
    (None, "probing CUDA-GL sharing failed (TypeError"),  # bindings whose calls differ from these
])
def test_sharing_is_chosen_only_when_gl_and_cuda_share_a_device_and_the_self_test_passes(
        gpu, monkeypatch, gl_devices, expected):
    runtime = FakeCudaRuntime(gpu.ctx, (5, 3))
    runtime.cudaGetDeviceCount = lambda: (0, 1)

    def gl_get_devices(count, which):
        if gl_devices is None:
            raise TypeError("unexpected argument")
        return gl_devices

    runtime.cudaGLGetDevices = gl_get_devices
    runtime.cudaGLDeviceList = SimpleNamespace(cudaGLDeviceListAll=1)
    monkeypatch.setattr("app.runtime.gpu.cuda_gl._runtime", lambda: runtime)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)

    def copies_wrongly(*args):  # not the fake runtime's copies: on a real GPU they would write to nowhere
        raise RuntimeError("texture -> tensor changed the pixels")

    monkeypatch.setattr("app.runtime.gpu.cuda_gl._self_test", copies_wrongly)
    bridge, why = choose_bridge(gpu.ctx, GpuOptions())
    assert bridge.name == "read-back" and expected in why and not runtime.resources


def test_a_gpu_context_that_cannot_be_made_is_tried_once_per_run(monkeypatch):
    from app.runtime.context import RunContext
    from app.runtime.gpu import context as gpu_module

    attempts = []

    def refuse(options):
        attempts.append(options)
        raise ReenactError("no OpenGL 3.3 context (test)")

    monkeypatch.setattr(gpu_module.GpuContext, "create", staticmethod(refuse))
    run = RunContext(options=resolve({}, egl_device=7))
    for _ in range(3):
        with pytest.raises(ReenactError, match="no OpenGL"):
            run.open_gpu()
    assert len(attempts) == 1 and attempts[0].egl_device == 7


def test_waiting_for_gl_work_lets_other_python_threads_run(fresh_gpu):
    """A pipelined run's tracking thread must not stall while the rasterizer works: `finish` waits with
    the GIL released (moderngl's own calls hold it). Just before each of three heavy waits a side thread is
    woken; it must get to run early in the wait, not only once the wait is over."""
    import threading

    rounds = 3
    go = [threading.Event() for _ in range(rounds)]
    woke: list[float] = []

    def watch():
        for event in go:
            event.wait()
            woke.append(time.perf_counter())

    ctx = fresh_gpu.ctx
    with fresh_gpu.current():
        program = ctx.program(vertex_shader="#version 330\nin vec2 p; void main() { gl_Position = vec4(p, 0.0, 1.0); }",
                              fragment_shader="#version 330\nout vec4 c; void main() { float s = 0.0;"
                              " for (int i = 0; i < 6000; i++) s += sin(gl_FragCoord.x * float(i));"
                              " c = vec4(s, 0.0, 0.0, 1.0); }")
        triangle = ctx.buffer(np.array([-1, -1, 3, -1, -1, 3], "f4").tobytes())
        vao = ctx.vertex_array(program, [(triangle, "2f", "p")])
        target = ctx.framebuffer([ctx.renderbuffer((256, 256))])
        watcher = threading.Thread(target=watch)
        watcher.start()
        waits = []  # (started, seconds) of each `finish`
        try:
            for event in go:
                target.use()
                vao.render()
                started = time.perf_counter()
                event.set()
                fresh_gpu.finish()
                waits.append((started, time.perf_counter() - started))
        finally:
            for event in go:
                event.set()
            watcher.join()
        for thing in (vao, triangle, program, target):
            thing.release()
    if min(seconds for _, seconds in waits) < 0.02:
        pytest.skip("this GL finished the work too fast to tell whether Python threads ran meanwhile")
    late = [round(woken - started, 3) for woken, (started, _) in zip(woke, waits)]
    assert all(woken - started < seconds / 2 for woken, (started, seconds) in zip(woke, waits)), (late, waits)
