"""`journeydsl build`, `keygen` and `verify` through click's CliRunner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main


@pytest.fixture
def runner(solar_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(solar_dir)  # templates/ is found relative to the current directory
    return CliRunner()


def test_keygen_writes_a_private_key_only_its_owner_can_read(runner: CliRunner) -> None:
    result = runner.invoke(main, ["keygen", "-o", "keys/team"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(Path("keys/team.key").stat().st_mode) == 0o600
    assert Path("keys/team.key").read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert Path("keys/team.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(main, ["keygen", "-o", "keys/team"])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output


def test_build_prints_revision_and_contents(runner: CliRunner) -> None:
    result = runner.invoke(main, ["build", "journeys/", "-o", "build/j.jbundle"])
    assert result.exit_code == 0, result.output
    assert "revision" in result.stdout and "solar_onboarding v3" in result.stdout
    assert "9 (6 templates)" in result.stdout  # manifest, index, one plan, six templates
    assert Path("build/j.jbundle").is_file()
    verify = runner.invoke(main, ["verify", "build/j.jbundle"])
    assert verify.exit_code == 0
    assert "OK" in verify.stdout and "unsigned" in verify.stdout


def test_signed_build_verifies_and_foreign_key_is_refused(runner: CliRunner) -> None:
    assert runner.invoke(main, ["keygen", "-o", "team"]).exit_code == 0
    assert runner.invoke(main, ["keygen", "-o", "other"]).exit_code == 0
    built = runner.invoke(main, ["build", "journeys/", "-o", "out/s.jbundle", "--sign", "team.key"])
    assert built.exit_code == 0, built.output
    assert "signed    yes" in built.stdout
    ok = runner.invoke(main, ["verify", "out/s.jbundle", "--public-key", "team.pub"])
    assert ok.exit_code == 0, ok.output
    assert "signer    ed25519:" in ok.stdout
    wrong = runner.invoke(main, ["verify", "out/s.jbundle", "--public-key", "other.pub"])
    assert wrong.exit_code == 1
    assert "REFUSED" in wrong.stderr and "signed by another key" in wrong.stderr


def test_unsigned_bundle_refused_with_a_key(runner: CliRunner) -> None:
    assert runner.invoke(main, ["keygen", "-o", "team"]).exit_code == 0
    assert runner.invoke(main, ["build", "journeys/", "-o", "out/u.jbundle"]).exit_code == 0
    result = runner.invoke(main, ["verify", "out/u.jbundle", "--public-key", "team.pub"])
    assert result.exit_code == 1 and "not signed" in result.stderr


def test_verify_refuses_a_tampered_directory_bundle(runner: CliRunner) -> None:
    assert runner.invoke(main, ["build", "journeys/", "-o", "out/dir"]).exit_code == 0
    template = Path("out/dir/templates/messages/email/welcome.j2")
    template.write_text(template.read_text() + "click here: http://evil.example\n")
    result = runner.invoke(main, ["verify", "out/dir"])
    assert result.exit_code == 1
    assert "templates/messages/email/welcome.j2: sha256 mismatch: the bundle was modified" in result.stderr


def test_build_refuses_on_errors_and_writes_nothing(runner: CliRunner) -> None:
    source = Path("journeys/solar.journey")
    source.write_text(source.read_text().replace("on contract_signed -> install", "on contract_signd -> install", 1))
    result = runner.invoke(main, ["build", "journeys/", "-o", "out/bad.jbundle"])
    assert result.exit_code == 1
    assert "JD103" in result.stderr and "solar.journey:" in result.stderr
    assert "nothing was written" in result.stderr
    assert not Path("out").exists()


def test_build_needs_paths_and_an_output(runner: CliRunner) -> None:
    assert runner.invoke(main, ["build", "-o", "x.jbundle"]).exit_code == 2
    assert runner.invoke(main, ["build", "journeys/"]).exit_code == 2


def test_build_with_templates_option(runner: CliRunner, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    Path("templates").rename(moved)
    assert runner.invoke(main, ["build", "journeys/", "-o", "a.jbundle"]).exit_code == 1
    result = runner.invoke(main, ["build", "journeys/", "-o", "a.jbundle", "--templates", str(moved)])
    assert result.exit_code == 0, result.output
