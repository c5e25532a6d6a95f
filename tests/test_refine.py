"""Neural refinement: weights files, the node in a graph on the CPU, and a tiny training run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from app.runtime.gpu.bridge import transfers
from app.runtime.context import RunContext
from app.runtime.errors import ReenactError
from app.runtime.graph import Graph, NodeSpec
from app.runtime.scheduler import Scheduler
from app.training.trainer import TrainConfig, train_refiner
from nodes.refine.maps import blend_mask, conditioning_maps, scaled_landmarks
from nodes.refine.net import NetConfig, UNet, load_weights, save_weights

TINY = NetConfig((8, 16, 32), 96)


@pytest.fixture(scope="module")
def trained_weights(tmp_path_factory) -> Path:
    """Weights with non-zero corrections (a few random steps), so refinement visibly changes pixels."""
    torch.manual_seed(1)
    model = UNet(TINY)
    torch.nn.init.normal_(model.head.weight, std=0.05)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_weights(model, TINY, path)
    return path


def test_refinement_in_bf16_on_the_cpu_matches_fp32_and_auto_takes_it_where_the_cpu_computes_it(trained_weights):
    from nodes.refine.neural import Refiner, cpu_computes_bf16

    frame = torch.from_numpy(np.random.default_rng(3).integers(0, 256, (192, 160, 4), dtype=np.uint8))
    maps = np.zeros((192, 160, 2), np.float32)
    maps[40:150, 30:130, 0] = 1

    def refined(refiner):
        return refiner.apply(frame, refiner.correction(frame, maps, 96), maps)

    fp32, bf16 = Refiner.load(trained_weights, "cpu", "fp32"), Refiner.load(trained_weights, "cpu", "bf16")
    full, reduced = refined(fp32), refined(bf16)
    assert (full.int() - frame.int()).abs().max() > 10  # the weights do correct the render
    assert (reduced.int() - full.int()).abs().max() <= 3
    assert Refiner.load(trained_weights, "cpu").precision == ("bf16" if cpu_computes_bf16() else "fp32")
    with pytest.raises(ReenactError, match="fp16 refinement needs a CUDA GPU"):
        Refiner.load(trained_weights, "cpu", "fp16")


def test_weights_round_trip_through_safetensors(trained_weights):
    model, config, meta = load_weights(trained_weights)
    assert config == TINY and meta["architecture"] == "reenact-unet-v1"
    again = trained_weights.with_name("again.safetensors")
    save_weights(model, config, again)
    reloaded, _, _ = load_weights(again)
    x, maps = torch.rand(1, 3, 32, 32), torch.zeros(1, 2, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x, maps), reloaded(x, maps))


def test_an_untrained_network_returns_its_input():
    x = torch.rand(2, 3, 24, 40)
    with torch.no_grad():
        assert torch.allclose(UNet(TINY)(x, torch.zeros(2, 2, 24, 40)), x)


def test_a_pickle_is_refused_without_being_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Trap:  # unpickling this would create the marker file
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "weights.safetensors"
    torch.save({"state": Trap()}, path)
    with pytest.raises(ReenactError, match="not a readable safetensors file.*pickled"):
        load_weights(path)
    assert not marker.exists()


def test_a_wrong_shape_file_is_refused(tmp_path):
    from safetensors.torch import save_file

    state = UNet(TINY).state_dict()
    state["head.weight"] = torch.zeros(3, 4, 1, 1)
    path = tmp_path / "wrong.safetensors"
    save_file(state, str(path), metadata=TINY.metadata())
    with pytest.raises(ReenactError, match=r"do not fit.*head.weight: file \(3, 4, 1, 1\)"):
        load_weights(path)


def test_a_truncated_file_and_foreign_metadata_are_refused(trained_weights, tmp_path):
    data = trained_weights.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ReenactError, match="not a readable safetensors file"):
        load_weights(cut)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign), metadata={"architecture": "some-gan"})
    with pytest.raises(ReenactError, match="not a Reenact refiner"):
        load_weights(foreign)


def test_blend_mask_is_zero_away_from_the_face():
    face = np.zeros((64, 64), np.float32)
    face[20:40, 20:40] = 1
    mask = blend_mask(face)
    assert mask[25, 25] == 1 and mask[0, 0] == 0 and 0 < mask[19, 30] < 1


def test_the_maps_fill_pixel_centres_inside_and_a_shut_mouth_opens_none():
    from scipy.ndimage import binary_dilation
    from skimage.draw import polygon

    from nodes.track.face_model import topology
    from tests.conftest import reference_track

    points = reference_track(0.0).landmarks[:, :2].astype(np.float64)
    mouth = topology().mouth
    points[mouth, 1] = points[mouth, 1].mean() + (points[mouth, 1] - points[mouth, 1].mean()) * 8  # opened wide
    maps = conditioning_maps(points, (400, 400))
    centres = {}
    for channel, loop in ((0, topology().outline), (1, mouth)):
        centres[channel] = np.zeros((400, 400), bool)
        centres[channel][polygon(points[loop, 1], points[loop, 0], (400, 400))] = True
    assert maps[..., 1].sum() > 100 and np.array_equal(maps[..., 1] > 0, centres[1])
    face, outline = maps[..., 0] > 0, centres[0] ^ binary_dilation(centres[0])  # the ring just outside the face
    assert face.sum() > 10000 and not (face ^ centres[0])[~outline].any()  # differs on the outline's ring alone
    points[mouth, 1] = points[mouth, 1].mean()  # shut: a polygon of no area
    assert conditioning_maps(points, (400, 400))[..., 1].sum() == 0


def refine_graph(weights: str, size: int = 160) -> Graph:
    graph = Graph()
    for spec in (NodeSpec("target", "capture.image", params={"path": "portraits/astronaut.png"}),
                 NodeSpec("target_track", "track.face", params={"mode": "photo"}),
                 NodeSpec("driver", "capture.motion", params={"size": 256}),
                 NodeSpec("retarget", "retarget.face", params={"calibration_frames": 1}),
                 NodeSpec("render", "render.portrait", params={"size": size}),
                 NodeSpec("refine", "refine.neural", params={"weights": weights})):
        graph.add(spec)
    for a, b in (("target.image", "target_track.image"), ("driver.track", "retarget.source"),
                 ("target_track.track", "retarget.target"), ("target.image", "render.image"),
                 ("target_track.track", "render.track"), ("retarget.motion", "render.motion"),
                 ("render.image", "refine.image"), ("retarget.motion", "refine.motion")):
        graph.connect(*a.split("."), *b.split("."))
    return graph


def run_frames(graph: Graph, registry, frames: int = 12) -> Scheduler:
    scheduler = Scheduler(graph, registry, RunContext())
    scheduler.open()
    try:
        for _ in range(frames):
            assert scheduler.step() == []
    finally:
        scheduler.close()
    return scheduler


def test_the_node_refines_inside_the_face_and_keeps_the_background_exact(studio_registry, trained_weights):
    scheduler = run_frames(refine_graph(str(trained_weights)), studio_registry)
    render = scheduler.output("render", "image").rgb()
    refined = scheduler.output("refine", "image").rgb()
    motion = scheduler.output("retarget", "motion")
    size = (render.shape[1], render.shape[0])
    maps = conditioning_maps(scaled_landmarks(motion.landmarks, motion.image_size, size), size)
    outside = blend_mask(maps[..., 0]) == 0
    assert np.array_equal(refined[outside], render[outside])
    assert np.abs(refined[~outside].astype(int) - render[~outside]).mean() > 0.5


def test_the_rendered_frame_reaches_the_network_as_a_tensor_without_a_host_copy(studio_registry, trained_weights):
    scheduler = Scheduler(refine_graph(str(trained_weights)), studio_registry, RunContext())
    scheduler.open()
    try:
        scheduler.step()
        transfers.reset()
        for _ in range(3):
            scheduler.step()
        assert transfers.counts() == {"texture->tensor": 3}  # read-back: straight into the tensor's memory
        refined = scheduler.output("refine", "image")
        assert refined.numpy().shape == (160, 160, 3) and transfers.counts()["tensor->host"] == 1
    finally:
        scheduler.close()


@pytest.mark.parametrize("weights, notice", [("", "no weights set"), ("missing.safetensors", "not found")])
def test_without_usable_weights_frames_pass_through_with_a_notice(studio_registry, weights, notice):
    scheduler = run_frames(refine_graph(weights), studio_registry, frames=3)
    assert scheduler.output("refine", "image") is scheduler.output("render", "image")
    assert any(notice in n and "pass through" in n for n in scheduler.run.notices)


def test_a_corrupt_weights_file_is_a_clear_notice_and_passes_through(studio_registry, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    scheduler = run_frames(refine_graph(str(bad)), studio_registry, frames=3)
    assert scheduler.output("refine", "image") is scheduler.output("render", "image")
    assert any("not a readable safetensors file" in n for n in scheduler.run.notices)


@pytest.fixture(scope="module")
def synthetic_target(tmp_path_factory, studio_registry) -> Path:
    """A short clip of the astronaut driven by the motion performer, whose mouth interior looks
    different (red cavity, white teeth) from what the trainer's renderer draws: a look to learn."""
    path = tmp_path_factory.mktemp("clip") / "target.mp4"
    graph = refine_graph("", size=192)
    graph.remove("refine")
    graph.nodes["driver"].params.update({"duration": 2.0, "speed": 2.0})
    graph.nodes["render"].params.update({"cavity_color": [0.75, 0.2, 0.25, 1.0], "teeth_color": [1.0, 1.0, 1.0, 1.0]})
    graph.add(NodeSpec("out", "output.video", params={"path": str(path), "fps": 30.0}))
    graph.connect("render", "image", "out", "image")
    scheduler = Scheduler(graph, studio_registry, RunContext())
    scheduler.open()
    try:
        for _ in range(60):
            scheduler.step()
    finally:
        scheduler.close()
    return path


