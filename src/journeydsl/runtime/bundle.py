"""The bundle READER: the runtime's only door to compiled journeys (docs/bundle-format.md).

`load_bundle` takes a `.jbundle` file (deterministic tar.gz), a directory with
the same entries, or an in-memory {path: bytes} mapping, and refuses anything
it cannot vouch for: a file whose sha256 differs from the manifest, a missing
or extra file, a manifest that does not match its revision, a bad signature,
an unsigned bundle when a public key is given, a format it does not know.

This module imports only the standard library, `cryptography`, (when
present) `orjson` and the runtime's own plan format (plan_format.py, checked by
plan_schema.py): nothing from the compiler's front end. The writer in
`journeydsl.compile.bundle` imports the format helpers from here, so the two
sides cannot disagree on canonical JSON, the revision or the gzip header.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import tarfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from journeydsl.runtime.plan_format import FORMAT, IndexJson, PlanJson
from journeydsl.runtime.plan_schema import PlanFormatError, validate_index, validate_plan

try:  # orjson parses plans several times faster; the stdlib is the fallback
    import orjson

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - orjson is a dependency, but the runtime must not need it

    def _loads(data: bytes) -> Any:
        return json.loads(data.decode("utf-8"))


MANIFEST = "manifest.json"
SIGNATURES = "signatures.json"
INDEX = "index.json"
SIGNATURE_ALGORITHM = "ed25519"
# The writer emits exactly this gzip header: deflate, FCOMMENT only (so no file name), mtime 0,
# XFL 2 (best compression), OS 255 (unknown); the comment holds the sha256 of everything after it.
# Deflate has redundant encodings (in a run of zeros a copy from distance 1 or 2 gives the same
# bytes), so a changed compressed byte can inflate to identical data; the body hash catches that,
# and pinning the header catches the rest, without depending on the compressor's exact output.
GZIP_HEADER = b"\x1f\x8b\x08\x10\x00\x00\x00\x00\x02\xff"
GZIP_COMMENT_PREFIX = b"jbundle-body-sha256="
MAX_BUNDLE_BYTES = 256 * 1024 * 1024  # decompressed; a bound against gzip bombs
MANIFEST_KEYS = frozenset({"format", "revision", "compiler", "journeys", "files", "created_from"})
MODIFIED = "the bundle was modified after it was built"


class BundleError(Exception):
    """A bundle the runtime refuses; the message says which file and why."""


# --------------------------------------------------------------------------- format helpers (shared with the writer)


def canonical_json(obj: Any) -> bytes:
    """The one JSON encoding of the bundle: sorted keys, compact, UTF-8, trailing newline."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8") + b"\n"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest_revision(manifest: Mapping[str, Any]) -> str:
    """sha256 of the canonical manifest without its `revision`: covers every file's sha256 and the metadata."""
    return sha256_hex(canonical_json({k: v for k, v in manifest.items() if k != "revision"}))


def key_fingerprint(raw_public_key: bytes) -> str:
    """A short, printable name for a signing key."""
    return "ed25519:" + sha256_hex(raw_public_key)[:16]


