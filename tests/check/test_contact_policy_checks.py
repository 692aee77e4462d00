"""Issue 19's checks: a schema's contact policy (JD105, JD506-JD511, JD009) and a goal's `expect` (JD512).

Each is run through the Python API (`api.check_paths`) on DSL and YAML files and through `journeydsl check`; the
journey-cap warning's arithmetic is a hypothesis property against the issue's formula.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.api import check_paths
from journeydsl.cli import main
from journeydsl.diagnostics import Diagnostic

SCHEMA = """\
schema customer {{
  profile {{ consent_email: bool }}
  event service_active {{ }}
  channel email {{ cost 0.002 requires profile.consent_email }}
  channel sms {{ cost 0.05 }}
  policy {{
{policy}
  }}
}}
"""

JOURNEY = """\
journey {name} {{
  version 1
  owner "pm@example.com"
  {experience}uses customer
  entry on service_active
  goal activated on service_active within 30d{expect}
{caps}  stage main {{ step done {{ end }} }}
}}
"""


def _write(folder: Path, policy: list[str], journeys: dict[str, dict[str, str]] | None = None) -> Path:
    text = SCHEMA.format(policy="\n".join("    " + line for line in policy))
    for name, parts in (journeys or {}).items():
        experience = f"experience {parts['experience']}\n  " if "experience" in parts else ""
        caps = "".join(f"  {cap}\n" for cap in parts.get("caps", "").split(";") if cap)
        text += "\n" + JOURNEY.format(name=name, experience=experience, expect=parts.get("expect", ""), caps=caps)
    path = folder / "customer.journey"
    path.write_text(text, encoding="utf-8")
    return path


def _codes(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int]]:
    return [(d.code.code, d.span.line, d.span.col) for d in diagnostics if d.span is not None]


def _only(diagnostics: list[Diagnostic], code: str) -> list[Diagnostic]:
    return [d for d in diagnostics if d.code.code == code]


def test_a_clean_policy_gives_nothing(tmp_path: Path) -> None:
    policy = ["cap email 3 per 7d across journeys", "priority journeys [b, a]", "settle 1d", "conflict delay"]
    path = _write(tmp_path, policy, {"a": {"caps": "cap email 3 per 7d", "expect": " expect 100%"}, "b": {}})
    assert _codes(check_paths([path])) == []


def test_a_cap_on_an_undeclared_channel_is_jd105_with_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, ["cap emial 3 per 7d across journeys"])
    (found,) = _only(check_paths([path]), "JD105")
    assert found.span is not None and (found.span.line, found.span.col) == (7, 5)
    assert found.hint == "did you mean `email`?"
    path = _write(tmp_path, ["cap fax 3 per 7d across journeys"])
    (found,) = _only(check_paths([path]), "JD105")
    assert found.hint == "declared channels: `email`, `sms`"


def test_a_channel_capped_twice_is_jd506_at_the_second(tmp_path: Path) -> None:
    path = _write(tmp_path, ["cap email 3 per 7d across journeys", "cap email 5 per 7d across journeys"])
    (found,) = _only(check_paths([path]), "JD506")
    assert found.span is not None and found.span.line == 8 and "(first at 7:5)" in found.message


@pytest.mark.parametrize(
    ("cap", "words"),
    [
        ("cap email 0 per 7d across journeys", "a `max` of 0 allows no send"),
        ("cap email 3 per 0d across journeys", "a window of 0 counts nothing"),
    ],
)
def test_a_cap_that_allows_nothing_is_jd507(tmp_path: Path, cap: str, words: str) -> None:
    (found,) = _only(check_paths([_write(tmp_path, [cap])]), "JD507")
    assert words in found.message and found.severity.name == "ERROR"


def test_a_settle_over_a_day_is_a_jd508_warning_at_the_settle(tmp_path: Path) -> None:
    path = _write(tmp_path, ["cap email 3 per 7d across journeys", "settle 25h"])
    (found,) = _only(check_paths([path]), "JD508")
    assert found.severity.name == "WARNING" and found.span is not None and found.span.line == 8
    assert _only(check_paths([_write(tmp_path, ["settle 1d"])]), "JD508") == []


def test_unknown_priority_names_are_jd509_with_did_you_mean(tmp_path: Path) -> None:
    path = _write(tmp_path, ["priority journeys [service_move, servce_move]"], {"service_move": {}})
    (found,) = _only(check_paths([path]), "JD509")
    assert found.span is not None and (found.span.line, found.span.col) == (7, 38)
    assert found.hint == "did you mean `service_move`?"


def test_priority_experiences_must_be_experiences(tmp_path: Path) -> None:
    """Experiences are a fixed vocabulary: one no journey has yet (`curated_offering`) may be ranked."""
    policy = ["priority experiences [respond_to_desire, coach_behaviour, curated_offering]"]
    path = _write(tmp_path, policy, {"a": {"experience": "respond_to_desire"}})
    found = _only(check_paths([path]), "JD509")
    assert [d.message for d in found] == ["`coach_behaviour` is not an experience"]
    assert found[0].hint == "did you mean `coach_behavior`?"


def test_priority_names_are_not_checked_without_the_schemas_journeys(tmp_path: Path) -> None:
    """The schema file checked alone cannot know its journeys: no false JD509."""
    path = _write(tmp_path, ["priority journeys [service_move]"])
    assert _codes(check_paths([path])) == []


def test_a_name_listed_twice_is_jd510(tmp_path: Path) -> None:
    path = _write(tmp_path, ["priority journeys [a, b, a]"], {"a": {}, "b": {}})
    (found,) = _only(check_paths([path]), "JD510")
    assert found.span is not None and found.span.col == 30 and "(first at 7:24)" in found.message


def test_a_journey_cap_above_the_shared_cap_is_the_issues_warning(tmp_path: Path) -> None:
    path = _write(
        tmp_path, ["cap email 3 per 7d across journeys"], {"a": {"caps": "cap email 2 per 1d;cap sms 9 per 1d"}}
    )
    (found,) = _only(check_paths([path]), "JD511")
    assert found.severity.name == "WARNING" and found.span is not None and found.span.line == 17
    assert "`cap email 2 per 1d` allows 14 sends in 7d" in found.message
    assert "`cap email 3 per 7d across journeys`" in found.message and "by priority" in found.message


@pytest.mark.parametrize("expect", [" expect 0%", " expect 100.5%", " expect 250%"])
def test_an_expect_outside_0_100_is_jd512(tmp_path: Path, expect: str) -> None:
    path = _write(tmp_path, [], {"a": {"expect": expect}})
    (found,) = _only(check_paths([path]), "JD512")
    assert found.span is not None and found.span.line == 16 and found.severity.name == "ERROR"


def test_a_second_policy_block_is_jd009(tmp_path: Path) -> None:
    path = tmp_path / "s.journey"
    path.write_text("schema s {\n  policy { }\n  policy { settle 1m }\n}\n", encoding="utf-8")
    assert _codes(check_paths([path])) == [("JD009", 3, 3)]


def test_the_yaml_form_gets_the_same_findings(tmp_path: Path) -> None:
    text = textwrap.dedent(
        """\
        schema: customer
        profile: {consent_email: bool}
        events: {service_active: {}}
        channels: {email: {cost: 0.002, requires: profile.consent_email}}
        policy:
          caps:
            - {channel: emial, max: 3, per: 7d}
            - {channel: email, max: 3, per: 7d}
            - {channel: email, max: 0, per: 7d}
          priority: {journeys: [a, b, a]}
          settle: 2d
        ---
        journey: a
        version: 1
        owner: pm@example.com
        uses: customer
        entry: {on: service_active}
        goals: [{name: g, on: service_active, expect: 101%}]
        caps: [{channel: email, max: 1, per: 1d}]
        stages: {main: {done: {end: null}}}
        """
    )
    path = tmp_path / "customer.journey.yaml"
    path.write_text(text, encoding="utf-8")
    assert sorted(_codes(check_paths([path]))) == [
        ("JD105", 7, 7),
        ("JD506", 9, 7),
        ("JD507", 9, 7),
        ("JD508", 11, 3),
        ("JD509", 10, 28),  # `b`: only journey `a` uses the schema
        ("JD510", 10, 31),
        ("JD511", 19, 8),
        ("JD512", 18, 9),
    ]


def test_journeydsl_check_reports_them_with_file_line_col(tmp_path: Path) -> None:
    path = _write(tmp_path, ["cap email 3 per 7d across journeys", "settle 2d"], {"a": {"caps": "cap email 1 per 1d"}})
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output  # warnings only
    assert f"{path}:8:5: warning[JD508 long-settle]" in result.output
    assert f"{path}:18:3: warning[JD511 journey-cap-above-policy]" in result.output
    result = CliRunner().invoke(main, ["check", str(path), "--strict"])
    assert result.exit_code == 1
    result = CliRunner().invoke(main, ["check", "--explain", "JD511"])
    assert result.exit_code == 0 and "journey-cap-above-policy" in result.output and "across journeys" in result.output


@settings(max_examples=40, deadline=None)
@given(
    own_max=st.integers(1, 20),
    own_per=st.integers(1, 48),
    shared_max=st.integers(1, 40),
    shared_per=st.integers(1, 240),
)
def test_the_warning_follows_the_issues_formula(own_max: int, own_per: int, shared_max: int, shared_per: int) -> None:
    """allowed = journey.max * ceil(policy.per / journey.per) > policy.max, and nothing else, warns."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="h1-jd511-") as tmp:
        policy = [f"cap email {shared_max} per {shared_per}h across journeys"]
        path = _write(Path(tmp), policy, {"a": {"caps": f"cap email {own_max} per {own_per}h"}})
        warned = bool(_only(check_paths([path]), "JD511"))
    assert warned == (own_max * math.ceil(shared_per / own_per) > shared_max)
