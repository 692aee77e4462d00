"""`journeydsl init`: the scaffold passes check (strict) and test (full coverage) in both forms, and never
overwrites a file unless told to."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.cli.init import FILES, scaffold
from journeydsl.project import load_project

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_the_scaffold_passes_check_and_test(form: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli("init", "shop", "--form", form, "--name", "onboarding")
    assert code == 0, out + err
    assert "next: cd shop && journeydsl check && journeydsl test" in out
    project = tmp_path / "shop"
    suffix = ".journey" if form == "dsl" else ".journey.yaml"
    assert (project / "journeys" / f"onboarding{suffix}").is_file()
    assert tomllib.loads((project / "journeydsl.toml").read_text())["strict"] is True
    monkeypatch.chdir(project / "journeys")  # from a sub-folder, as a team member would
    code, out, err = cli("check")
    assert code == 0 and "0 errors, 0 warnings in 2 files" in out, out + err
    code, out, err = cli("test")
    assert code == 0, out + err
    assert "4 scenario(s): 4 passed, 0 failed" in out
    assert re.search(r"^onboarding +6/6 +100\.0% +6/6 +100\.0%$", out, re.MULTILINE), out
    if form == "dsl":
        code, out, err = cli("fmt", "--check")
        assert code == 0, out + err  # the pre-commit fmt hook leaves a fresh project alone


def test_both_forms_are_the_same_journey(tmp_path: Path) -> None:
    journeys = {}
    for form in ("dsl", "yaml"):
        for relative, text in scaffold(form, "welcome").items():
            path = tmp_path / form / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        project = load_project([tmp_path / form / "journeys"])
        assert not project.diagnostics
        journeys[form] = (project.journeys(), project.schemas())
    assert journeys["dsl"] == journeys["yaml"]


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "journeydsl.toml").write_text("# mine\n")
    code, _, err = cli("init")
    assert code == 1
    assert "not overwriting what is already in .: journeydsl.toml. Nothing was written; use --force" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["journeydsl.toml"]
    assert (tmp_path / "journeydsl.toml").read_text() == "# mine\n"
    code, out, _ = cli("init", "--force")
    assert code == 0 and "created journeydsl.toml (overwritten)" in out
    assert "sources" in (tmp_path / "journeydsl.toml").read_text()
    assert "next: journeydsl check && journeydsl test" in out


@pytest.mark.parametrize("name", ["Welcome", "1st", "customer", "has-dash", ""])
def test_a_bad_name_is_a_usage_error(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = cli("init", "--name", name)
    assert code == 2 and "--name" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_init_into_a_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("")
    code, out, err = cli("init", "f")
    assert code != 0 and "Traceback" not in out + err


def test_the_scaffold_wires_in_our_hooks_and_action(tmp_path: Path) -> None:
    files = scaffold("dsl", "welcome")
    hooks = {hook["id"] for hook in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    config = yaml.safe_load(files[".pre-commit-config.yaml"])
    used = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert used == hooks == {"journeydsl-fmt", "journeydsl-check", "journeydsl-test"}
    workflow = yaml.safe_load(files[".github/workflows/journeys.yml"])
    steps = workflow["jobs"]["journeys"]["steps"]
    action = yaml.safe_load((REPO / "action.yml").read_text())
    ours = [step for step in steps if step.get("uses", "").startswith("journeydsl/journeydsl@")]
    assert len(ours) == 1 and set(ours[0]["with"]) <= set(action["inputs"])
    assert steps[0]["with"]["fetch-depth"] == 0


def test_every_scaffold_file_is_shipped_in_the_package() -> None:
    from importlib import resources

    folder = resources.files("journeydsl") / "scaffold"
    for entry in FILES:
        assert (folder / entry.source).is_file(), entry.source