def load_public_key(key: str | bytes | Path) -> bytes:
    """The raw 32 bytes of an Ed25519 public key given as PEM (text or bytes), hex, raw bytes or a .pub path."""
    data: bytes
    if isinstance(key, Path):
        data = _read_key_file(key)
    elif isinstance(key, str):
        stripped = key.strip()
        if stripped.startswith("-----BEGIN"):
            data = stripped.encode("ascii", "replace")
        elif len(stripped) == 64 and all(c in "0123456789abcdefABCDEF" for c in stripped):
            return bytes.fromhex(stripped)
        else:
            data = _read_key_file(Path(key))
    else:
        data = key
    if len(data) == 32 and not data.startswith(b"-----"):
        return data
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as err:
        raise BundleError(f"the public key is not a PEM Ed25519 public key ({err})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise BundleError("the public key is not an Ed25519 key")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise BundleError(f"cannot read the public key {path}: {err.strerror}") from None


# --------------------------------------------------------------------------- the loaded bundle


@dataclass(frozen=True)
class Bundle:
    """A verified bundle. `templates` is keyed by bundle path: `templates/messages/<channel>/<name>.j2`."""

    manifest: dict[str, Any]
    index: IndexJson
    # Each plan checked against plan_format.PlanJson; kept as plain dicts here, as rollout.py and the command line
    # pass them on (`plan()` gives one typed).
    plans: dict[tuple[str, int], dict[str, Any]]
    templates: dict[str, str]
    files: dict[str, bytes] = field(repr=False)
    signer: str | None = None  # hex of the raw public key whose signature verified, None when unsigned

    @property
    def revision(self) -> str:
        return str(self.manifest["revision"])

    @property
    def latest(self) -> dict[str, int]:
        return dict(self.index.get("latest", {}))

    def plan(self, journey: str, version: int | None = None) -> PlanJson:
        """One plan; the latest version of the journey when `version` is None."""
        if version is None:
            version = self.latest[journey]
        return cast(PlanJson, self.plans[(journey, version)])  # checked when the bundle loaded

    def template(self, channel: str, name: str) -> str | None:
        return self.templates.get(f"templates/messages/{channel}/{name}.j2")


# --------------------------------------------------------------------------- reading the container


def _gunzip(blob: bytes, where: str) -> bytes:
    if len(blob) < len(GZIP_HEADER) + 8 or blob[:2] != GZIP_HEADER[:2]:
        raise BundleError(f"{where}: not a bundle (not a gzip file)")
    if blob[: len(GZIP_HEADER)] != GZIP_HEADER:
        raise BundleError(f"{where}: unexpected gzip header: {MODIFIED} (or not written by journeydsl build)")
    comment_end = blob.find(b"\x00", len(GZIP_HEADER))
    comment = blob[len(GZIP_HEADER) : comment_end] if comment_end > 0 else b""
    body = blob[comment_end + 1 :]
    if not comment.startswith(GZIP_COMMENT_PREFIX):
        raise BundleError(f"{where}: unexpected gzip header: {MODIFIED} (or not written by journeydsl build)")
    if comment[len(GZIP_COMMENT_PREFIX) :] != sha256_hex(body).encode("ascii"):
        raise BundleError(f"{where}: the compressed data does not match its sha256: {MODIFIED}")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, MAX_BUNDLE_BYTES + 1)
    except zlib.error as err:
        raise BundleError(f"{where}: corrupt compressed data ({err}): {MODIFIED}") from None
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(f"{where}: larger than {MAX_BUNDLE_BYTES} bytes uncompressed; refusing it")
    if not inflater.eof:
        raise BundleError(f"{where}: truncated compressed data: {MODIFIED}")
    trailer = inflater.unused_data
    if len(trailer) != 8:
        raise BundleError(f"{where}: unexpected bytes after the compressed data: {MODIFIED}")
    crc, size = struct.unpack("<II", trailer)
    if crc != zlib.crc32(data) or size != len(data) & 0xFFFFFFFF:
        raise BundleError(f"{where}: gzip checksum mismatch: {MODIFIED}")
    return data


def _entry_name(name: str, where: str) -> str:
    path = PurePosixPath(name)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or not parts or ".." in parts or "\\" in name:
        raise BundleError(f"{where}: unsafe entry name {name!r}")
    return "/".join(parts)


def read_tar_gz(blob: bytes, where: str = "bundle") -> dict[str, bytes]:
    """The entries of a `.jbundle`: regular files only; directory entries are ignored."""
    data = _gunzip(blob, where)
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                if member.isdir():
                    continue
                name = _entry_name(member.name, where)
                if not member.isfile():
                    raise BundleError(f"{where}: {name} is not a regular file")
                if name in files:
                    raise BundleError(f"{where}: {name} appears twice")
                handle = tar.extractfile(member)
                if handle is None:  # pragma: no cover - isfile() members always have data
                    raise BundleError(f"{where}: cannot read {name}")
                files[name] = handle.read()
    except tarfile.TarError as err:
        raise BundleError(f"{where}: not a valid tar archive ({err}): {MODIFIED}") from None
    return files


