"""C2PA content credentials: a signed manifest inside each written file that says a generator made it
(the machine-readable marking the EU AI Act's Article 50 asks of generators), and reading one back.

The digital source type is IPTC's compositeWithTrainedAlgorithmicMedia, not trainedAlgorithmicMedia:
a frame is the target's own captured pixels (photo or video), moved and recombined (body, face, eyes,
mouth from other frames, background plate) under motion that trained models (face, pose and hand
trackers) measured on the driver, and, where the graph has one, retouched by a trained refiner. That is
a composite of captured content and content made by trained models, not media a model generated whole.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Callable

from app.runtime.context import RunContext
from app.runtime.errors import ReenactError, first_line
from app.runtime.schema import Param, ParamKind
from nodes.output.signing_key import SigningKey, default_key, load_key

GENERATOR = "Reenact Studio"
SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
MARKS_LABEL = "org.reenact-studio.marks"  # our own assertion: the watermark scheme and the visible label
SIGNABLE = {".mp4", ".mov", ".png", ".jpg", ".jpeg"}  # of what the studio writes, what c2pa can embed into

SIGNING_PARAMS = (
    Param("signing_cert", ParamKind.PATH, "", "content credentials: your signing certificate chain (PEM, signer "
          "first); empty: a local self-issued key made once under the state folder (trusted by no one else)"),
    Param("signing_key", ParamKind.PATH, "", "content credentials: the private key (unencrypted PEM) of "
          "signing_cert"),
)


UNCHECKED = "Unchecked"  # a Credentials state: c2pa-python is missing, so the file's manifest was not read


@dataclass(frozen=True)
class Credentials:
    """What `reenact detect` reports of a file's manifest."""
    title: str
    generator: str
    source_type: str  # the IPTC term's last part, e.g. compositeWithTrainedAlgorithmicMedia
    signer: str  # the signing certificate's subject: common name and organization
    state: str  # c2pa's validation state: Valid (intact, signer not on a trust list), Trusted, Invalid; or UNCHECKED
    problems: tuple[str, ...]  # validation failure codes, with signingCredential.untrusted left out

    @property
    def valid(self) -> bool:
        return self.state in ("Valid", "Trusted") and not self.problems


class Signer:
    """Signs files with one key for the whole run (the key is loaded and checked once)."""

    def __init__(self, key: SigningKey):
        import c2pa

        self.key = key
        try:
            self._signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(key.algorithm, key.chain, key.key, None))
            self._probe()
        except c2pa.C2paError as exc:
            raise ReenactError(f"c2pa refuses the signing key: {first_line(exc)}", where=key.where,
                               hint="a C2PA signer needs a certificate issued by a CA (not self-signed), with "
                                    "digital-signature key usage") from None

    def _probe(self) -> None:
        """Sign a 1×1 PNG in memory: c2pa checks the certificate only when it signs, and a bad key is
        better refused before the first frame than found after the last."""
        import io

        import c2pa
        from PIL import Image as PILImage

        picture = io.BytesIO()
        PILImage.new("RGB", (1, 1)).save(picture, format="PNG")
        picture.seek(0)
        with c2pa.Builder(_manifest("probe.png", {}), context=_context()) as builder:
            builder.sign(self._signer, "image/png", picture, io.BytesIO())

    def sign(self, path: Path, marks: dict, title: str) -> None:
        """Embed a signed manifest (titled with the file's final name) into the finished file at `path`
        (rewritten beside it, then renamed over it). ReenactError when it cannot be signed; the file is
        then left as it was."""
        import c2pa

        signed = path.with_name(f"{path.stem}.signing{path.suffix}")  # the suffix tells c2pa the format
        try:
            with c2pa.Builder(_manifest(title, marks), context=_context()) as builder:
                builder.sign_file(path, signed, self._signer)
            os.replace(signed, path)
        except (c2pa.C2paError, OSError) as exc:
            raise ReenactError(f"c2pa could not sign it: {first_line(exc)}", where=str(path)) from None
        finally:
            signed.unlink(missing_ok=True)