def test_training_beats_the_raw_render_on_held_out_frames(synthetic_target, tmp_path):
    """All 60 frames of the clip (45 to train on): after 60 steps the refined render beats the raw one on
    the held-out frames by 0.9 to 1.4 dB over seeds 0-3 (untrained, it is the raw render). From 40
    frames it was a coin flip (-0.7 to +0.6 dB). The training loss of the first and last five batches
    differs by less than the batches do (0.0175-0.0185 either way, over seeds and CPU thread counts), so
    only its being finite is checked."""
    out = tmp_path / "target.safetensors"
    config = TrainConfig(synthetic_target, out, steps=60, size=64, batch=4, channels=(8, 16, 32), holdout=0.25,
                         every=30, max_frames=60, progress=False)
    result = train_refiner(config)
    assert np.isfinite([result.first_loss, result.last_loss]).all()
    assert result.psnr_refined > result.psnr_render + 0.3
    assert out.exists() and result.preview.exists() and out.with_name("target.pairs.npz").exists()
    _, _, meta = load_weights(out)
    assert meta["step"] == "60" and json.loads(meta["channels"]) == [8, 16, 32]
    resumed = train_refiner(TrainConfig(synthetic_target, out, steps=64, size=64, batch=4, channels=(8, 16, 32),
                                        holdout=0.25, every=4, max_frames=60, resume=True, progress=False))
    assert load_weights(out)[2]["step"] == "64" and np.isfinite(resumed.last_loss)


