"""`PATH@REV` revisions are checked before git sees them: no user text ever reaches git as an option."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diff.sources import read_side
from journeydsl.project import check_revision

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "render" / "fixtures"


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository holding solar.journey and its schema, committed once; the working directory."""
    if shutil.which("git") is None:
        pytest.fail("git is needed for PATH@REV")
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(FIXTURES / "customer.journey", root)
    shutil.copy(FIXTURES / "solar_onboarding.journey", root / "x.journey")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", *env, "add", "."], cwd=root, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "one"], cwd=root, check=True)
    monkeypatch.chdir(root)
    return root


def _diff(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diff", *args, "--templates", str(REPO / "templates")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_an_option_as_revision_is_refused_and_writes_nothing(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "p"
    # git would append `:./x.journey` to the option's value: with this folder present, it could write there.
    (tmp_path / "p:.").mkdir()
    code, out, err = _diff(f"x.journey@--output={target}", "x.journey")
    assert code == 1 and out == ""
    assert "cannot start with `-`" in err and "--output" in err
    assert not target.exists() and list((tmp_path / "p:.").iterdir()) == []


@pytest.mark.parametrize(
    "revision",
    ["--output=/tmp/x", "-p", "HEAD:other.journey", "HEAD x", "HEAD\n", "a\x00b", "x" * 300],
    ids=["option", "short-option", "colon", "space", "newline", "nul", "long"],
)
def test_check_revision_refuses(revision: str) -> None:
    problem = check_revision(revision)
    assert problem is not None and "revision" in problem


@pytest.mark.parametrize("revision", ["HEAD", "HEAD~1", "main", "v1.2.0", "feature/x", "a1b2c3d", "HEAD^"])
def test_check_revision_leaves_ordinary_revisions_to_git(revision: str) -> None:
    assert check_revision(revision) is None


def test_revisions_git_cannot_verify_are_refused(repo: Path) -> None:
    for revision in ("no-such-rev", "HEAD..HEAD", "HEAD~5"):
        side = read_side(f"x.journey@{revision}")
        assert side.source is None
        assert [d.code.code for d in side.diagnostics] == ["JD006"], revision
        assert "unknown revision" in side.diagnostics[0].message


def test_a_good_revision_still_reads_through_git(repo: Path) -> None:
    side = read_side("x.journey@HEAD")
    assert side.source is not None and [j.name for j in side.source.journeys] == ["solar_onboarding"]
    code, out, err = _diff("x.journey@HEAD", "x.journey")
    assert code == 0, err
    assert "no semantic differences" in out
