"""Issue 17, item 12: `train-refiner` with an unwritable or full --out folder: a message and exit 1,
never a traceback, and no temporary file left behind."""
from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

import numpy as np
import pytest

from app.cli import main
from app.runtime.errors import ReenactError
from app.training.pairs import _save_npz
from nodes.output.folders import write_atomically
from nodes.refine.net import NetConfig, UNet, load_weights, save_weights
from tests.conftest import REPO

CLIP = REPO / "tests" / "data" / "real" / "single_face.mp4"
needs_dev_full = pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")


@pytest.fixture
def full_disk(tmp_path, monkeypatch) -> Path:
    """Every file written whole (through write_atomically) goes to /dev/full: 'no space left'."""
    full = tmp_path / ".full.partial"
    full.symlink_to("/dev/full")
    monkeypatch.setattr("nodes.output.folders.partial_path", lambda target: full)
    return tmp_path


def test_an_unwritable_out_folder_is_refused_before_tracking(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "w.safetensors"
    assert main(["train-refiner", "--target", str(CLIP), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "cannot write there" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_weights_on_a_full_disk_are_a_clear_error_and_leave_nothing(tmp_path, monkeypatch):
    def save_until_full(state, path, metadata=None):  # safetensors replaces a /dev/full link: simulate
        Path(path).write_bytes(b"\0" * 245_000)
        raise RuntimeError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr("safetensors.torch.save_file", save_until_full)
    config = NetConfig((8, 16, 32), 96)
    with pytest.raises(ReenactError, match="cannot write the file: .*No space left on device"):
        save_weights(UNet(config), config, tmp_path / "w.safetensors")
    assert list(tmp_path.iterdir()) == []


@needs_dev_full
def test_the_pairs_cache_on_a_full_disk_leaves_nothing(full_disk):
    with pytest.raises(OSError) as info:
        write_atomically(full_disk / "w.pairs.npz", lambda partial: _save_npz(partial, a=np.zeros(100_000)))
    assert info.value.errno == errno.ENOSPC
    assert list(full_disk.iterdir()) == []


def test_a_disk_that_fills_up_while_training_is_a_message_not_a_traceback(tmp_path, capsys, monkeypatch):
    def fill_up(cfg):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("app.training.trainer.train_refiner", fill_up)
    assert main(["train-refiner", "--target", str(CLIP), "--out", str(tmp_path / "w.safetensors"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "cannot write the training files: No space left on device" in err and "free some space" in err


def test_sigterm_while_training_keeps_the_steps_done_in_a_checkpoint(tmp_path, capsys, monkeypatch):
    from app.runtime.progress import Progress

    class TerminatedAtStep3(Progress):
        def update(self, frame, fps, force=False, note=""):
            if frame == 3 and not getattr(self, "sent", False):
                self.sent = True
                os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr("app.training.trainer.Progress", TerminatedAtStep3)
    out = tmp_path / "w.safetensors"
    assert main(["train-refiner", "--target", str(CLIP), "--out", str(out), "--steps", "500", "--size", "64",
                 "--batch", "2", "--max-frames", "12", "--every", "400", "--quiet"]) == 143  # was killed outright
    err = capsys.readouterr().err
    assert f"stopped at step 3 of 500: checkpoint saved to {out}; continue with --resume" in err
    assert load_weights(out)[2]["step"] == "3"  # the steps done are kept, not lost back to the last checkpoint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.optim.safetensors", "w.pairs.npz", "w.safetensors"]
