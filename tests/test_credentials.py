"""C2PA content credentials on written files: signed with the local self-issued key by default or the
user's own, checked by `reenact detect`, and never at the cost of the file when signing fails."""
from __future__ import annotations

import stat
import sys

import c2pa
import pytest

from app.cli import main
from app.cli.detect import detect_file
from nodes.output.credentials import SOURCE_TYPE
from nodes.output.signing_key import CHAIN_FILE, DEFAULT_FOLDER, KEY_FILE, _self_issued
from tests.conftest import REPO

DEMO, IMAGES = REPO / "graphs" / "demo.json", REPO / "graphs" / "portrait_to_images.json"


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("REENACT_STATE_DIR", str(folder))
    return folder


def render(out, *settings, graph=DEMO):
    return main(["run", str(graph), "--frames", "8", "--quiet", "--set", f"out.path={out}",
                 *(s for setting in settings for s in ("--set", setting))])


def test_a_written_video_carries_a_valid_manifest_and_detect_reports_it(tmp_path, state_dir, capsys):
    out = tmp_path / "clip.mp4"
    assert render(out) == 0
    found = detect_file(out).credentials
    assert found.valid and found.state == "Valid"  # intact; the self-issued signer is on no trust list
    assert found.generator.startswith("Reenact Studio") and SOURCE_TYPE.endswith(found.source_type)
    assert found.signer == "Reenact Studio local signer, Reenact Studio (local, self-issued)"
    assert found.title == "clip.mp4"  # the final name, not the partial file's that was signed
    capsys.readouterr()
    assert main(["detect", str(out)]) == 0
    assert ("content credentials: valid; generator Reenact Studio" in capsys.readouterr().out)
    assert not list(tmp_path.glob(".*"))  # no partial or signing file left beside it


def test_written_images_carry_a_manifest_and_keep_their_marks(tmp_path, state_dir):
    assert render(tmp_path / "frames", graph=IMAGES) == 0
    found = detect_file(tmp_path / "frames" / "frame_000000.png")
    assert found.marked and "Reenact Studio synthetic output" in found.tag
    assert found.credentials.valid and found.credentials.source_type == "compositeWithTrainedAlgorithmicMedia"


def test_the_default_key_is_made_once_and_readable_only_by_its_owner(tmp_path, state_dir):
    assert render(tmp_path / "a.mp4") == 0
    folder = state_dir / DEFAULT_FOLDER
    chain = (folder / CHAIN_FILE).read_bytes()
    assert stat.S_IMODE((folder / KEY_FILE).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert render(tmp_path / "b.mp4") == 0
    assert (folder / CHAIN_FILE).read_bytes() == chain


def test_the_users_own_key_signs_instead(tmp_path, state_dir):
    chain, key = _self_issued()  # stands in for a key from a real CA
    (tmp_path / "mine.pem").write_bytes(chain)
    (tmp_path / "mine.key").write_bytes(key)
    out = tmp_path / "clip.mp4"
    assert render(out, f"out.signing_cert={tmp_path / 'mine.pem'}", f"out.signing_key={tmp_path / 'mine.key'}") == 0
    assert detect_file(out).credentials.valid
    assert not state_dir.exists()  # the default key was never made


def test_a_key_that_cannot_sign_stops_the_run_before_the_first_frame(tmp_path, state_dir, capsys):
    (tmp_path / "cert.pem").write_text("not a certificate")
    (tmp_path / "key.pem").write_bytes(_self_issued()[1])
    out = tmp_path / "clip.mp4"
    assert render(out, f"out.signing_cert={tmp_path / 'cert.pem'}", f"out.signing_key={tmp_path / 'key.pem'}") == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'cert.pem'}: not a PEM certificate" in err and "stopped before the first frame" in err
    assert not out.exists() and "Traceback" not in err


def test_a_signing_failure_is_a_notice_and_the_file_is_kept(tmp_path, state_dir, capsys, monkeypatch):
    def refuse(self, source, dest, signer=None):
        raise c2pa.C2paError("simulated failure")

    monkeypatch.setattr(c2pa.Builder, "sign_file", refuse)
    out = tmp_path / "clip.mp4"
    assert render(out) == 0
    assert f"{out}: content credentials not added (c2pa could not sign it: simulated failure); the file is " \
           "kept without them" in capsys.readouterr().err
    found = detect_file(out)
    assert found.marked and found.credentials is None and not list(tmp_path.glob(".*"))


def test_a_format_c2pa_cannot_embed_into_is_written_with_a_notice(tmp_path, state_dir, capsys):
    out = tmp_path / "clip.webm"
    assert render(out) == 0
    assert "c2pa cannot embed content credentials into .webm files" in capsys.readouterr().err
    assert out.is_file()


def test_a_changed_file_is_reported_as_not_valid(tmp_path, state_dir, capsys):
    out = tmp_path / "clip.mp4"
    assert render(out) == 0
    data = bytearray(out.read_bytes())
    at = data.index(b"mdat") + 2000  # inside the encoded frames
    data[at:at + 16] = bytes(16)
    out.write_bytes(bytes(data))
    found = detect_file(out).credentials
    assert not found.valid and found.problems
    capsys.readouterr()
    main(["detect", str(out)])
    assert "content credentials: NOT valid (" in capsys.readouterr().out


def test_without_a_usable_state_folder_files_are_written_without_credentials(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "state"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("REENACT_STATE_DIR", str(blocker))
    out = tmp_path / "clip.mp4"
    assert render(out) == 0
    err = capsys.readouterr().err
    assert "files are written without content credentials: " in err and "cannot create the default signing key" in err
    found = detect_file(out)
    assert found.marked and found.credentials is None


def test_without_the_signing_packages_every_image_is_written_with_one_notice(tmp_path, state_dir, monkeypatch,
                                                                              capsys):
    monkeypatch.setitem(sys.modules, "cryptography", None)  # as if never installed
    frames = tmp_path / "frames"
    assert render(frames, graph=IMAGES) == 0
    err = capsys.readouterr().err
    assert err.count("files are written without content credentials: signing needs the Python package "
                     "'cryptography'") == 1 and "pip install c2pa-python cryptography" in err
    assert len(list(frames.glob("*.png"))) == 8