def read_directory(root: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    try:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    except OSError as err:
        raise BundleError(f"{root}: cannot read the bundle ({err.strerror})") from None
    return files


def read_source(source: str | Path | Mapping[str, bytes]) -> dict[str, bytes]:
    if isinstance(source, Mapping):
        return {_entry_name(str(k), "bundle"): bytes(v) for k, v in source.items()}
    path = Path(source)
    if path.is_dir():
        return read_directory(path)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"{path}: no such bundle file or directory") from None
    except OSError as err:
        raise BundleError(f"{path}: cannot read the bundle ({err.strerror})") from None
    return read_tar_gz(blob, str(path))


# --------------------------------------------------------------------------- verification


def _json(files: Mapping[str, bytes], name: str) -> Any:
    try:
        return _loads(files[name])
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{name}: not valid JSON ({err}): {MODIFIED}") from None


def _check_manifest(files: Mapping[str, bytes]) -> dict[str, Any]:
    if MANIFEST not in files:
        raise BundleError(f"{MANIFEST} is missing: not a journeydsl bundle")
    manifest = _json(files, MANIFEST)
    if not isinstance(manifest, dict):
        raise BundleError(f"{MANIFEST}: not a JSON object: {MODIFIED}")
    if manifest.get("format") != FORMAT:
        raise BundleError(f"unsupported bundle format {manifest.get('format')!r} (this runtime reads format {FORMAT})")
    if set(manifest) != MANIFEST_KEYS:
        odd = sorted(set(manifest) ^ MANIFEST_KEYS)
        raise BundleError(f"{MANIFEST}: unexpected or missing keys {odd}: {MODIFIED}")
    if canonical_json(manifest) != files[MANIFEST]:
        raise BundleError(f"{MANIFEST}: not in canonical form: {MODIFIED}")
    if manifest["revision"] != manifest_revision(manifest):
        raise BundleError(f"{MANIFEST}: the revision does not match the manifest's content: {MODIFIED}")
    listed = manifest["files"]
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise BundleError(f"{MANIFEST}: `files` is not a map of path -> sha256: {MODIFIED}")
    journeys = manifest["journeys"]
    if not isinstance(journeys, list) or not all(
        isinstance(j, dict) and isinstance(j.get("id"), str) and type(j.get("version")) is int for j in journeys
    ):
        raise BundleError(f"{MANIFEST}: `journeys` is not a list of {{id, version, …}}")
    return manifest


def _check_files(files: Mapping[str, bytes], listed: Mapping[str, str]) -> None:
    present = set(files) - {MANIFEST, SIGNATURES}
    for name in sorted(set(listed) - present):
        raise BundleError(f"{name}: listed in {MANIFEST} but missing from the bundle")
    for name in sorted(present - set(listed)):
        raise BundleError(f"{name}: not listed in {MANIFEST}: an extra file was added to the bundle")
    for name in sorted(listed):
        if sha256_hex(files[name]) != listed[name]:
            raise BundleError(f"{name}: sha256 mismatch: {MODIFIED}")


