"""Ed25519 keys and bundle signatures (the `cryptography` package).

The signature covers the exact bytes of manifest.json, which hold every
other file's sha256, so one signature vouches for the whole bundle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from journeydsl.runtime.bundle import MANIFEST, SIGNATURE_ALGORITHM, SIGNATURES, canonical_json


class SignError(ValueError):
    """A key that cannot be read or used."""


def generate_keypair() -> tuple[bytes, bytes]:
    """(PKCS8 PEM private key, SubjectPublicKeyInfo PEM public key)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def keygen(name: str | Path) -> tuple[Path, Path]:
    """Write NAME.key (private, mode 0600, never world-readable even for a moment) and NAME.pub."""
    base = Path(name)
    key_path, pub_path = Path(f"{base}.key"), Path(f"{base}.pub")
    for path in (key_path, pub_path):
        if path.exists():
            raise SignError(f"{path} exists already; refusing to overwrite a key")
    if base.parent != Path("."):
        base.parent.mkdir(parents=True, exist_ok=True)
    private_pem, public_pem = generate_keypair()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_pem)
    os.chmod(key_path, 0o600)  # the umask can only remove bits, but be explicit
    pub_path.write_bytes(public_pem)
    return key_path, pub_path


def load_private_key(key: bytes | str | Path) -> Ed25519PrivateKey:
    """A private key from PEM bytes/text or from a path to a PEM file."""
    if isinstance(key, Path) or (isinstance(key, str) and not key.lstrip().startswith("-----BEGIN")):
        try:
            data = Path(key).read_bytes()
        except OSError as err:
            raise SignError(f"cannot read the signing key {key}: {err.strerror}") from None
    else:
        data = key.encode("ascii", "replace") if isinstance(key, str) else key
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise SignError(f"the signing key is not an unencrypted PEM private key ({err})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise SignError("the signing key is not an Ed25519 key (make one with `journeydsl keygen -o NAME`)")
    return private


def sign_files(files: Mapping[str, bytes], private_key_pem: bytes | str | Path) -> dict[str, bytes]:
    """A copy of `files` with signatures.json: an Ed25519 signature over the manifest.json bytes."""
    if MANIFEST not in files:
        raise SignError(f"cannot sign: the bundle has no {MANIFEST}")
    private = load_private_key(private_key_pem)
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signature = private.sign(files[MANIFEST])  # Ed25519 signatures are deterministic
    signed = {name: data for name, data in files.items() if name != SIGNATURES}
    signed[SIGNATURES] = canonical_json(
        {"algorithm": SIGNATURE_ALGORITHM, "public_key": raw_public.hex(), "signature": signature.hex()}
    )
    return signed
