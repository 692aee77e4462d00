"""`journeydsl pressure` end to end: text and JSON, -o, the public API, and bad input (clear errors, exit codes,
never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from journeydsl import api
from journeydsl.analytics.pressure import PressureError, to_json
from journeydsl.cli import main
from journeydsl.compile import BuildError

REPO = Path(__file__).resolve().parents[2]
JOURNEYS = REPO / "journeys"
TEMPLATES = REPO / "templates"


def pressure(*args: str) -> Result:
    return CliRunner().invoke(main, ["pressure", str(JOURNEYS), "--templates", str(TEMPLATES), *args])


def refused(result: Result, code: int = 1) -> None:
    """An error the user can act on: the exit code, and no traceback (click's SystemExit, not an exception)."""
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def good_line(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One event the example journeys take (an entry event from `synth`)."""
    out = tmp_path_factory.mktemp("synth") / "e.jsonl"
    made = CliRunner().invoke(main, ["synth", str(JOURNEYS), "--customers", "3", "--bad-rate", "0", "-o", str(out)])
    assert made.exit_code == 0, made.stderr
    return out.read_text().splitlines()[0]


def test_text_report_of_a_synthetic_stream() -> None:
    result = pressure("--synth", "60", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert text.startswith("events    ") and "a synthetic stream of 60 customers (seed 3) (0 dead letters)" in text
    assert "run until " in text and "(the last event + 30d, the longest timer, + 1m, the longest policy settle)" in text
    for channel in ("email", "push", "sms"):
        assert f"\n{channel}: " in text
    assert "  per day   p50 " in text and "  per week  p50 " in text
    assert "solar_onboarding" in text


def test_json_to_a_file_equals_stdout_and_the_api(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "p.json"
    to_file = pressure("--synth", "40", "--format", "json", "-o", str(out))
    assert to_file.exit_code == 0, to_file.stderr
    assert to_file.stdout == "" and f"wrote {out}" in to_file.stderr
    shown = pressure("--synth", "40", "--format", "json")
    assert json.loads(out.read_text()) == json.loads(shown.stdout)
    report = json.loads(shown.stdout)
    assert report["run"]["file"] is None and report["run"]["dead"] == 0
    assert report["messages"] == sum(c["messages"] for c in report["channels"]) > 0
    via_api = api.pressure([JOURNEYS], synth=40, templates_dir=TEMPLATES)
    assert to_json(via_api) == report


def test_events_file_with_some_bad_lines(tmp_path: Path, good_line: str) -> None:
    events = tmp_path / "ev.jsonl"
    events.write_text(good_line + "\n\n" + '{"type": oops}\n' + '{"type": "nope", "customer_id": "c", "at": 5}\n')
    result = pressure("--events", str(events), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert f"dead letter: {events}:3:10: not JSON: " in result.stderr  # FILE:LINE:COL
    assert f"dead letter: {events}:4: " in result.stderr
    run = json.loads(result.stdout)["run"]
    assert (run["events"], run["dead"], run["file"]) == (3, 2, str(events))
    assert [(d["line"], d["column"]) for d in run["dead_letters"]] == [(3, 10), (4, None)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no events"),
        ("\n\n", "holds no events"),
        ('{"a":\n[1, 2\n', "could be run: 2 dead letter(s)\n  {file}:1:"),
        ('{"type": "x"}\n', "could be run: 1 dead letter(s)\n  {file}:1: "),
    ],
)
def test_events_file_with_nothing_to_run(tmp_path: Path, content: str, message: str) -> None:
    events = tmp_path / "ev.jsonl"
    events.write_text(content)
    result = pressure("--events", str(events))
    refused(result)
    assert message.format(file=events) in result.stderr and result.stdout == ""


def test_events_dated_after_until_are_dead_letters(tmp_path: Path, good_line: str) -> None:
    events = tmp_path / "ev.jsonl"
    events.write_text(good_line + "\n")
    result = pressure("--events", str(events), "--until", "2000-01-01T00:00:00Z")
    refused(result)
    assert "dated after the run's end" in result.stderr
    fine = pressure("--events", str(events), "--until", "2030-01-01T00:00:00Z", "--format", "json")
    assert fine.exit_code == 0, fine.stderr
    assert json.loads(fine.stdout)["run"]["until"] == "2030-01-01T00:00:00Z"
    assert json.loads(fine.stdout)["run"]["horizon"] == "--until"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give the events: --events FILE or --synth N"),
        (("--synth", "3", "--events", "nope.jsonl"), "does not exist"),
        (("--synth", "3", "--events", str(JOURNEYS / "README.md")), "give the events"),
        (("--synth", "0"), "--synth"),
        (("--synth", "3", "--until", "tomorrow"), "Invalid value for --until"),
        (("--synth", "3", "--format", "yaml"), "--format"),
    ],
)
def test_usage_errors(args: tuple[str, ...], message: str) -> None:
    result = pressure(*args)
    refused(result, 2)
    assert message in result.stderr


def test_a_project_with_errors_is_refused_like_check(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journey"
    bad.write_text('journey x {\n  version 1\n  owner "a"\n  entry on foo\n  stage s { step a { -> b } }\n}\n')
    result = CliRunner().invoke(main, ["pressure", str(bad), "--synth", "5"])
    refused(result)
    assert "bad.journey:5:25: error[JD102 unknown-step]" in result.stderr
    assert "fix these first" in result.stderr and result.stdout == ""
    with pytest.raises(BuildError):
        api.pressure([bad], synth=5)


def test_no_journeys_and_no_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["pressure", str(empty), "--synth", "5"])
    refused(result)
    assert "no journeys found in" in result.stderr
    monkeypatch.chdir(tmp_path)
    refused(CliRunner().invoke(main, ["pressure", "--synth", "5"]), 2)
    with pytest.raises(PressureError, match="either an events file or a number"):
        api.pressure([JOURNEYS])


def test_unwritable_output(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = pressure("--synth", "5", "-o", str(blocker / "p.txt"))
    refused(result)
    assert f"error: cannot write {blocker / 'p.txt'}" in result.stderr