def _check_signature(files: Mapping[str, bytes], public_key: str | bytes | Path | None) -> str | None:
    """Verify signatures.json when present (always against its own key); match it to `public_key` when given."""
    wanted = None if public_key is None else load_public_key(public_key)
    if SIGNATURES not in files:
        if wanted is not None:
            raise BundleError(
                f"the bundle is not signed (no {SIGNATURES}) but a public key was given: refusing it; "
                "build it with `journeydsl build --sign KEY`"
            )
        return None
    sig = _json(files, SIGNATURES)
    if not isinstance(sig, dict) or set(sig) != {"algorithm", "public_key", "signature"}:
        raise BundleError(f"{SIGNATURES}: unexpected content: the bundle was modified after it was signed")
    if canonical_json(sig) != files[SIGNATURES]:
        raise BundleError(f"{SIGNATURES}: not in canonical form: the bundle was modified after it was signed")
    if sig["algorithm"] != SIGNATURE_ALGORITHM:
        raise BundleError(f"{SIGNATURES}: unsupported signature algorithm {sig['algorithm']!r}")
    try:
        raw_key = bytes.fromhex(sig["public_key"])
        signature = bytes.fromhex(sig["signature"])
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, files[MANIFEST])
    except (ValueError, TypeError, InvalidSignature):
        raise BundleError(
            f"{SIGNATURES}: the signature does not verify: the bundle was modified after it was signed"
        ) from None
    if wanted is not None and raw_key != wanted:
        raise BundleError(
            f"the bundle is signed by another key ({key_fingerprint(raw_key)}), "
            f"not by the given public key ({key_fingerprint(wanted)}): refusing it"
        )
    return raw_key.hex()


def _plans(files: Mapping[str, bytes], manifest: Mapping[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
    plans: dict[tuple[str, int], dict[str, Any]] = {}
    for entry in manifest["journeys"]:
        ident, version = entry["id"], entry["version"]
        name = f"journeys/{ident}/{version}/plan.json"
        if name not in files:
            raise BundleError(f"{name}: the manifest lists journey {ident} v{version} but it has no plan")
        plan = _json(files, name)
        if not isinstance(plan, dict) or plan.get("format") != FORMAT:
            raise BundleError(f"{name}: unsupported plan format (this runtime reads format {FORMAT})")
        if plan.get("journey") != ident or plan.get("version") != version:
            raise BundleError(f"{name}: holds {plan.get('journey')} v{plan.get('version')}, not {ident} v{version}")
        # Every field the runtime reads, checked here: a bad plan is refused at load, not mid-stream.
        try:
            validate_plan(plan)
        except PlanFormatError as err:
            raise BundleError(f"{name}: {err}") from None
        plans[(ident, version)] = plan
    return plans


def _check_index(raw: Any, plans: Mapping[tuple[str, int], Any]) -> IndexJson:
    """The index, checked. Only `latest` is read: the `entries`, `exits` and `goals` of bundles written before
    issue 13 are checked for their shape and otherwise left alone (the engine builds those tables from the plans)."""
    try:
        index = validate_index(raw)
    except PlanFormatError as err:
        raise BundleError(f"{INDEX}: {err}") from None
    for journey, version in sorted(index["latest"].items()):
        if (journey, version) not in plans:
            raise BundleError(f"{INDEX}: $.latest: names {journey} v{version}, which the bundle holds no plan of")
    return index


def verify_files(files: Mapping[str, bytes], public_key: str | bytes | Path | None = None) -> Bundle:
    """Verify already-read entries and build the Bundle."""
    manifest = _check_manifest(files)
    _check_files(files, manifest["files"])
    signer = _check_signature(files, public_key)
    raw_index = _json(files, INDEX) if INDEX in files else {"latest": {}}
    plans = _plans(files, manifest)
    index = _check_index(raw_index, plans)
    templates: dict[str, str] = {}
    for name in sorted(files):
        if name.startswith("templates/"):
            try:
                templates[name] = files[name].decode("utf-8")
            except UnicodeDecodeError:
                raise BundleError(f"{name}: a template that is not UTF-8 text") from None
    return Bundle(
        manifest=manifest,
        index=index,
        plans=plans,
        templates=templates,
        files=dict(files),
        signer=signer,
    )


def load_bundle(source: str | Path | Mapping[str, bytes], public_key: str | bytes | Path | None = None) -> Bundle:
    """Load and verify a bundle from a `.jbundle` file, a directory or a {path: bytes} mapping.

    `public_key` (PEM text or bytes, hex of the raw key, or a path to a .pub file) makes a signature
    by exactly that key mandatory. Raises `BundleError` with a clear message on anything it refuses.
    """
    return verify_files(read_source(source), public_key)
