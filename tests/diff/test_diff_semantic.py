"""Semantic diff: the change records, the text/json/svg outputs, git revisions and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diff import diff_journeys
from journeydsl.diff.output import diff_dot
from journeydsl.syntax import parse_dsl

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "render" / "fixtures"
TEMPLATES = REPO / "templates"
SOLAR = (FIXTURES / "solar_onboarding.journey").read_text(encoding="utf-8")


def _journeys(text: str) -> list:  # type: ignore[type-arg]
    source, diagnostics = parse_dsl(text, "x.journey")
    assert not diagnostics
    return list(source.journeys)


def _edit(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new)
    return text


def _records(old: str, new: str) -> set[tuple[str, str, str, str | None, str | None]]:
    return {(c.kind, c.area, c.subject, c.old, c.new) for c in diff_journeys(_journeys(old), _journeys(new))}


def test_same_text_has_no_changes() -> None:
    assert diff_journeys(_journeys(SOLAR), _journeys(SOLAR)) == []


def test_guard_weight_timer_and_target_changes() -> None:
    new = _edit(
        SOLAR,
        ("when event.roof_area_m2 >= 40", "when event.roof_area_m2 >= 50"),
        ("variant friendly 50%", "variant friendly 60%"),
        ("variant urgent   40%", "variant urgent   30%"),
        ("after 14d -> lost", "after 10d -> lost"),
        ("on quote_requested -> size_roof", "on quote_requested -> offer_full"),
    )
    assert _records(SOLAR, new) == {
        ("changed", "guard", "size_roof when #1", "when event.roof_area_m2 >= 40", "when event.roof_area_m2 >= 50"),
        ("changed", "weight", "nudge variant friendly", "friendly 50%", "friendly 60%"),
        ("changed", "weight", "nudge variant urgent", "urgent 40%", "urgent 30%"),
        ("changed", "timer", "last_call timeout", "after 14d", "after 10d"),
        ("changed", "transition", "await_signature on quote_requested", "-> size_roof", "-> offer_full"),
    }


def test_steps_added_and_removed_with_their_transitions() -> None:
    new = _edit(
        SOLAR,
        ("otherwise -> advisor_call", "otherwise -> advisor_sms"),
        (
            'step advisor_call { call crm_task with { kind: "advisor_call" } -> await_signature }',
            "step advisor_sms { send sms nudge_urgent -> await_signature }",
        ),
    )
    records = _records(SOLAR, new)
    assert ("removed", "step", "advisor_call", "action", None) in records
    assert ("added", "step", "advisor_sms", None, "action in request") in records
    assert ("removed", "transition", "advisor_call next", "-> await_signature", None) in records
    assert ("added", "transition", "advisor_sms next", None, "-> await_signature") in records
    assert ("changed", "transition", "size_roof otherwise", "-> advisor_call", "-> advisor_sms") in records


def test_policies_goals_header_and_actions() -> None:
    new = _edit(
        SOLAR,
        ("reentry after 90d", "reentry after 60d"),
        ("  exit on contract_cancelled\n", ""),
        ("cap email 3 per 7d", "cap email 2 per 7d"),
        ("goal signed on contract_signed within 30d", "goal signed on contract_signed within 45d"),
        ("version 3", "version 4"),
        ('set profile.segment = "active"', 'set profile.segment = "vip"'),
    )
    records = _records(SOLAR, new)
    assert ("changed", "policy", "reentry", "after 90d", "after 60d") in records
    assert ("removed", "policy", "exit on contract_cancelled", "on contract_cancelled", None) in records
    assert ("changed", "policy", "cap email", "3 per 7d", "2 per 7d") in records
    assert ("changed", "header", "version", "3", "4") in records
    goal = next(r for r in records if r[1] == "goal")
    assert goal[:3] == ("changed", "goal", "goal signed") and "45d" in str(goal[4])
    actions = next(r for r in records if r[1] == "actions")
    assert actions[2] == "welcome" and '"vip"' in str(actions[4])


def test_svg_colours_added_removed_changed() -> None:
    new = _edit(
        SOLAR,
        ("variant friendly 50%", "variant friendly 60%"),
        ("variant urgent   40%", "variant urgent   30%"),
        ("otherwise -> advisor_call", "otherwise -> advisor_sms"),
        (
            'step advisor_call { call crm_task with { kind: "advisor_call" } -> await_signature }',
            "step advisor_sms { send sms nudge_urgent -> await_signature }",
        ),
    )
    old_j, new_j = _journeys(SOLAR), _journeys(new)
    dot = diff_dot(old_j[0], new_j[0], diff_journeys(old_j, new_j))
    lines = dot.splitlines()
    added = next(line for line in lines if line.strip().startswith("advisor_sms ["))
    removed = next(line for line in lines if line.strip().startswith("advisor_call ["))
    changed = next(line for line in lines if "nudge -> nudge_friendly" in line)
    assert 'color="#1a7f37"' in added
    assert 'color="#cf222e"' in removed and "dashed" in removed
    assert 'color="#d97706"' in changed
    removed_edge = next(line for line in lines if "advisor_call -> await_signature" in line)
    assert "#cf222e" in removed_edge and "style=dashed" in removed_edge
    untouched = next(line for line in lines if line.strip().startswith("welcome ["))
    assert "#1a7f37" not in untouched and "#cf222e" not in untouched and "#d97706" not in untouched


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["diff", *args, "--templates", str(TEMPLATES)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path]:
    for folder in ("old", "new"):
        (tmp_path / folder).mkdir()
        shutil.copy(FIXTURES / "customer.journey", tmp_path / folder)
    (tmp_path / "old" / "solar.journey").write_text(SOLAR, encoding="utf-8")
    (tmp_path / "new" / "solar.journey").write_text(_edit(SOLAR, ("after 7d -> nudge", "after 5d -> nudge")))
    return tmp_path / "old" / "solar.journey", tmp_path / "new" / "solar.journey"


def test_cli_text_json_svg_exit_zero(pair: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = map(str, pair)
    code, out, err = _cli(old, new)
    assert code == 0, err
    assert "~ timer await_signature timeout: after 7d => after 5d" in out
    assert "0 added, 0 removed, 1 changed\n" in out
    # what deploying NEW in place of OLD would do: the same version number with a different plan
    assert out.rstrip().endswith(
        "solar_onboarding v3: runs on under a changed plan of the same version\n"
        "solar_onboarding: latest v3 -> v3\n  step await_signature: changed"
    )
    code, out, _ = _cli(old, new, "--format", "json")
    assert code == 0
    assert json.loads(out)["deploy"]["versions"] == [
        {"journey": "solar_onboarding", "version": 3, "fate": "changed", "customers": None}
    ]
    assert json.loads(out)["changes"] == [
        {
            "kind": "changed",
            "area": "timer",
            "journey": "solar_onboarding",
            "subject": "await_signature timeout",
            "old": "after 7d",
            "new": "after 5d",
        }
    ]
    code, _, err = _cli(old, new, "--format", "svg", "-o", str(tmp_path / "d.svg"))
    assert code == 0, err
    assert "<svg" in (tmp_path / "d.svg").read_text(encoding="utf-8")
    code, out, _ = _cli(old, old)
    assert code == 0 and "no semantic differences" in out


def test_cli_errors_exit_one(pair: tuple[Path, Path]) -> None:
    old, new = pair
    new.write_text(_edit(SOLAR, ("-> size_roof\n    }", "-> size_rof\n    }")), encoding="utf-8")
    code, out, err = _cli(str(old), str(new))
    assert code == 1
    assert "JD102" in err and "size_rof" in err and out == ""
    code, _, err = _cli(str(old), str(old.parent / "missing.journey"))
    assert code == 1 and "JD006" in err


def test_git_revision_side(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed for PATH@REV")
    repo = tmp_path / "repo"
    (repo / "journeys").mkdir(parents=True)
    shutil.copy(FIXTURES / "customer.journey", repo / "journeys")
    target = repo / "journeys" / "solar.journey"
    target.write_text(SOLAR, encoding="utf-8")
    env = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", *env, "add", "."], cwd=repo, check=True)
    subprocess.run(["git", *env, "commit", "-qm", "one"], cwd=repo, check=True)
    target.write_text(_edit(SOLAR, ("cap email 3 per 7d", "cap email 4 per 7d")), encoding="utf-8")
    code, out, err = _cli(f"{target}@HEAD", str(target))
    assert code == 0, err
    assert "~ policy cap email: 3 per 7d => 4 per 7d" in out
    code, _, err = _cli(f"{target}@no-such-rev", str(target))
    assert code == 1 and "no-such-rev" in err
