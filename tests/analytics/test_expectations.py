"""Expected against actual (issue 19): a goal's `expect N%` against the share of entries that reached it.

The stream is built so that one journey under-performs (expects 50%, about 10% reach the goal) and one meets its
expectation; the report must flag the first and not the second, from the Python API and from `journeydsl report`
(text, JSON, HTML, `--fail-below`) over the SQLite store `journeydsl run` wrote.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from journeydsl import api
from journeydsl.analytics.expect import (
    ABOVE,
    AS_EXPECTED,
    BELOW,
    MIN_ENTRIES,
    TOO_FEW,
    expected_rates,
    verdict,
)
from journeydsl.analytics.report import build_report
from journeydsl.analytics.source import SourceError, expectations_from_store
from journeydsl.analytics.stats import Z_95, difference_interval, wilson_interval
from journeydsl.analytics.text import render_text
from journeydsl.cli import main
from journeydsl.compile import compile_project, write_bundle
from journeydsl.project import load_project

# -------------------------------------------------------------------------------------------- the statistics


# Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I (Wilson score, no
# continuity correction), to the 4 decimals printed there.
@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_matches_published_values(successes: int, n: int, low: float, high: float) -> None:
    interval = wilson_interval(successes, n)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=5e-5) and interval.high == pytest.approx(high, abs=5e-5)


# Newcombe (1998), "Interval estimation for the difference between independent proportions", table II, method 10.
@pytest.mark.parametrize(
    ("a", "n_a", "b", "n_b", "low", "high"),
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090), (5, 56, 0, 29, -0.0381, 0.1926)],
)
def test_difference_interval_matches_published_values(
    a: int, n_a: int, b: int, n_b: int, low: float, high: float
) -> None:
    interval = difference_interval(a, n_a, b, n_b)
    assert interval is not None
    assert interval.low == pytest.approx(low, abs=5e-5) and interval.high == pytest.approx(high, abs=5e-5)


def test_intervals_of_nothing_and_impossible_counts() -> None:
    assert Z_95 == pytest.approx(1.959964, abs=1e-6)
    assert wilson_interval(0, 0) is None and difference_interval(1, 2, 0, 0) is None
    for successes, n in [(3, 2), (-1, 5), (0, -1)]:
        with pytest.raises(ValueError, match="successes"):
            wilson_interval(successes, n)


counts = st.integers(min_value=1, max_value=5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts)
def test_the_wilson_interval_holds_the_rate_inside_zero_to_one(count: tuple[int, int]) -> None:
    successes, n = count
    interval = wilson_interval(successes, n)
    assert interval is not None
    assert 0.0 <= interval.low <= successes / n <= interval.high <= 1.0
    assert interval.contains(successes / n)


@given(counts, st.integers(min_value=2, max_value=50))
def test_the_wilson_interval_narrows_with_more_entries(count: tuple[int, int], factor: int) -> None:
    successes, n = count
    few, many = wilson_interval(successes, n), wilson_interval(successes * factor, n * factor)
    assert few is not None and many is not None
    assert many.high - many.low < few.high - few.low


@given(counts, counts)
def test_the_difference_interval_holds_the_difference(a: tuple[int, int], b: tuple[int, int]) -> None:
    interval = difference_interval(*a, *b)
    assert interval is not None
    difference = a[0] / a[1] - b[0] / b[1]
    assert -1.0 <= interval.low <= difference <= interval.high <= 1.0


def test_verdicts() -> None:
    assert verdict(10, 100, 0.5) == BELOW  # [5.5%, 17.4%]
    assert verdict(90, 100, 0.5) == ABOVE
    assert verdict(45, 100, 0.5) == AS_EXPECTED
    assert verdict(0, MIN_ENTRIES - 1, 0.5) == TOO_FEW  # significantly below, but too few entries to say so
    assert verdict(0, MIN_ENTRIES, 0.5) == BELOW
    assert verdict(0, 0, 0.5) == TOO_FEW


def test_expected_rates_read_only_percentages() -> None:
    goals: Any = [
        {"name": "a", "expect_pct": 12},
        {"name": "b"},
        {"name": "c", "expect_pct": True},
        {"name": "d", "expect_pct": 0},
        {"name": "e", "expect_pct": 150},
        {"name": "f", "expect_pct": "12%"},
        {"name": "g", "expect_pct": 100},
    ]
    plan: Any = {"goals": goals}
    assert expected_rates(plan) == {"a": 0.12, "g": 1.0}
    assert expected_rates(None) == {}


# ------------------------------------------------------------------------------------------- the test stream

SOURCE = """
schema s {
  profile { email: string }
  event signed_up {}
  event activated {}
  event trial_started {}
  event paid {}
  channel email { cost 0.01 }
}

