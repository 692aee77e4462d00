"""`journeydsl test` end to end on the real engine: pass, a pinned failure, coverage, JUnit, bad input."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "solar"


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the fixture project as the current directory, so printed paths are short and stable."""
    shutil.copytree(FIXTURE, tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    return tmp_path / "p"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["test", *args])
    return result.exit_code, result.stdout, result.stderr


def test_the_fixture_scenarios_pass_with_full_coverage(project: Path) -> None:
    code, out, err = run("journeys", "--min-coverage", "100")
    assert code == 0, out + err
    assert "5 scenario(s): 5 passed, 0 failed" in out
    assert "solar_onboarding   14/14  100.0%   19/19  100.0%" in out


WRONG = """\
journey: solar_onboarding
scenarios:
  - name: a mid-size roof gets the full offer
    profile: {segment: new, consent_email: true, consent_sms: true, ltv: 0}
    events:
      - {type: quote_requested, at: 2026-01-01T10:00:00Z, data: {roof_area_m2: 20, zip: "28001"}}
    expect:
      path: [welcome, size_roof, offer_full, "*"]
      sends: [{channel: email, template: offer_full}]
      outcome: converted
"""

WRONG_REPORT = """\
FAIL wrong/wrong.scenario.yaml:3: a mid-size roof gets the full offer  (journey solar_onboarding, customer scenario-1)
  path: the paths part after `size_roof`: expected `offer_full`, got `offer_small`
    - expected: welcome -> size_roof -> offer_full -> *
    + actual:   welcome -> size_roof -> offer_small -> await_signature
    step `size_roof` is at journeys/solar.journey:46:
       46 |     step size_roof {
  sends: expected sends not found in order: email offer_full
    + email welcome (sent)
    + email offer_small (sent)
    - email offer_full
  outcome: expected outcome `converted`, got no outcome yet (still running, at `await_signature`)
    - converted
    + no outcome yet (still running, at `await_signature`)
"""


def test_a_wrong_scenario_fails_with_a_readable_diff(project: Path) -> None:
    (project / "wrong").mkdir()
    (project / "wrong" / "wrong.scenario.yaml").write_text(WRONG)
    code, out, _ = run("wrong", "journeys")
    assert code == 1
    assert "FAIL wrong/wrong.scenario.yaml:3: a mid-size roof gets the full offer\n" in out
    assert WRONG_REPORT in out
    assert "6 scenario(s): 5 passed, 1 failed" in out


def test_coverage_below_the_minimum_fails(project: Path) -> None:
    scenarios = project / "journeys" / "solar.scenario.yaml"
    text = scenarios.read_text()
    scenarios.write_text(text[: text.index("  - name: small roof signs at once")])  # keep only the first scenario
    code, out, _ = run("journeys", "--min-coverage", "90")
    assert code == 1
    assert "1 scenario(s): 1 passed, 0 failed" in out
    assert "coverage below 90%: steps 71.4%, transitions 47.4%" in out
    assert "steps not covered: offer_small, advisor_call, nudge_urgent, lost" in out
    code, _, _ = run("journeys", "--min-coverage", "45")
    assert code == 0


def test_junit_report(project: Path) -> None:
    (project / "wrong").mkdir()
    (project / "wrong" / "wrong.scenario.yaml").write_text(WRONG)
    code, out, _ = run("wrong", "journeys", "--format", "junit", "-o", "reports/junit.xml")
    assert code == 1
    root = ET.parse(project / "reports" / "junit.xml").getroot()
    assert root.get("tests") == "7" and root.get("failures") == "1"
    failures = root.findall(".//failure")
    assert [f.get("message") for f in failures] == [
        "the paths part after `size_roof`: expected `offer_full`, got `offer_small`"
    ]
    assert "step `size_roof` is at journeys/solar.journey:46" in (failures[0].text or "")
    assert "6 scenario(s)" in out  # the text summary still goes to the terminal