def test_train_refiner_command_refuses_bad_input_clearly(tmp_path, capsys):
    from app.cli import main

    assert main(["train-refiner", "--target", str(tmp_path / "none.mp4"), "--out", str(tmp_path / "w.safetensors")]) == 1
    assert "target video does not exist" in capsys.readouterr().err
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not a video")
    assert main(["train-refiner", "--target", str(video), "--out", str(tmp_path / "w.pt")]) == 1
    assert "must end in .safetensors" in capsys.readouterr().err
    assert main(["train-refiner", "--target", str(video), "--out", str(tmp_path / "w.safetensors"), "--resume"]) == 1
    assert "--resume needs an earlier checkpoint" in capsys.readouterr().err
    assert main(["train-refiner", "--target", str(video), "--out", str(tmp_path / "w.safetensors"), "--quiet"]) == 1
    assert "cannot read the video" in capsys.readouterr().err


@pytest.mark.parametrize("fits_at, expected", [(64, "refining at 64 instead"), (0, "refinement bypassed")])
def test_running_out_of_gpu_memory_lowers_the_size_then_bypasses(studio_registry, trained_weights, monkeypatch,
                                                                 fits_at, expected):
    from nodes.refine.neural import Refiner

    real_correction = Refiner.correction
    tried = []

    def correction(self, render, maps, size):
        tried.append(size)
        if size > fits_at:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_correction(self, render, maps, size)

    monkeypatch.setattr(Refiner, "correction", correction)
    graph = refine_graph(str(trained_weights))
    graph.nodes["refine"].params["size"] = 256
    scheduler = run_frames(graph, studio_registry, frames=4)
    assert any(expected in n for n in scheduler.run.notices)
    assert tried[:3] == [256, 128, 64]
    refined_is_render = scheduler.output("refine", "image") is scheduler.output("render", "image")
    assert refined_is_render == (fits_at == 0)


