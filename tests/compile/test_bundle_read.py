"""load_bundle refuses every modified, incomplete, padded, unsigned or foreign-signed bundle."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from compile_support import solar_journey
from hypothesis import given
from hypothesis import strategies as st

from journeydsl.compile import compile_project, generate_keypair, sign_files, write_bundle
from journeydsl.compile.bundle import pack_tar_gz
from journeydsl.project import Project
from journeydsl.runtime.bundle import (
    BundleError,
    canonical_json,
    load_bundle,
    manifest_revision,
    read_tar_gz,
    verify_files,
)


@pytest.fixture
def files(project_factory: Callable[..., Project]) -> dict[str, bytes]:
    return compile_project(project_factory(solar_journey(3), solar_journey(4)), ["journeys/"])


@pytest.fixture
def keys() -> tuple[bytes, bytes]:
    return generate_keypair()


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_a_good_bundle_loads_from_mapping_directory_and_file(files: dict[str, bytes], tmp_path: Path) -> None:
    from_map = load_bundle(files)
    from_dir = load_bundle(write_bundle(files, tmp_path / "dir"))
    from_file = load_bundle(str(write_bundle(files, tmp_path / "b.jbundle")))
    assert from_map.manifest == from_dir.manifest == from_file.manifest
    assert from_map.plans == from_file.plans and set(from_map.plans) == {
        ("solar_onboarding", 3),
        ("solar_onboarding", 4),
    }
    assert from_file.template("sms", "nudge_urgent") == "Last chance!\n"
    assert from_file.index["latest"] == {"solar_onboarding": 4}
    assert from_file.signer is None


@pytest.mark.parametrize("signed", [False, True])
def test_one_changed_byte_in_any_file_is_refused(
    files: dict[str, bytes], keys: tuple[bytes, bytes], signed: bool
) -> None:
    bundle = sign_files(files, keys[0]) if signed else files
    key = keys[1] if signed else None
    load_bundle(bundle, key)
    for name, data in bundle.items():
        for at in sorted({0, 1, len(data) // 2, len(data) - 2, len(data) - 1}):
            tampered = {**bundle, name: _flip(data, at)}
            with pytest.raises(BundleError) as info:
                load_bundle(tampered, key)
            assert name.split("/")[0] in str(info.value) or "format" in str(info.value), (name, at, info.value)


def test_tampered_plan_message_names_the_file(files: dict[str, bytes]) -> None:
    name = "journeys/solar_onboarding/3/plan.json"
    changed = files[name].replace(b'"weight":50', b'"weight":90')
    with pytest.raises(BundleError, match=rf"^{name}: sha256 mismatch: the bundle was modified after it was built$"):
        load_bundle({**files, name: changed})


def test_every_byte_of_the_jbundle_file_is_tamper_evident(files: dict[str, bytes], tmp_path: Path) -> None:
    blob = pack_tar_gz(files)
    for at in range(len(blob)):  # in memory: the same reader as load_bundle(path), without 2,000 file writes
        with pytest.raises(BundleError):
            verify_files(read_tar_gz(_flip(blob, at)))
    path = tmp_path / "t.jbundle"
    path.write_bytes(_flip(blob, len(blob) // 2))
    with pytest.raises(BundleError, match="t.jbundle: the compressed data does not match its sha256"):
        load_bundle(path)
    path.write_bytes(blob + b"\x00")
    with pytest.raises(BundleError, match="does not match its sha256"):
        load_bundle(path)
    path.write_bytes(blob[:-1])
    with pytest.raises(BundleError):
        load_bundle(path)


def test_missing_and_extra_files(files: dict[str, bytes]) -> None:
    missing = {n: d for n, d in files.items() if n != "templates/messages/sms/nudge_urgent.j2"}
    with pytest.raises(BundleError, match="nudge_urgent.j2: listed in manifest.json but missing"):
        load_bundle(missing)
    with pytest.raises(BundleError, match="evil.j2: not listed in manifest.json"):
        load_bundle({**files, "templates/messages/email/evil.j2": b"x"})
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_bundle({n: d for n, d in files.items() if n != "manifest.json"})


def test_extra_file_in_a_directory_bundle(files: dict[str, bytes], tmp_path: Path) -> None:
    out = write_bundle(files, tmp_path / "dir")
    (out / "journeys" / "x.json").write_text("{}")
    with pytest.raises(BundleError, match="journeys/x.json: not listed"):
        load_bundle(out)


def test_consistently_rewritten_manifest_still_fails_the_signature(
    files: dict[str, bytes], keys: tuple[bytes, bytes]
) -> None:
    """An attacker who fixes up every hash and the revision is stopped only by the signature: check that it is."""
    signed = sign_files(files, keys[0])
    name = "journeys/solar_onboarding/4/plan.json"
    plan = json.loads(signed[name])
    plan["steps"][0]["actions"] = []
    forged = {**signed, name: canonical_json(plan)}
    manifest = json.loads(signed["manifest.json"])
    import hashlib

    manifest["files"][name] = hashlib.sha256(forged[name]).hexdigest()
    manifest["revision"] = manifest_revision(manifest)
    forged["manifest.json"] = canonical_json(manifest)
    load_bundle({n: d for n, d in forged.items() if n != "signatures.json"})  # unsigned and consistent: loads
    with pytest.raises(BundleError, match="signature does not verify"):
        load_bundle(forged, keys[1])
    with pytest.raises(BundleError, match="not signed"):
        load_bundle({n: d for n, d in forged.items() if n != "signatures.json"}, keys[1])


def test_signed_bundle_verifies_with_its_key_in_every_form(files: dict[str, bytes], keys: tuple[bytes, bytes]) -> None:
    signed = sign_files(files, keys[0])
    bundle = load_bundle(signed, keys[1])
    assert bundle.signer is not None
    assert load_bundle(signed, keys[1].decode()).signer == bundle.signer
    assert load_bundle(signed, bundle.signer).signer == bundle.signer  # hex of the raw key
    assert sign_files(files, keys[0]) == signed  # Ed25519 is deterministic: signed builds are reproducible too


def test_signed_by_another_key_is_refused(files: dict[str, bytes], keys: tuple[bytes, bytes]) -> None:
    other_private, _ = generate_keypair()
    with pytest.raises(BundleError, match="signed by another key"):
        load_bundle(sign_files(files, other_private), keys[1])


def test_unsigned_bundle_refused_when_a_key_is_given(files: dict[str, bytes], keys: tuple[bytes, bytes]) -> None:
    with pytest.raises(BundleError, match="not signed"):
        load_bundle(files, keys[1])


def test_unsupported_format(files: dict[str, bytes]) -> None:
    manifest = json.loads(files["manifest.json"])
    manifest["format"] = 2
    manifest["revision"] = manifest_revision(manifest)
    with pytest.raises(BundleError, match="unsupported bundle format 2"):
        load_bundle({**files, "manifest.json": canonical_json(manifest)})


def test_not_a_bundle(tmp_path: Path) -> None:
    path = tmp_path / "x.jbundle"
    path.write_bytes(b"hello, world")
    with pytest.raises(BundleError, match="not a gzip file"):
        load_bundle(path)
    with pytest.raises(BundleError, match="no such bundle"):
        load_bundle(tmp_path / "missing.jbundle")
    with pytest.raises(BundleError, match="unsafe entry name"):
        load_bundle({"../etc/passwd": b"x"})


def test_bad_public_key(files: dict[str, bytes]) -> None:
    with pytest.raises(BundleError, match="public key"):
        load_bundle(sign_files(files, generate_keypair()[0]), b"-----BEGIN PUBLIC KEY-----\nnope\n")


def test_runtime_reader_imports_no_front_end() -> None:
    import subprocess
    import sys

    code = (
        "import sys, journeydsl.runtime.bundle as b; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('lark', 'yaml', 'graphviz', 'click') "
        "or m.startswith(('journeydsl.syntax', 'journeydsl.check', 'journeydsl.compile'))]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_consistent_outer_hash_but_bad_gzip_checksum_is_refused(files: dict[str, bytes]) -> None:
    """Defence in depth: behind the body hash, the gzip CRC and length are checked too."""
    import hashlib

    from journeydsl.runtime.bundle import GZIP_COMMENT_PREFIX, GZIP_HEADER

    blob = pack_tar_gz(files)
    start = blob.index(b"\x00", len(GZIP_HEADER)) + 1
    body = bytearray(blob[start:])
    body[-8] ^= 0xFF  # first byte of the CRC32
    rehashed = GZIP_HEADER + GZIP_COMMENT_PREFIX + hashlib.sha256(body).hexdigest().encode() + b"\x00" + bytes(body)
    with pytest.raises(BundleError, match="gzip checksum mismatch"):
        read_tar_gz(rehashed)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.update(journeys=7),
        lambda m: m.update(journeys=[{"id": "solar_onboarding", "version": "3"}]),
        lambda m: m.update(files=["index.json"]),
    ],
)
def test_well_hashed_but_malformed_manifest_is_refused_cleanly(files: dict[str, bytes], change: Callable) -> None:
    """Someone who recomputes the revision still gets a BundleError, never a traceback."""
    manifest = json.loads(files["manifest.json"])
    change(manifest)
    manifest["revision"] = manifest_revision(manifest)
    with pytest.raises(BundleError, match="manifest.json"):
        load_bundle({**files, "manifest.json": canonical_json(manifest)})


_BLOB: dict[str, bytes] = {}


def _good_blob() -> bytes:
    """One bundle for the property tests (hypothesis does not mix with function-scoped fixtures)."""
    if "blob" not in _BLOB:
        import tempfile

        from compile_support import make_project, write_templates

        with tempfile.TemporaryDirectory() as tmp:
            project = make_project([solar_journey()], write_templates(Path(tmp)))
            _BLOB["blob"] = pack_tar_gz(compile_project(project, ["journeys/"]))
    return _BLOB["blob"]


@given(st.data())
def test_any_change_of_any_byte_is_refused(data: st.DataObject) -> None:
    blob = _good_blob()
    at = data.draw(st.integers(0, len(blob) - 1))
    xor = data.draw(st.integers(1, 255))
    with pytest.raises(BundleError):
        verify_files(read_tar_gz(blob[:at] + bytes([blob[at] ^ xor]) + blob[at + 1 :]))


@given(st.binary(max_size=400))
def test_arbitrary_bytes_give_a_bundle_error_not_a_traceback(blob: bytes) -> None:
    with pytest.raises(BundleError):
        verify_files(read_tar_gz(blob))
    with pytest.raises(BundleError):
        verify_files(read_tar_gz(_good_blob()[:20] + blob))


def test_plans_load_back_equal_to_the_lowered_ones(files: dict[str, bytes]) -> None:
    from compile_support import customer_schema

    from journeydsl.compile.plan import lower_journey

    bundle = load_bundle(files)
    for version in (3, 4):
        source = f"journeys/solar_onboarding_v{version}.journey"
        assert bundle.plans[("solar_onboarding", version)] == lower_journey(
            solar_journey(version), customer_schema(), source=source
        )


def test_signed_directory_bundle(files: dict[str, bytes], keys: tuple[bytes, bytes], tmp_path: Path) -> None:
    out = write_bundle(sign_files(files, keys[0]), tmp_path / "signed-dir")
    assert (out / "signatures.json").is_file()
    assert load_bundle(out, keys[1]).signer is not None
    (out / "signatures.json").unlink()
    with pytest.raises(BundleError, match="not signed"):
        load_bundle(out, keys[1])