def test_junit_to_stdout_is_xml_only(project: Path) -> None:
    code, out, err = run("journeys", "--format", "junit")
    assert code == 0
    assert ET.fromstring(out.split("?>", 1)[1]).tag == "testsuites"
    assert "5 scenario(s)" in err


def test_malformed_scenario_file_gives_positioned_diagnostics(project: Path) -> None:
    (project / "journeys" / "bad.scenario.yaml").write_text(
        "journey: solar_onboarding\nscenarios:\n  - name: x\n    events:\n      - {type: quote_requested, at: soon}\n"
    )
    code, out, err = run("journeys")
    assert code == 1
    assert (
        "journeys/bad.scenario.yaml:5:37: error[JD702 scenario-bad-value]: event `at` `soon` is not an RFC 3339 time"
        in err
    )
    assert "Traceback" not in out + err


def test_unknown_journey_is_reported(project: Path) -> None:
    (project / "journeys" / "other.scenario.yaml").write_text(
        "journey: solar_onbording\nscenarios:\n  - {name: x, events: []}\n"
    )
    code, _, err = run("journeys")
    assert code == 1
    assert (
        "other.scenario.yaml:1:10: error[JD703 scenario-unknown-journey]: scenario `x` tests journey `solar_onbording`"
        in err
    )
    assert "did you mean `solar_onboarding`?" in err


def test_usage_errors_exit_2(project: Path) -> None:
    assert run("no/such/folder")[0] == 2
    assert run("journeys", "--format", "xml")[0] == 2
    assert run("journeys", "--min-coverage", "120")[0] == 2


def test_no_scenarios_is_a_failure(project: Path) -> None:
    (project / "journeys" / "solar.scenario.yaml").unlink()
    code, _, err = run("journeys")
    assert code == 1
    assert "no *.scenario.yaml files under journeys" in err


def test_coverage_scope_follows_the_paths_named(project: Path) -> None:
    (project / "journeys" / "other.journey").write_text(
        'journey other {\n  version 1\n  owner "x@example.com"\n  uses customer\n  entry on contract_cancelled\n'
        "  stage s {\n    step only { end }\n  }\n}\n"
    )
    _, whole, _ = run("journeys")
    assert "other               0/1     0.0%" in whole
    # Named alone, a scenario file covers its own journey; its neighbours are only loaded to resolve names.
    code, alone, err = run("journeys/solar.scenario.yaml", "--min-coverage", "100")
    assert code == 0, alone + err
    assert "other" not in alone


def test_an_engine_crash_fails_the_scenario_not_the_run(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from journeydsl.runtime import Engine

    def boom(self: Engine, event: object) -> list[dict[str, object]]:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Engine, "process", boom)
    code, out, err = run("journeys")
    assert code == 1
    assert "engine: the engine raised RuntimeError: disk on fire" in out
    assert "Traceback" not in out + err


def test_a_send_waiting_for_the_contact_policy_is_named_with_the_advance_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example schema's contact policy holds emails for its settle minute: a scenario that ends without
    advancing past it misses the last email, and the failure says so and how far to advance."""
    repo = Path(__file__).resolve().parents[2]
    shutil.copytree(repo / "journeys", tmp_path / "journeys")
    shutil.copytree(repo / "templates", tmp_path / "templates")
    scenario = tmp_path / "journeys" / "solar_onboarding.scenario.yaml"
    text = scenario.read_text(encoding="utf-8")
    settle = next(line for line in text.splitlines() if "{advance: 1m}" in line)
    scenario.write_text(text.replace(settle + "\n", ""), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("journeys/solar_onboarding.scenario.yaml", "journeys")
    assert code == 1
    assert "expected sends not found in order: email review_request" in out
    assert "note: 1 send(s) wait for the contact policy's settle time (" in out
    assert "add `{advance: 1m}` after the last event to see them decided" in out