def test_every_other_frame_runs_the_network_half_as_often_beside_the_graph_and_blends_the_last_correction(
        studio_registry, trained_weights, monkeypatch):
    """every=2 on a CPU: the first frame's correction is computed in the frame; after that each one is
    computed beside the graph from the frame before it is due (frames 1, 3, 5, ...), used from the next."""
    import threading

    from nodes.refine.neural import Refiner

    threads = []
    correction = Refiner.correction
    monkeypatch.setattr(Refiner, "correction",
                        lambda self, *a: threads.append(threading.current_thread()) or correction(self, *a))
    graph = refine_graph(str(trained_weights))
    graph.nodes["refine"].params.update(every=2, device="cpu")  # on a GPU the network runs in the frame
    scheduler = run_frames(graph, studio_registry, frames=12)
    assert len(threads) == 7  # frame 0's in the frame, then frames 1, 3, ..., 11's beside it
    assert threads[0] is threading.main_thread() and threading.main_thread() not in threads[1:]
    render, refined = scheduler.output("render", "image").rgb(), scheduler.output("refine", "image").rgb()
    assert np.abs(refined.astype(int) - render).mean() > 0.05  # frame 11 carries frame 9's correction


def test_a_refined_render_with_passes_beside_the_graph_is_the_same_on_every_run(studio_registry, trained_weights):
    """The pass is always taken on the frame after it started (waiting if need be): timing never shows."""
    graph = refine_graph(str(trained_weights))
    graph.nodes["refine"].params["every"] = 3
    frames = [run_frames(graph, studio_registry, frames=7).output("refine", "image").rgb() for _ in range(2)]
    assert np.array_equal(frames[0], frames[1])


def test_training_pairs_come_from_the_video_target_graphs_own_frame_bank(synthetic_target, tmp_path):
    from app.training.pairs import SOURCE_GAP_SECONDS, _source_row, build
    from nodes.target.bank import FrameBank
    from nodes.target.index import IndexSettings
    from nodes.target.index import load_or_build as load_or_build_index

    pairs = build(synthetic_target, 64, None, progress=False, state_dir=tmp_path)
    index, how = load_or_build_index(synthetic_target, tmp_path, IndexSettings())
    assert how == "loaded" and len(pairs) == len(index)  # tracked once, for training and for the graph
    bank = FrameBank(index, synthetic_target)
    sources = [_source_row(bank, row) for row in range(len(bank))]
    gaps = np.abs(index.timestamps[sources] - index.timestamps)
    assert gaps.min() >= SOURCE_GAP_SECONDS  # never a frame's own moment: there is a difference to learn
    assert len(set(sources)) > 3  # chosen by pose and expression, not one reference frame for all


def test_the_refiners_threads_follow_its_param_and_else_the_runs_budget(studio_registry, trained_weights):
    before = torch.get_num_threads()
    try:
        graph = refine_graph(str(trained_weights))
        graph.nodes["refine"].params.update(threads=1, device="cpu")  # torch's threads are the CPU network's
        run_frames(graph, studio_registry, frames=2)
        assert torch.get_num_threads() == 1
        graph.nodes["refine"].params["threads"] = 0
        scheduler = run_frames(graph, studio_registry, frames=2)
        assert torch.get_num_threads() == scheduler.run.options.threads.torch_intra
    finally:
        torch.set_num_threads(before)
