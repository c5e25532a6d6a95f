"""The key that signs content credentials: the user's own certificate chain and private key, or by
default a local one made once under the state folder.

C2PA refuses a self-signed signing certificate (the signer must be issued by a CA), so the default is a
small local CA that issues one signing certificate: both made here, kept together, and trusted by no one
else. A file signed with it proves it has not changed since this installation signed it, not who made it.
"""
from __future__ import annotations

import datetime
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.runtime.errors import ReenactError

DEFAULT_FOLDER = "content-credentials"  # below Options.state_dir
CHAIN_FILE, KEY_FILE = "chain.pem", "key.pem"
_ORGANIZATION = "Reenact Studio (local, self-issued)"


@dataclass(frozen=True)
class SigningKey:
    chain: bytes  # PEM: the signing certificate first, then its issuers
    key: bytes  # PEM private key
    algorithm: str  # the C2PA name: es256, es384, es512, ps256 or ed25519
    where: str  # for messages: where it came from
    self_issued: bool  # the studio's default local key


def load_key(cert: Path, key: Path) -> SigningKey:
    """The user's certificate chain (PEM) and private key (PEM, unencrypted). ReenactError when either
    cannot be read or they do not belong together."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    chain, private = _read(cert, "certificate"), _read(key, "private key")
    try:
        leaf = x509.load_pem_x509_certificates(chain)[0]
    except ValueError:
        raise ReenactError("not a PEM certificate", where=str(cert),
                           hint="give the signing certificate (and its issuers) in PEM form") from None
    try:
        loaded = serialization.load_pem_private_key(private, password=None)
    except (ValueError, TypeError) as exc:
        raise ReenactError(f"cannot use the private key: {exc}", where=str(key),
                           hint="give an unencrypted PEM private key (PKCS#8 or traditional)") from None
    if _public(loaded.public_key()) != _public(leaf.public_key()):
        raise ReenactError("the private key does not belong to the certificate", where=f"{cert} and {key}",
                           hint="give the key the certificate was issued for")
    return SigningKey(chain, private, _algorithm(loaded, key), f"{cert} (user's key)", self_issued=False)


def default_key(state_dir: Path) -> SigningKey:
    """The local self-issued key under state_dir, made on first use (the private key readable only by
    its owner). Two runs making it at once both end up with the one that was renamed into place first."""
    folder = state_dir / DEFAULT_FOLDER
    if not (folder / KEY_FILE).is_file():
        _create(folder)
    key = load_key(folder / CHAIN_FILE, folder / KEY_FILE)
    return SigningKey(key.chain, key.key, key.algorithm, f"{folder} (self-issued default)", self_issued=True)


def _create(folder: Path) -> None:
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".credentials-", dir=folder.parent))  # mode 0700
        try:
            chain, key = _self_issued()
            (staging / CHAIN_FILE).write_bytes(chain)
            descriptor = os.open(staging / KEY_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(key)
            os.rename(staging, folder)  # atomic; fails if another run got there first
        except OSError:
            if not (folder / KEY_FILE).is_file():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        raise ReenactError(f"cannot create the default signing key: {exc.strerror}", where=str(folder),
                           hint="make the state folder writable (REENACT_STATE_DIR), or give your own "
                                "signing_cert and signing_key") from None


def _self_issued() -> tuple[bytes, bytes]:
    """(chain PEM, key PEM): a local CA and a P-256 signing certificate it issued, valid ten years."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, _ORGANIZATION)])

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=not sign,
                             crl_sign=not sign, encipher_only=False, decipher_only=False)

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def certificate(subject: str, issuer: x509.Name, public, ca: bool) -> x509.CertificateBuilder:
        return (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(issuer).public_key(public)
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
                .add_extension(usage(sign=not ca), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False))

    ca = certificate("Reenact Studio local CA", name("Reenact Studio local CA"), ca_key.public_key(), True)
    ca = ca.sign(ca_key, hashes.SHA256())
    leaf = (certificate("Reenact Studio local signer", ca.subject, key.public_key(), False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    return (leaf.public_bytes(pem) + ca.public_bytes(pem),
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReenactError(f"cannot read the {what}: {exc.strerror}", where=str(path),
                           hint="check the signing_cert and signing_key params") from None


def _public(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _algorithm(private_key, where: Path) -> str:
    """The C2PA signing algorithm for a key: ES256/384/512 by curve, PS256 for RSA, Ed25519."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        found = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}.get(private_key.curve.name)
        if found:
            return found
    if isinstance(private_key, rsa.RSAPrivateKey):
        return "ps256"
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise ReenactError("this kind of key cannot sign content credentials", where=str(where),
                       hint="use an EC key on P-256, P-384 or P-521, an RSA key, or an Ed25519 key")
