"""`diff` compares schemas and whole folders, from the working tree or from git (`FOLDER@REV`)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diff import diff_schemas, render_text
from journeydsl.diff.sources import folder_at_revision
from journeydsl.syntax import parse_dsl

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "render" / "fixtures"

OLD = """schema shop {
  profile { email: string, ltv: number }
  event signed_up { plan: string }
  event gone {}
  channel email { cost 0.002 }
  integration crm_task
}
"""
NEW = """schema shop {
  profile { email: string, ltv: number?, tier: string }
  event signed_up { plan: string, source: string? }
  event order_placed { amount: number }
  channel email { cost 0.003 requires profile.consent }
  integration crm_task
  integration billing
}
"""


def schemas(text: str) -> list:  # type: ignore[type-arg]
    source, diags = parse_dsl(text, "s.journey")
    assert diags == []
    return list(source.schemas)


def test_schema_changes_field_by_field() -> None:
    changes = diff_schemas(schemas(OLD), schemas(NEW))
    found = [(c.kind, c.area, c.subject, c.old, c.new) for c in changes]
    assert found == [
        ("changed", "profile", "ltv", "number", "number?"),
        ("added", "profile", "tier", None, "string"),
        ("added", "event", "signed_up field source", None, "string?"),
        ("removed", "event", "gone", "{}", None),
        ("added", "event", "order_placed", None, "{ amount: number }"),
        ("changed", "channel", "email", "cost 0.002", "cost 0.003 requires profile.consent"),
        ("added", "integration", "billing", None, None),
    ]
    text = render_text(changes, "old", "new")
    assert "schema shop:\n  ~ profile ltv: number => number?\n" in text
    assert "  + integration billing\n" in text
    assert all(c.scope == "schema" and c.as_dict()["schema"] == "shop" for c in changes)


def test_a_schema_added_or_removed_is_one_change() -> None:
    other = OLD.replace("schema shop", "schema other")
    changes = diff_schemas(schemas(OLD), schemas(other))
    assert [(c.kind, c.subject) for c in changes] == [("removed", "shop"), ("added", "other")]
    assert diff_schemas(schemas(OLD), schemas(OLD)) == []


def _diff(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diff", *args, "--templates", str(REPO / "templates")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _folder(root: Path, schema_extra: str = "", with_solar: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    schema = (FIXTURES / "customer.journey").read_text(encoding="utf-8")
    (root / "customer.journey").write_text(schema.replace("  channel push", schema_extra + "  channel push"))
    if with_solar:
        shutil.copy(FIXTURES / "solar_onboarding.journey", root / "solar.journey")
    return root


def test_two_folders_compare_their_schemas_and_journeys(tmp_path: Path) -> None:
    old = _folder(tmp_path / "old")
    new = _folder(tmp_path / "new", schema_extra="  event refunded { amount: number }\n", with_solar=False)
    code, out, err = _diff(str(old), str(new))
    assert code == 0, err
    assert "schema customer:\n  + event refunded: { amount: number }\n" in out
    assert "journey solar_onboarding:\n  - journey journey solar_onboarding: v" in out
    document = json.loads(_diff(str(old), str(new), "--format", "json")[1])
    assert {"kind": "added", "area": "event", "schema": "customer", "subject": "refunded", "old": None,
            "new": "{ amount: number }"} in document["changes"]  # fmt: skip


@pytest.fixture()
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if shutil.which("git") is None:
        pytest.fail("git is needed for FOLDER@REV")
    root = _folder(tmp_path / "repo" / "journeys")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=root.parent, check=True)
    subprocess.run(["git", *env, "add", "."], cwd=root.parent, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "one"], cwd=root.parent, check=True)
    monkeypatch.chdir(root.parent)
    return root


def test_a_folder_at_a_revision_against_the_working_tree(repo: Path) -> None:
    _folder(repo, schema_extra="  event refunded { amount: number }\n")
    code, out, err = _diff("journeys@HEAD", "journeys")
    assert code == 0, err
    assert out.startswith("--- journeys@HEAD\n+++ journeys\nschema customer:\n  + event refunded")
    assert "journey solar_onboarding" not in out  # unchanged


def test_folder_at_revision_reads_every_journey_file_git_has(repo: Path) -> None:
    texts, problem = folder_at_revision(repo, "HEAD")
    assert problem == "" and texts is not None and sorted(texts) == ["customer.journey", "solar.journey"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("journeys@nope", "unknown revision 'nope'"), ("journeys@-x", "cannot start with `-`")],
)
def test_a_bad_folder_revision_is_an_error(repo: Path, spec: str, message: str) -> None:
    code, out, err = _diff(spec, "journeys")
    assert code == 1 and out == "" and message in err
