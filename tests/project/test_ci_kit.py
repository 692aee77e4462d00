"""The CI kit: .pre-commit-hooks.yaml, action.yml, docs/ci.md and the init scaffold's CI files parse, name only
commands and options that exist, pass the validators of their tools, and the action's scripts do what they say
when run on a real project (a fake `gh` stands in for GitHub)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.cli.init import scaffold

REPO = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
HOOKS = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
CI_DOC = (REPO / "docs" / "ci.md").read_text()
BIN = str(Path(sys.executable).parent)


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", CI_DOC, re.DOTALL)


def sources_of_command_lines() -> dict[str, str]:
    """Every text that holds `journeydsl CMD ...` lines, by where it comes from."""
    found = {f"hook {hook['id']}": " ".join([hook["entry"], *hook.get("args", [])]) for hook in HOOKS}
    for step in ACTION["runs"]["steps"]:
        if "run" in step:
            found[f"action step {step.get('name')}"] = step["run"]
    for number, block in enumerate(re.findall(r"```\w*\n(.*?)```", CI_DOC, re.DOTALL)):
        found[f"docs/ci.md block {number}"] = block
    for number, inline in enumerate(re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", CI_DOC, flags=re.DOTALL))):
        found[f"docs/ci.md inline {number}"] = inline
    for name, text in scaffold("dsl", "welcome").items():  # commands in comments are quoted in backticks
        for number, inline in enumerate(re.findall(r"`([^`\n]+)`", text)):
            found[f"scaffold {name} {number}"] = inline
    return found


COMMAND_LINE = re.compile(r"(?<![\w./=-])journeydsl ([a-z]+)((?:[ \t]+[^\s`|;&)>]+)*)")


def command_lines() -> list[tuple[str, str, list[str]]]:
    lines = []
    for where, text in sources_of_command_lines().items():
        joined = re.sub(r"\\\n\s*", " ", text)
        for match in COMMAND_LINE.finditer(joined):
            lines.append((where, match.group(1), match.group(2).split()))
    return lines


LINES = command_lines()


def test_the_kit_has_command_lines_to_check() -> None:
    commands = {command for _, command, _ in LINES}
    assert {"check", "test", "fmt", "render", "diff", "init"} <= commands, commands


@pytest.mark.parametrize(("where", "command", "words"), LINES, ids=[f"{w}: {c}" for w, c, _ in LINES])
def test_each_command_line_names_a_command_and_options_that_exist(where: str, command: str, words: list[str]) -> None:
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0, f"{where}: `journeydsl {command}` is no command: {result.output}"
    ctx = click.Context(main)
    found = main.get_command(ctx, command)
    assert found is not None
    options = {name: param for param in found.params for name in param.opts + param.secondary_opts}
    for number, word in enumerate(words):
        name = word.split("=", 1)[0]
        if not name.startswith("--"):
            continue
        assert name in options and name in result.output, f"{where}: `journeydsl {command}` has no option {name}"
        param = options[name]
        if isinstance(param.type, click.Choice) and number + 1 < len(words) and "$" not in words[number + 1]:
            value = word.split("=", 1)[1] if "=" in word else words[number + 1]
            assert value in param.type.choices, f"{where}: {name} {value} is not one of {param.type.choices}"


# --------------------------------------------------------------------------- the files parse and validate


def test_the_hooks_are_what_the_docs_and_scaffold_say() -> None:
    assert [hook["id"] for hook in HOOKS] == ["journeydsl-fmt", "journeydsl-check", "journeydsl-test"]
    for hook in HOOKS:
        assert hook["language"] == "python"
        assert hook["entry"].startswith("journeydsl ")
        re.compile(hook["files"])
    files = {hook["id"]: re.compile(hook["files"]) for hook in HOOKS}
    assert files["journeydsl-fmt"].search("journeys/a.journey")
    assert not files["journeydsl-fmt"].search("journeys/a.journey.yaml")
    for name in ("a.journey", "a.journey.yaml", "a.scenario.yml", "templates/messages/email/x.j2", "journeydsl.toml"):
        assert files["journeydsl-check"].search(name) and files["journeydsl-test"].search(name), name
    assert not files["journeydsl-check"].search("README.md")


def test_the_yaml_blocks_of_the_docs_parse() -> None:
    blocks = doc_blocks("yaml")
    assert len(blocks) >= 4
    for block in blocks:
        yaml.safe_load(block)


def test_pre_commit_accepts_the_hooks_and_the_scaffold_config(tmp_path: Path) -> None:
    pytest.importorskip("pre_commit")
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(scaffold("dsl", "welcome")[".pre-commit-config.yaml"])
    for args in (["validate-manifest", str(REPO / ".pre-commit-hooks.yaml")], ["validate-config", str(config)]):
        done = subprocess.run(
            [sys.executable, "-m", "pre_commit", *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def _validate(schema: str, text: str, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_action_and_the_workflows_pass_their_schemas(tmp_path: Path) -> None:
    pytest.importorskip("check_jsonschema")
    _validate("vendor.github-actions", (REPO / "action.yml").read_text(), tmp_path, "action.yml")
    _validate("vendor.github-workflows", scaffold("dsl", "x")[".github/workflows/journeys.yml"], tmp_path, "w1.yml")
    workflows = [block for block in doc_blocks("yaml") if "runs-on:" in block]
    gitlab = [block for block in doc_blocks("yaml") if ".gitlab-ci.yml" in block]
    assert len(workflows) == 1 and len(gitlab) == 1
    _validate("vendor.github-workflows", workflows[0], tmp_path, "w2.yml")
    _validate("vendor.gitlab-ci", gitlab[0], tmp_path, "gitlab.yml")


def test_the_workflows_only_pass_inputs_the_action_has() -> None:
    inputs = set(ACTION["inputs"])
    workflows = [yaml.safe_load(block) for block in doc_blocks("yaml") if "runs-on:" in block]
    workflows.append(yaml.safe_load(scaffold("dsl", "x")[".github/workflows/journeys.yml"]))
    for workflow in workflows:
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                if step.get("uses", "").startswith("journeydsl/journeydsl@"):
                    assert set(step.get("with", {})) <= inputs
    documented = set(re.findall(r"`([a-z-]+)`", CI_DOC.split("Inputs:", 1)[1].split("##", 1)[0]))
    assert inputs <= documented | {"github-token"}


# --------------------------------------------------------------------------- the action's scripts, run


def _step(name: str) -> dict[str, Any]:
    (found,) = [step for step in ACTION["runs"]["steps"] if step.get("name") == name]
    assert isinstance(found, dict)
    return found


def _run_step(name: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = _step(name)["run"]
    assert "${{" not in script, "expressions belong in the step's env"
    full_env = {**os.environ, "PATH": f"{env.pop('EXTRA_PATH', BIN)}{os.pathsep}{BIN}{os.pathsep}{os.environ['PATH']}"}
    full_env.update(env)
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300, check=False
    )


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@x"
    done = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    """A repository whose project sits in teams/retail (the action's working-directory), one commit in."""
    root = tmp_path / "repo"
    project = root / "teams" / "retail"
    (project / "journeys").mkdir(parents=True)
    for name in ("customer.journey", "abandoned_cart.journey"):
        shutil.copy(REPO / "journeys" / name, project / "journeys" / name)
    shutil.copytree(REPO / "templates" / "messages", project / "templates" / "messages")
    (project / "journeydsl.toml").write_text('sources = ["journeys"]\n')
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    return project


def test_sarif_and_annotations_name_files_from_the_repository_root(repo: Path, tmp_path: Path) -> None:
    cart = repo / "journeys" / "abandoned_cart.journey"
    cart.write_text(cart.read_text().replace("send email cart_reminder", "send email cart_remnider"))
    env = {"PATHS": "", "PREFIX": "teams/retail", "RUNNER_TEMP": str(tmp_path)}
    done = _run_step("journeydsl check (SARIF)", repo, dict(env))
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "journeydsl.sarif").read_text())["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results if r["level"] == "error"}
    assert uris == {"teams/retail/journeys/abandoned_cart.journey"}
    done = _run_step("journeydsl check", repo, dict(env))
    assert done.returncode == 1  # errors fail the job
    assert done.stdout.startswith("::error file=teams/retail/journeys/abandoned_cart.journey,line=")
    done = _run_step("journeydsl check", repo, {**env, "PREFIX": "."})
    assert done.stdout.startswith("::error file=journeys/abandoned_cart.journey,line=")


def test_a_pull_request_gets_diagrams_and_one_diff_comment(repo: Path, tmp_path: Path) -> None:
    root = repo.parents[1]
    base = _git(root, "rev-parse", "HEAD")
    cart = repo / "journeys" / "abandoned_cart.journey"
    cart.write_text(cart.read_text().replace("after 1h -> remind", "after 2h -> remind"))
    shutil.copy(REPO / "journeys" / "daily_move_coach.journey", repo / "journeys")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "change")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    gh = fake / "gh"
    # GitHub's API, faked: no comment yet; the comment posted is kept for the test to read.
    gh.write_text(
        '#!/bin/bash\necho "$@" >> "$FAKE_GH_LOG"\n'
        'for a in "$@"; do case "$a" in body=@*) cp "${a#body=@}" "$FAKE_GH_BODY";; esac; done\n'
    )
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    output = tmp_path / "github_output"
    env = {"BASE": base, "RUNNER_TEMP": str(tmp_path), "GITHUB_OUTPUT": str(output)}
    done = _run_step("Changed journeys", repo, dict(env))
    assert done.returncode == 0, done.stderr
    changed = ["journeys/abandoned_cart.journey", "journeys/daily_move_coach.journey"]
    assert (tmp_path / "changed.txt").read_text().split() == changed
    assert "\n".join(changed) in output.read_text()
    done = _run_step("journeydsl render (changed journeys)", repo, dict(env))
    assert done.returncode == 0, done.stderr
    diagrams = sorted(p.name for p in (tmp_path / "journey-diagrams").iterdir())
    assert diagrams == ["abandoned_cart.svg", "daily_move_coach.svg"]
    env.update(
        EXTRA_PATH=str(fake),
        FAKE_GH_LOG=str(tmp_path / "gh.log"),
        FAKE_GH_BODY=str(tmp_path / "body.md"),
        GH_TOKEN="t",
        PR="7",
        REPO="o/r",
    )
    done = _run_step("journeydsl diff (pull-request comment)", repo, dict(env))
    assert done.returncode == 0, done.stderr
    body = (tmp_path / "body.md").read_text()
    assert body.startswith("<!-- journeydsl-diff -->\n### Journey changes")
    assert "<code>journeys/abandoned_cart.journey</code>" in body
    assert "~ timer browsing timeout: after 1h => after 2h" in body
    assert "<code>journeys/daily_move_coach.journey</code>" in body and "+ new journey file" in body
    calls = (tmp_path / "gh.log").read_text().splitlines()
    assert calls[0].startswith("api repos/o/r/issues/7/comments --paginate")
    assert calls[1].startswith("api --method POST repos/o/r/issues/7/comments -F body=@")
