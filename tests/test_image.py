"""The Image port as a GPU-resident frame: lazy conversions through the bridge, at most once per frame
per representation; the texture pool; how the route is chosen; the whole chain's transfers."""
from __future__ import annotations

import gc

import numpy as np
import pytest
import torch

from app.presets import load_preset
from app.runtime import egl
from app.runtime.bridge import ReadbackBridge, transfers
from app.runtime.cuda_gl import PATH_ENV, choose_bridge
from app.runtime.errors import ReenactError
from app.runtime.gpu import GpuContext
from app.runtime.graph import NodeSpec
from app.runtime.image import Image
from app.runtime.scheduler import Scheduler
from tests.conftest import REPO

pytestmark = pytest.mark.gl


@pytest.fixture
def fresh_gpu(gpu):  # `gpu` first: it skips where no GL context can be made
    context = GpuContext.create()
    yield context
    context.release()


def drawn_frame(gpu, pixels: np.ndarray) -> Image:
    """A texture-backed frame filled the way a renderer fills one (no host copy kept)."""
    frame = gpu.frame((pixels.shape[1], pixels.shape[0]), channels=pixels.shape[2])
    with gpu.current():
        ReadbackBridge.write(frame.texture(gpu), np.concatenate(
            [pixels, np.full(pixels.shape[:2] + (1,), 255, np.uint8)], axis=2) if pixels.shape[2] == 3 else pixels)
    return frame


@pytest.mark.parametrize("size", [(1, 1), (7, 5), (513, 257)])
def test_a_rendered_frame_is_read_back_once_however_often_it_is_asked(fresh_gpu, size, monkeypatch):
    monkeypatch.setenv(PATH_ENV, "read-back")
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
    context = GpuContext.create()
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


def test_the_route_can_be_forced_and_a_bad_choice_is_explained(gpu, monkeypatch):
    monkeypatch.setenv(PATH_ENV, "read-back")
    bridge, why = choose_bridge(gpu.ctx)
    assert bridge.name == "read-back" and PATH_ENV in why
    monkeypatch.setenv(PATH_ENV, "zero-copy")
    with pytest.raises(ReenactError, match="not a route"):
        choose_bridge(gpu.ctx)
    monkeypatch.delenv(PATH_ENV)
    bridge, why = choose_bridge(gpu.ctx)
    if bridge.name == "read-back":  # no CUDA here: the reason names what is missing, and forcing fails clearly
        assert "host memory" in why
        monkeypatch.setenv(PATH_ENV, "cuda-gl")
        with pytest.raises(ReenactError, match="cuda-gl, but"):
            choose_bridge(gpu.ctx)


def test_the_egl_device_of_a_cuda_device_is_found_by_its_attribute():
    listed = [egl.EglDevice(0, None, True, None), egl.EglDevice(1, "/dev/dri/card1", False, 1),
              egl.EglDevice(2, "/dev/dri/card0", False, 0)]
    assert egl.index_for_cuda(0, listed) == 2 and egl.index_for_cuda(1, listed) == 1
    assert egl.index_for_cuda(3, listed) is None and egl.index_for_cuda(0, "no libEGL") is None
    found = egl.devices()
    assert isinstance(found, str) or all(d.describe().startswith(f"device {d.index}") for d in found)


# ---------------------------------------------------------------- CUDA only (marker gpu)

@pytest.fixture
def sharing_gpu(gpu):
    context = GpuContext.create()
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