class Credentialing:
    """One output node's content credentials: its signer, and a notice (once) instead of a lost file when
    a file cannot be signed. A key the user named is loaded when the node opens, so one that cannot sign
    stops the run before the first frame; the default key is made (once per state folder) when the first
    file is signed, so a run that writes nothing leaves nothing behind, and failing only costs the
    credentials."""

    def __init__(self, run: RunContext, params):
        self._run, self._signer, self._told = run, None, False
        self._default = not (params.signing_cert or params.signing_key)
        if not self._default:
            if not (params.signing_cert and params.signing_key):
                raise ReenactError("signing_cert and signing_key go together", hint="set both, or neither "
                                   "for the local self-issued key")
            self._signer = _signer_for(lambda: load_key(run.asset(params.signing_cert), run.asset(params.signing_key)))

    def sign(self, partial: Path, target: Path, marks: dict) -> None:
        """Sign the finished `partial` of `target` before it is renamed into place; never raises for signing."""
        if self._signer is None and self._default:
            self._default = False  # tried once
            try:
                self._signer = _signer_for(lambda: default_key(self._run.options.state_dir))
            except ReenactError as exc:
                self._tell(f"files are written without content credentials: {exc}")
        if self._signer is None:
            return
        if partial.suffix.lower() not in SIGNABLE:
            self._tell(f"{target}: c2pa cannot embed content credentials into {partial.suffix} files, so it is "
                       "written without them (write .mp4 or .mov for credentials)")
            return
        try:
            self._signer.sign(partial, marks, target.name)
        except ReenactError as exc:
            self._tell(f"{target}: content credentials not added ({exc.what}); the file is kept without them")

    def _tell(self, message: str) -> None:
        if not self._told:  # an image sequence would repeat it for every frame
            self._told = True
            self._run.notice(message)


def _signer_for(key: Callable[[], SigningKey]) -> Signer:
    """A signer for the key `key()` loads or makes; ReenactError, not ImportError, where an environment
    was set up without the packages that sign (so the file is kept, without credentials)."""
    try:
        return Signer(key())
    except ImportError as exc:
        raise ReenactError(f"signing needs the Python package '{exc.name}', which is not installed",
                           hint="pip install c2pa-python cryptography (both are dependencies of this project)") from None


def read_credentials(path: Path) -> Credentials | None:
    """The active manifest of a file, or None when it carries none (or c2pa cannot read its format)."""
    try:
        import c2pa
    except ImportError:  # what else `reenact detect` checks (the watermark, the tag) does not need it
        return Credentials("?", "?", "?", "?", UNCHECKED, ("c2pa-python is not installed: pip install c2pa-python",))
    try:
        with c2pa.Reader(path) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or "unknown"
    except c2pa.C2paError.ManifestNotFound:
        return None
    except c2pa.C2paError.NotSupported:
        return None
    except c2pa.C2paError as exc:  # a manifest is there but cannot be read: that is worth saying
        return Credentials("?", "?", "?", "?", "Invalid", (f"unreadable manifest: {first_line(exc)}",))
    manifest = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    info = (manifest.get("claim_generator_info") or [{}])[0]
    generator = " ".join(str(info.get(k, "")) for k in ("name", "version")).strip() or "unknown"
    signature = manifest.get("signature_info", {})
    signer = ", ".join(str(signature[k]) for k in ("common_name", "issuer") if signature.get(k)) or "unknown"
    problems = tuple(status.get("code", "?") for status in store.get("validation_status", [])
                     if status.get("code") != "signingCredential.untrusted")
    return Credentials(str(manifest.get("title", "")), generator, _source_type(manifest), signer, state, problems)


def _source_type(manifest: dict) -> str:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("digitalSourceType"):
                    return str(action["digitalSourceType"]).rsplit("/", 1)[-1]
    return "none given"


def _manifest(title: str, marks: dict) -> dict:
    agent = {"name": GENERATOR, "version": _version()}
    return {
        "claim_generator_info": [agent],
        "title": title,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": SOURCE_TYPE, "softwareAgent": agent}]}},
            {"label": MARKS_LABEL, "data": marks},
        ],
    }


@lru_cache(maxsize=1)
def _context():
    """No thumbnail in the manifest: making one costs ~60 ms per image, signing without it ~5 ms."""
    import c2pa

    return c2pa.Context.from_dict({"builder": {"thumbnail": {"enabled": False}}})


@lru_cache(maxsize=1)
def _version() -> str:
    try:
        return metadata.version("reenact-studio")
    except metadata.PackageNotFoundError:
        return "unknown"