journey onboarding {
  version 1
  owner "o@x"
  uses s
  entry on signed_up
  goal activated on activated within 30d
  stage main {
    step hello { send email hello -> split }
    step split {
      experiment copy {
        variant nudge 50% -> nudge
        control 50% -> waiting
      }
    }
    step nudge { send email nudge -> waiting }
    step waiting {
      wait {
        on activated -> done
        after 30d -> done
      }
    }
    step done { end done }
  }
}

journey trial {
  version 1
  owner "o@x"
  uses s
  entry on trial_started
  goal paid on paid within 30d
  stage main {
    step hello { send email hello -> waiting }
    step waiting {
      wait {
        on paid -> done
        after 30d -> done
      }
    }
    step done { end done }
  }
}
"""
CUSTOMERS = 300  # per journey: enough for a verdict (an interval about +-4 points wide at 10%)
EXPECT = {("onboarding", "activated"): 50.0, ("trial", "paid"): 40.0}


def stream(seed: int = 7) -> list[dict[str, Any]]:
    """`onboarding`: about 10% activate (it expects 50%); `trial`: about 40% pay (it expects 40%)."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(CUSTOMERS):
        for entry, goal, share, prefix in (("signed_up", "activated", 0.10, "o"), ("trial_started", "paid", 0.40, "t")):
            cid = f"{prefix}{n}"
            day = 1 + n % 20
            events.append(
                {
                    "id": f"{cid}-e",
                    "type": entry,
                    "customer_id": cid,
                    "at": f"2026-01-{day:02d}T10:00:00Z",
                    "profile": {"email": f"{cid}@x.example"},
                }
            )
            if rng.random() < share:
                events.append(
                    {"id": f"{cid}-g", "type": goal, "customer_id": cid, "at": f"2026-01-{day + 3:02d}T10:00:00Z"}
                )
    return sorted(events, key=lambda e: e["at"])


def source(expect: dict[tuple[str, str], float]) -> str:
    """SOURCE with `expect N%` written on the named goals (each goal's name is its event's, and only one journey
    has it)."""
    text = SOURCE
    for (journey, goal), pct in expect.items():
        line = f"goal {goal} on {goal} within 30d"
        assert text.count(line) == 1 and text.index(f"journey {journey} ") < text.index(line)
        text = text.replace(line, f"{line} expect {pct:g}%")
    return text


def project_with_expectations(root: Path, expect: dict[tuple[str, str], float]) -> Any:
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "journeys" / "flows.journey").write_text(source(expect), encoding="utf-8")
    for name in ("hello", "nudge"):
        path = root / "templates" / "messages" / "email" / f"{name}.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name} {{{{ profile.email }}}}\n", encoding="utf-8")
    project = load_project([root / "journeys"], templates_dir=root / "templates")
    assert not project.has_errors, [d.message for d in project.diagnostics]
    return project


