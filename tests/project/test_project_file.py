"""The project file: found walking up like ruff and pytest do, read with clear errors, and every command gives the
same answer from the project root, a sub-folder of it, and from outside it (issue 17: 9x JD601 from a team folder,
`diff x.journey@HEAD x.journey` failing)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diagnostics import Severity
from journeydsl.project_file import (
    PROJECT_FILE_CODE,
    discovery_start,
    find_project_file,
    load_config,
    parse_config,
    rebase,
)

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


# --------------------------------------------------------------------------- finding the file


def test_the_nearest_project_file_wins_walking_up(tmp_path: Path) -> None:
    (tmp_path / "journeydsl.toml").write_text('sources = ["a"]\n')
    (tmp_path / "team" / "sub").mkdir(parents=True)
    (tmp_path / "team" / "journeydsl.toml").write_text('sources = ["b"]\n')
    assert find_project_file(tmp_path / "team" / "sub") == (tmp_path / "team" / "journeydsl.toml", [])
    assert load_config(tmp_path / "team" / "sub").sources == ("b",)
    assert load_config(tmp_path).sources == ("a",)


def test_a_pyproject_counts_only_with_its_tool_table(tmp_path: Path) -> None:
    (tmp_path / "journeydsl.toml").write_text('templates = "outer"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no [tool.journeydsl]: walk on
    assert load_config(inner).templates == "outer"
    (inner / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.journeydsl]\ntemplates = "msgs"\n')
    config = load_config(inner)
    assert (config.file, config.templates, config.root) == (inner / "pyproject.toml", "msgs", inner.resolve())


def test_both_files_in_one_folder_journeydsl_toml_wins_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "journeydsl.toml").write_text('templates = "a"\n')
    (tmp_path / "pyproject.toml").write_text('[tool.journeydsl]\ntemplates = "b"\n')
    config = load_config(tmp_path)
    assert config.templates == "a"
    (note,) = config.diagnostics
    assert note.severity is Severity.INFO and "journeydsl.toml wins" in note.message


def test_a_broken_pyproject_counts_only_when_it_names_the_table(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = 1\n")  # broken, but not ours: walk on
    assert not load_config(tmp_path, fallback_root=tmp_path).found
    (tmp_path / "pyproject.toml").write_text("[tool.journeydsl]\nstrict = yes\n")
    config = load_config(tmp_path)
    assert config.found and config.has_errors
    (diag,) = config.diagnostics
    assert diag.span is not None and (diag.span.file, diag.span.line) == ("pyproject.toml", 2)


def test_without_a_project_file_the_defaults_apply_at_the_fallback_root(tmp_path: Path) -> None:
    config = load_config(tmp_path / "nowhere", fallback_root=tmp_path)
    assert not config.found and config.root == tmp_path.resolve()
    assert (config.sources, config.templates, config.strict, config.min_coverage) == (
        ("journeys",),
        "templates",
        False,
        None,
    )


def test_the_walk_starts_where_the_paths_meet(tmp_path: Path) -> None:
    (tmp_path / "a" / "x").mkdir(parents=True)
    (tmp_path / "a" / "y").mkdir()
    (tmp_path / "a" / "x" / "f.journey").write_text("")
    assert discovery_start(["a/x/f.journey", "a/y"], tmp_path) == (tmp_path / "a").resolve()
    assert discovery_start(["a/x/f.journey@HEAD~1"], tmp_path) == (tmp_path / "a" / "x").resolve()
    assert discovery_start([], tmp_path) == tmp_path


def test_rebase_names_paths_from_the_root(tmp_path: Path) -> None:
    root, sub = tmp_path, tmp_path / "journeys"
    sub.mkdir()
    assert rebase("x.journey", sub, root) == "journeys/x.journey"
    assert rebase("x.journey@HEAD", sub, root) == "journeys/x.journey@HEAD"
    assert rebase(".", sub, root) == "journeys"
    assert rebase("../out", sub, root) == "out"
    assert rebase("/elsewhere/y.journey", sub, root) == "/elsewhere/y.journey"
    assert rebase("./x.journey", root, root) == "./x.journey"  # at the root: as typed


def test_a_relative_sqlite_store_is_relative_to_the_root(tmp_path: Path) -> None:
    (tmp_path / "journeydsl.toml").write_text('store = "sqlite:///state/j.db"\n')
    assert load_config(tmp_path).store_url() == f"sqlite:///{tmp_path.resolve()}/state/j.db"
    (tmp_path / "journeydsl.toml").write_text('store = "sqlite:////abs/j.db"\n')
    assert load_config(tmp_path).store_url() == "sqlite:////abs/j.db"


# --------------------------------------------------------------------------- bad project files


def test_a_toml_syntax_error_has_its_line_and_column() -> None:
    _, (diag,) = parse_config('sources = ["journeys"]\ntemplates = templates\n', "journeydsl.toml")
    assert diag.code is PROJECT_FILE_CODE and diag.span is not None
    assert (diag.span.file, diag.span.line, diag.span.col) == ("journeydsl.toml", 2, 13)
    assert "not valid TOML" in diag.message and "(at line" not in diag.message


def test_an_unknown_key_gets_did_you_mean_at_its_line() -> None:
    text = 'sources = ["journeys"]\n\n  min_coverage = 80\n'
    _, (diag,) = parse_config(text, "journeydsl.toml")
    assert diag.message == "unknown key `min_coverage` in journeydsl.toml"
    assert diag.hint == "did you mean `min-coverage`?"
    assert diag.span is not None and (diag.span.line, diag.span.col) == (3, 3)


def test_an_unknown_key_in_the_pyproject_table_is_found_in_that_table() -> None:
    text = '[project]\ntempaltes = 1\n\n[tool.journeydsl]\nstrict = true\ntempaltes = "t"\n'
    settings, (diag,) = parse_config(text, "pyproject.toml", ("tool", "journeydsl"))
    assert settings == {"strict": True}
    assert diag.span is not None and diag.span.line == 6 and "[tool.journeydsl]" in diag.message


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('sources = "journeys"', "`sources` must be a non-empty list"),
        ("sources = []", "not an empty list"),
        ('min-coverage = "80"', "`min-coverage` must be a number of percent"),
        ("min-coverage = 101", "not the number 101"),
        ('strict = "yes"', "`strict` must be true or false"),
        ('store = "state.db"', "`store` must be a store URL"),
        ("templates = 3", "`templates` must be a folder path"),
        ('[sources]\nx = "y"', "must be a non-empty list"),
    ],
)
def test_a_value_of_the_wrong_type_says_what_it_must_be(line: str, says: str) -> None:
    _, diags = parse_config(line + "\n", "journeydsl.toml")
    assert len(diags) == 1 and says in diags[0].message, diags
    assert diags[0].span is not None and diags[0].span.line == 1


def test_a_bad_project_file_stops_every_command_with_its_diagnostic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "journeydsl.toml").write_text('sources = ["journeys"]\ntempaltes = "t"\n')
    monkeypatch.chdir(tmp_path)
    for args in (["check"], ["render", "-o", "out"], ["test"], ["fmt"], ["build", "-o", "b.jbundle"]):
        code, out, err = cli(*args)
        assert code == 1, (args, out, err)
        assert "journeydsl.toml:2:1: error[JD090 project-file]: unknown key `tempaltes`" in out + err
        assert "did you mean `templates`?" in out + err
        assert "Traceback" not in out + err
    code, out, _ = cli("check", "--format", "github")
    assert code == 1 and out.startswith("::error file=journeydsl.toml,line=2,col=1,")


# --------------------------------------------------------------------------- commands from any folder


@pytest.fixture()
def team(tmp_path: Path) -> Path:
    """A repository holding a team's project in a folder of its own: journeys, templates and the project file,
    committed to git so `FILE@REV` works."""
    repo = tmp_path / "repo"
    project = repo / "teams" / "retail"
    (project / "journeys").mkdir(parents=True)
    for name in ("customer.journey", "abandoned_cart.journey", "abandoned_cart.scenario.yaml", "win_back.journey.yaml"):
        shutil.copy(REPO / "journeys" / name, project / "journeys" / name)
    shutil.copytree(REPO / "templates" / "messages", project / "msgs" / "messages")
    (project / "journeydsl.toml").write_text('sources = ["journeys"]\ntemplates = "msgs"\nmin-coverage = 40\n')
    # Unrelated templates where the repository root is: the old behaviour found these from there.
    (repo / "templates" / "messages" / "email").mkdir(parents=True)
    (repo / "templates" / "messages" / "email" / "unrelated.j2").write_text("Subject: x\n\ny\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "init"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env, capture_output=True, timeout=60)
    text = (project / "journeys" / "abandoned_cart.journey").read_text()
    (project / "journeys" / "abandoned_cart.journey").write_text(
        text.replace("after 1h -> remind", "after 90m -> remind")
    )
    return project


@pytest.mark.parametrize("where", ["root", "journeys", "msgs/messages", "outside"])
def test_check_is_the_same_from_any_folder(team: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if where == "outside":
        monkeypatch.chdir(team.parents[2])
        code, out, err = cli("check", "repo/teams/retail/journeys")
    else:
        monkeypatch.chdir(team if where == "root" else team / where)
        code, out, err = cli("check")
    assert code == 0, out + err
    assert "JD601" not in out
    assert "0 errors, 0 warnings" in out
    # paths in diagnostics are relative to the project root
    assert "journeys/win_back.journey.yaml:" in out and "retail/journeys" not in out


def test_a_file_named_from_a_sub_folder_is_named_from_the_root(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(team / "journeys")
    code, out, _ = cli("check", "win_back.journey.yaml")
    assert code == 0 and out.startswith("journeys/win_back.journey.yaml:")


@pytest.mark.parametrize("where", ["journeys", "outside"])
def test_render_finds_the_project_from_a_sub_folder_and_from_outside(
    team: Path, where: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    out_dir = tmp_path / "diagrams"
    if where == "outside":
        monkeypatch.chdir(tmp_path)
        code, out, err = cli("render", "repo/teams/retail/journeys", "-o", "diagrams", "--format", "dot")
    else:
        monkeypatch.chdir(team / where)
        code, out, err = cli("render", "-o", str(out_dir), "--format", "dot")
    assert code == 0, out + err
    assert sorted(p.name for p in out_dir.iterdir()) == ["abandoned_cart.dot", "win_back.dot"]
    assert Path.cwd() == (tmp_path if where == "outside" else team / where)  # the command went back


@pytest.mark.parametrize("where", ["journeys", "root", "outside"])
def test_diff_against_git_works_from_any_folder(team: Path, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if where == "outside":
        monkeypatch.chdir(team.parents[2])
        spec = "repo/teams/retail/journeys/abandoned_cart.journey"
    else:
        monkeypatch.chdir(team / where if where != "root" else team)
        spec = "abandoned_cart.journey" if where == "journeys" else "journeys/abandoned_cart.journey"
    code, out, err = cli("diff", f"{spec}@HEAD", spec)
    assert code == 0, out + err
    assert out.startswith("--- journeys/abandoned_cart.journey@HEAD\n+++ journeys/abandoned_cart.journey\n")
    assert "after 1h => after 90m" in out


def test_templates_typed_in_a_sub_folder_are_found_from_there(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (team / "journeydsl.toml").write_text('sources = ["journeys"]\ntemplates = "nowhere"\n')
    monkeypatch.chdir(team / "journeys")
    code, out, _ = cli("check")
    assert code == 1 and "looked for nowhere/messages/email/" in out
    code, out, _ = cli("check", "--templates", "../msgs")
    assert code == 0, out


def test_test_uses_the_sources_and_the_coverage_minimum(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(team / "msgs")
    code, out, err = cli("test")
    assert code == 0, out + err
    assert "PASS journeys/abandoned_cart.scenario.yaml:" in out
    (team / "journeydsl.toml").write_text('sources = ["journeys"]\ntemplates = "msgs"\nmin-coverage = 100\n')
    code, out, _ = cli("test", "../journeys/abandoned_cart.scenario.yaml", "../journeys/customer.journey")
    assert code == 0, out  # the scenarios cover abandoned_cart fully
    code, out, _ = cli("test")
    assert code == 1 and "coverage below 100%" in out  # win_back has no scenario here


def test_strict_in_the_project_file_makes_warnings_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "journeys").mkdir()
    shutil.copy(REPO / "journeys" / "customer.journey", tmp_path / "journeys")
    (tmp_path / "journeys" / "j.journey").write_text(
        'journey j {\n  version 1\n  owner "a@b.c"\n  uses customer\n  entry on order_placed\n'
        "  goal bought on order_placed within 1d\n"
        "  stage s {\n    step a { -> b }\n    step b { end done }\n    step orphan { end done }\n  }\n}\n"
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "journeydsl.toml").write_text("strict = false\n")
    code, out, _ = cli("check")
    assert code == 0 and "warning[" in out, out
    (tmp_path / "journeydsl.toml").write_text("strict = true\n")
    assert cli("check")[0] == 1
    assert cli("check", "--no-strict")[0] == 0


def test_outside_any_project_a_command_without_paths_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("check")
    assert code == 2 and "journeydsl init" in err


def test_build_signs_with_the_projects_key_and_verify_uses_its_public_key(
    team: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(team)
    assert cli("keygen", "-o", "keys/team")[0] == 0
    (team / "journeydsl.toml").write_text(
        'sources = ["journeys"]\ntemplates = "msgs"\nsigning-key = "keys/team.key"\npublic-key = "keys/team.pub"\n'
    )
    monkeypatch.chdir(team / "journeys")
    code, out, err = cli("build", "-o", "../b.jbundle")
    assert code == 0, out + err
    assert "signed    yes" in out
    code, out, err = cli("verify", "../b.jbundle")
    assert code == 0 and "signer    ed25519:" in out, out + err
    assert cli("keygen", "-o", "../keys/other")[0] == 0
    (team / "journeydsl.toml").write_text('sources = ["journeys"]\npublic-key = "keys/other.pub"\n')
    code, _, err = cli("verify", "../b.jbundle")
    assert code == 1 and "REFUSED" in err
