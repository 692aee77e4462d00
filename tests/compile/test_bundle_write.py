"""compile_project + write_bundle: the entries, the manifest, and byte-identical output."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from compile_support import customer_schema, make_project, solar_journey, write_templates

from journeydsl import __version__
from journeydsl.compile import BuildError, build, compile_project, write_bundle
from journeydsl.compile.bundle import CompileError
from journeydsl.project import Project
from journeydsl.runtime.bundle import GZIP_HEADER, load_bundle, manifest_revision, sha256_hex


def test_entries_and_manifest(project_factory: Callable[..., Project]) -> None:
    files = compile_project(project_factory(), ["journeys/"])
    assert sorted(files) == [
        "index.json",
        "journeys/solar_onboarding/3/plan.json",
        "manifest.json",
        "templates/messages/email/nudge_friendly.j2",
        "templates/messages/email/offer_full.j2",
        "templates/messages/email/offer_small.j2",
        "templates/messages/email/review_request.j2",
        "templates/messages/email/welcome.j2",
        "templates/messages/sms/nudge_urgent.j2",
    ]  # only the templates the journey sends: unused.j2 stays out
    manifest = json.loads(files["manifest.json"])
    assert manifest["format"] == 1
    assert manifest["compiler"] == f"journeydsl {__version__}"
    assert manifest["created_from"] == ["journeys/"]
    assert manifest["files"] == {n: sha256_hex(d) for n, d in files.items() if n != "manifest.json"}
    assert manifest["revision"] == manifest_revision(manifest)
    (entry,) = manifest["journeys"]
    assert entry["id"] == "solar_onboarding" and entry["version"] == 3
    assert entry["source"] == "journeys/solar_onboarding_v3.journey"
    assert entry["source_sha256"] == sha256_hex(b"journey solar_onboarding version 3\n")
    for data in files.values():
        assert data.endswith(b"\n") or not data.startswith(b"{")


def test_several_versions_of_one_journey(project_factory: Callable[..., Project]) -> None:
    files = compile_project(project_factory(solar_journey(3), solar_journey(4, offer_threshold=50)), ["j/"])
    assert "journeys/solar_onboarding/3/plan.json" in files and "journeys/solar_onboarding/4/plan.json" in files
    bundle = load_bundle(files)
    assert set(bundle.plans) == {("solar_onboarding", 3), ("solar_onboarding", 4)}
    assert bundle.latest == {"solar_onboarding": 4}
    assert bundle.plan("solar_onboarding")["version"] == 4
    assert bundle.plan("solar_onboarding", 3)["steps"][1]["flow"]["branches"][0][0][2] == ["lit", 40]
    assert bundle.plan("solar_onboarding", 4)["steps"][1]["flow"]["branches"][0][0][2] == ["lit", 50]


def test_same_version_twice_is_refused(project_factory: Callable[..., Project]) -> None:
    with pytest.raises(CompileError, match="defined twice"):
        compile_project(project_factory(solar_journey(3), solar_journey(3, offer_threshold=50)), [])


def test_missing_template_is_a_diagnostic(tmp_path: Path) -> None:
    project = make_project([solar_journey()], tmp_path / "no-templates")
    with pytest.raises(CompileError) as info:
        compile_project(project, [])
    assert {d.code.code for d in info.value.diagnostics} == {"JD601"}


def test_tar_gz_is_deterministic_and_normalized(project_factory: Callable[..., Project], tmp_path: Path) -> None:
    files = compile_project(project_factory(), ["journeys/"])
    one = write_bundle(files, tmp_path / "a" / "one.jbundle").read_bytes()
    two = write_bundle(compile_project(project_factory(), ["journeys/"]), tmp_path / "b" / "two.jbundle").read_bytes()
    assert one == two
    assert one.startswith(GZIP_HEADER)  # no FNAME flag, mtime 0
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(one)), mode="r:") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(files)
        for m in members:
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)
            handle = tar.extractfile(m)
            assert handle is not None and handle.read() == files[m.name]


def test_directory_bundle_holds_the_same_entries(project_factory: Callable[..., Project], tmp_path: Path) -> None:
    files = compile_project(project_factory(), ["journeys/"])
    out = write_bundle(files, tmp_path / "dir-bundle")
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()} == files
    write_bundle(files, out)  # rebuilding over an existing bundle directory replaces it
    assert load_bundle(out).revision == json.loads(files["manifest.json"])["revision"]


def test_directory_that_is_not_a_bundle_is_not_replaced(
    project_factory: Callable[..., Project], tmp_path: Path
) -> None:
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_bundle(compile_project(project_factory(), []), precious)
    assert (precious / "notes.txt").read_text() == "keep me"


def test_build_from_files_is_byte_identical_across_output_paths(
    solar_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(solar_dir)
    first = build(["journeys/"], tmp_path / "x" / "first.jbundle")
    second = build(["journeys/"], tmp_path / "y" / "z" / "second.jbundle", templates_dir="templates")
    assert first.out.read_bytes() == second.out.read_bytes()
    assert first.revision == second.revision
    assert [j["id"] for j in first.journeys] == ["solar_onboarding"]


def test_build_refuses_on_check_errors_and_writes_nothing(solar_dir: Path, tmp_path: Path) -> None:
    source = solar_dir / "journeys" / "solar.journey"
    source.write_text(source.read_text().replace("-> install\n", "-> instal\n", 1))
    out = tmp_path / "never.jbundle"
    with pytest.raises(BuildError) as info:
        build([solar_dir / "journeys"], out, templates_dir=solar_dir / "templates")
    assert "JD102" in {d.code.code for d in info.value.diagnostics}
    assert not out.exists() and not list(tmp_path.glob(".never*"))


def test_schema_is_taken_from_the_project(tmp_path: Path) -> None:
    project = make_project([solar_journey()], write_templates(tmp_path / "t"))
    plan = json.loads(compile_project(project, [])["journeys/solar_onboarding/3/plan.json"])
    assert plan["schema"]["name"] == customer_schema().name


def test_source_sha256_is_the_file_bytes(solar_dir: Path, tmp_path: Path) -> None:
    import hashlib

    source = solar_dir / "journeys" / "solar.journey"
    result = build([source], tmp_path / "s.jbundle", templates_dir=solar_dir / "templates")
    assert result.journeys[0]["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert result.journeys[0]["source"] == source.as_posix()


def test_build_puts_every_version_named_on_the_command_line_in(solar_dir: Path, tmp_path: Path) -> None:
    from compile_support import SOLAR_DSL

    journey_text = SOLAR_DSL[SOLAR_DSL.index("journey solar_onboarding") :]
    v4 = solar_dir / "journeys" / "solar_v4.journey"
    v4.write_text(journey_text.replace("version 3", "version 4", 1), encoding="utf-8")
    result = build([solar_dir / "journeys"], tmp_path / "two.jbundle", templates_dir=solar_dir / "templates")
    bundle = load_bundle(result.out)
    assert sorted(bundle.plans) == [("solar_onboarding", 3), ("solar_onboarding", 4)]
    assert bundle.index == {"latest": {"solar_onboarding": 4}}
    assert [(j["version"], Path(j["source"]).name) for j in bundle.manifest["journeys"]] == [
        (3, "solar.journey"),
        (4, "solar_v4.journey"),
    ]