def run_into_store(root: Path, expect: dict[tuple[str, str], float]) -> str:
    """Build the bundle, `journeydsl run` the stream into a SQLite store; the store's URL."""
    project = project_with_expectations(root, expect)
    bundle = write_bundle(compile_project(project, ["journeys"]), root / "flows.jbundle")
    events = root / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in stream()), encoding="utf-8")
    store = f"sqlite:///{root / 'state.db'}"
    result = CliRunner().invoke(
        main, ["run", str(bundle), "--events", str(events), "--store", store, "--until", "2026-04-01T00:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    return run_into_store(tmp_path_factory.mktemp("expect"), EXPECT)


def by_journey(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {part["journey"]: part for part in section["journeys"]}


def test_the_under_performing_journey_is_flagged_through_the_api(store: str) -> None:
    section = api.expectations_from_store(store)
    assert section["source"] == {"store": store, "plans_from": "the store"}  # no sources, no --bundle
    journeys = by_journey(section)
    (under,) = journeys["onboarding"]["goals"]
    assert under["goal"] == "activated" and under["expect_pct"] == 50.0
    whole = under["all"]
    assert whole["entries"] == CUSTOMERS and 0.05 < whole["rate"] < 0.15
    assert whole["low"] <= whole["rate"] <= whole["high"] < 0.5 and whole["expected"] == 0.5
    assert whole["verdict"] == BELOW and whole["difference"] == pytest.approx(whole["rate"] - 0.5)
    assert journeys["onboarding"]["below"] is True
    (met,) = journeys["trial"]["goals"]
    assert met["all"]["verdict"] == AS_EXPECTED and met["all"]["low"] <= 0.4 <= met["all"]["high"]
    assert met["experiments"] == [] and journeys["trial"]["below"] is False
    assert {(flag["journey"], flag["goal"]) for flag in section["below"]} == {("onboarding", "activated")}
    assert section["without_plan"] == [] and section["confidence"] == 0.95 and section["min_entries"] == MIN_ENTRIES


def test_variants_and_their_lift_over_control(store: str) -> None:
    (goal,) = by_journey(expectations_from_store(store))["onboarding"]["goals"]
    (run,) = goal["experiments"]
    assert run["experiment"] == "copy" and run["step"] == "split" and run["has_control"] is True
    rows = {row["variant"]: row for row in run["variants"]}
    nudge, control = rows["nudge"], rows["control"]
    assert nudge["entries"] + control["entries"] == CUSTOMERS
    assert nudge["reached"] + control["reached"] == goal["all"]["reached"]
    assert control["control"] is True and control["lift"] is None and control["incremental"] is None
    lift = nudge["reached"] / nudge["entries"] - control["reached"] / control["entries"]
    assert nudge["lift"] == pytest.approx(lift)
    assert nudge["lift_low"] <= lift <= nudge["lift_high"]
    interval = difference_interval(nudge["reached"], nudge["entries"], control["reached"], control["entries"])
    assert interval is not None and (nudge["lift_low"], nudge["lift_high"]) == (interval.low, interval.high)
    base = control["reached"] / control["entries"]
    assert nudge["incremental"] == pytest.approx(nudge["reached"] - base * nudge["entries"])


def test_report_cli_text_json_html_and_fail_below(store: str, tmp_path: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["report", "--store", store])
    assert text.exit_code == 0, text.output  # the exit status is unchanged without --fail-below
    assert "expected against actual (95% interval):" in text.stdout
    assert "goal activated, expected 50.0%:" in text.stdout and "goal paid, expected 40.0%:" in text.stdout
    onboarding = text.stdout.split("== onboarding v1")[1].split("== trial v1")[0]
    trial = text.stdout.split("== trial v1")[1]
    assert "BELOW" in onboarding and "=> significantly below expectation" in onboarding
    assert "as expected" in trial and "BELOW" not in trial and "significantly below" not in trial
    assert "below expectation: onboarding v1 goal activated" in text.stdout
    as_json = runner.invoke(main, ["report", "--store", store, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["expectations"] | {"source": report["source"]} == expectations_from_store(store)
    html = runner.invoke(main, ["report", "--store", store, "--format", "html", "-o", str(tmp_path / "r.html")])
    assert html.exit_code == 0, html.output
    page = (tmp_path / "r.html").read_text()
    assert "Significantly below expectation: onboarding v1 goal activated" in page
    assert page.count("<h3>Expected against actual") == 2 and page.count("(below expectation)") == 1
    gate = runner.invoke(main, ["report", "--store", store, "--fail-below"])
    assert gate.exit_code == 1 and "significantly below expectation: onboarding v1 goal activated" in gate.stderr
    assert "Traceback" not in gate.output


def test_a_journey_that_meets_its_expectations_passes_the_gate(tmp_path: Path) -> None:
    store = run_into_store(tmp_path, {("onboarding", "activated"): 10.0, ("trial", "paid"): 40.0})
    result = CliRunner().invoke(main, ["report", "--store", store, "--fail-below", "--format", "json"])
    assert result.exit_code == 0, result.output
    section = json.loads(result.stdout)["expectations"]
    assert section["below"] == [] and all(not part["below"] for part in section["journeys"])


def test_no_expectation_no_section(tmp_path: Path) -> None:
    store = run_into_store(tmp_path, {})
    runner = CliRunner()
    text = runner.invoke(main, ["report", "--store", store, "--fail-below"])
    assert text.exit_code == 0, text.output
    assert "expected" not in text.stdout and "below expectation" not in text.stdout
    assert expectations_from_store(store)["journeys"] == []
    html = runner.invoke(main, ["report", "--store", store, "--format", "html"])
    assert html.exit_code == 0 and "Expected against actual" not in html.stdout


def test_an_empty_store(tmp_path: Path) -> None:
    from journeydsl.runtime.stores import open_store

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    result = CliRunner().invoke(main, ["report", "--store", url, "--fail-below"])
    assert result.exit_code == 0 and "no journey activity in this store" in result.stdout
    assert expectations_from_store(url)["journeys"] == []
    with pytest.raises(SourceError, match="no store at"):
        expectations_from_store(f"sqlite:///{tmp_path / 'none.db'}")


def test_a_store_without_the_plans(tmp_path: Path) -> None:
    store = run_into_store(tmp_path, EXPECT)
    with sqlite3.connect(tmp_path / "state.db") as db:  # a store from before stores recorded their plans
        db.execute("DELETE FROM plans")
    (tmp_path / "flows.jbundle").rename(tmp_path / "elsewhere.bundle")  # nor a bundle beside it
    section = expectations_from_store(store)
    assert section["source"]["plans_from"] is None and section["journeys"] == []
    assert section["without_plan"] == [{"journey": "onboarding", "version": 1}, {"journey": "trial", "version": 1}]
    runner = CliRunner()
    plain = runner.invoke(main, ["report", "--store", store])
    assert plain.exit_code == 0 and "expected against actual" not in plain.stdout
    gate = runner.invoke(main, ["report", "--store", store, "--fail-below"])
    assert gate.exit_code == 1 and "no plans to read the expectations from (give --bundle B)" in gate.stderr
    assert "warning: no plan for onboarding v1, trial v1" in gate.stderr and "Traceback" not in gate.output
    given = expectations_from_store(store, tmp_path / "elsewhere.bundle")
    assert [(flag["journey"], flag["variant"]) for flag in given["below"]] == [
        ("onboarding", None),
        ("onboarding", "nudge"),
    ]


def test_hand_written_records_too_few_and_unknown_plans() -> None:
    plan: Any = {"goals": [{"name": "g", "expect_pct": 50}]}
    transitions: list[Any] = []
    actions: list[Any] = []
    for n in range(10):  # 0 of 10: far below, yet too few entries for a verdict
        actions.append({"journey": "j", "version": 1, "instance": f"i{n}", "customer_id": f"c{n}", "kind": "enter"})
    actions.append({"journey": "k", "version": 2, "instance": "x", "customer_id": "x", "kind": "enter"})
    report = build_report(transitions, actions, {("j", 1): plan})
    section = report["expectations"]
    ((goal,),) = [part["goals"] for part in section["journeys"]]
    assert goal["all"]["verdict"] == TOO_FEW and goal["all"]["rate"] == 0.0 and section["below"] == []
    assert section["without_plan"] == [{"journey": "k", "version": 2}]
    assert "too few" in render_text(report, "b")


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in _keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in _keys(item)}
    return set()


def test_the_guide_documents_every_key_of_the_json_shape(store: str) -> None:
    page = (Path(__file__).parents[2] / "docs" / "guide" / "report.md").read_text(encoding="utf-8")
    shape = page.split("### The JSON shape", 1)[1]
    rows = [line.split("|")[1] for line in shape.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row)} - {"expectations"}
    section = expectations_from_store(store)
    assert documented == _keys(section) - {"source", "store", "plans_from"}
    example = json.loads(shape.split("```json", 1)[1].split("```", 1)[0])
    assert _keys(example["expectations"]) == _keys(section) - {"source", "store", "plans_from"}


@given(
    st.integers(min_value=0, max_value=200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
    st.floats(min_value=0.5, max_value=100.0),
)
def test_a_journey_is_flagged_exactly_when_the_interval_lies_under_the_expectation(
    count: tuple[int, int], pct: float
) -> None:
    entries, reached = count
    plan: Any = {"goals": [{"name": "g", "expect_pct": pct}]}
    actions: list[Any] = []
    for n in range(entries):
        base = {"journey": "j", "version": 1, "instance": f"i{n}", "customer_id": f"c{n}"}
        actions.append({**base, "kind": "enter"})
        if n < reached:
            actions.append({**base, "kind": "goal", "goal": "g"})
    section = build_report([], actions, {("j", 1): plan})["expectations"]
    interval = wilson_interval(reached, entries)
    flagged = interval is not None and entries >= MIN_ENTRIES and interval.high < pct / 100
    assert bool(section["below"]) == flagged
    if entries:
        ((goal,),) = [part["goals"] for part in section["journeys"]]
        assert (goal["all"]["reached"], goal["all"]["entries"]) == (reached, entries)
        assert section["journeys"][0]["below"] == flagged
