"""Checks added after the team trial: declared integrations (JD115), a control arm that sends (JD404) and a
scenario's unknown event type caught by `check` (JD704)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.api import check_paths
from journeydsl.cli import main
from journeydsl.diagnostics.docgen import EXAMPLE_SCHEMA
from journeydsl.ir import IntegrationDef
from journeydsl.syntax import parse_dsl
from journeydsl.syntax.printer import format_dsl
from journeydsl.syntax.yaml_loader import load_yaml
from journeydsl.syntax.yaml_writer import to_yaml

ROOT = Path(__file__).resolve().parents[2]

HEAD = """journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
"""


def check(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int, str, str | None]]:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    diags = check_paths([tmp_path], templates_dir=tmp_path / "none")
    return [
        (d.code.code, d.span.line if d.span else 0, d.message, d.hint)
        for d in diags
        if d.code.code not in ("JD601",)  # templates are not what these tests are about
    ]


# --------------------------------------------------------------------------- integrations


SCHEMA_DSL = """schema s {
  profile { email: string }
  event e {}
  channel email { cost 0 }
  integration crm_task
  integration address_check
}
"""


def test_integrations_parse_in_both_forms_and_survive_fmt_and_convert() -> None:
    source, diags = parse_dsl(SCHEMA_DSL, "s.journey")
    assert diags == []
    [schema] = source.schemas
    assert [i.name for i in schema.integrations] == ["crm_task", "address_check"]
    assert isinstance(schema.integrations[0], IntegrationDef)
    assert "  integration crm_task\n  integration address_check\n" in format_dsl(source)
    yaml_text = to_yaml(source)
    assert "integrations:\n  - crm_task\n  - address_check\n" in yaml_text
    again, diags = load_yaml(yaml_text, "s.journey.yaml")
    assert diags == [] and again.schemas[0].integrations == schema.integrations


def test_a_bad_integrations_list_in_yaml_is_reported() -> None:
    text = "schema: s\nintegrations: {crm_task: 1}\n"
    diags = load_yaml(text, "s.journey.yaml")[1]
    assert [d.code.code for d in diags] == ["JD004"] and "`integrations` must be a list" in diags[0].message


def test_a_misspelt_call_is_reported_with_did_you_mean(tmp_path: Path) -> None:
    body = (
        HEAD + '  stage s {\n    step a { call crm_taks with { kind: "x" } -> done }\n    step done { end }\n  }\n}\n'
    )
    [(code, line, message, hint)] = check(tmp_path, {"j.journey": body})
    assert (code, line) == ("JD115", 8)
    assert "`crm_taks` is not declared in schema `shop`" in message and hint == "did you mean `crm_task`?"


def test_an_integration_declared_twice_is_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "shop.journey").write_text(
        EXAMPLE_SCHEMA.replace("  integration crm_task\n", "  integration crm_task\n" * 2)
    )
    [diag] = check_paths([tmp_path / "shop.journey"], templates_dir=tmp_path / "none")
    assert diag.code.code == "JD101" and "integration `crm_task`" in diag.message


def test_calls_are_not_checked_when_the_schema_declares_no_integration(tmp_path: Path) -> None:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA.replace("  integration crm_task\n", ""))
    body = HEAD + "  stage s {\n    step a { call anything -> done }\n    step done { end }\n  }\n}\n"
    (tmp_path / "j.journey").write_text(body)
    assert [d.code.code for d in check_paths([tmp_path], templates_dir=tmp_path / "none")] == []


def test_the_example_journeys_declare_every_integration_they_call() -> None:
    diags = check_paths([ROOT / "journeys"], templates_dir=ROOT / "templates")
    assert [d for d in diags if d.code.code == "JD115"] == []
    schema = (ROOT / "journeys" / "customer.journey").read_text()
    assert "integration crm_task" in schema and "integration field_service" in schema


# --------------------------------------------------------------------------- control arms


def experiment_journey(control_target: str, extra_steps: str = "") -> str:
    return HEAD + (
        "  stage s {\n"
        "    step hello {\n"
        "      experiment copy {\n"
        "        variant short 90% -> short_copy\n"
        f"        control 10% -> {control_target}\n"
        "      }\n"
        "    }\n"
        "    step short_copy { send email welcome -> wait_order }\n"
        "    step route { choose { when profile.ltv > 10 -> reminder otherwise -> wait_order } }\n"
        "    step reminder { send email welcome -> wait_order }\n"
        "    step wait_order { wait { on order_placed -> done after 30d -> later } }\n"
        "    step later { send email welcome -> done }\n"
        f"{extra_steps}"
        "    step done { end }\n"
        "  }\n}\n"
    )


def test_a_control_arm_that_sends_through_a_choose_is_a_warning(tmp_path: Path) -> None:
    found = check(tmp_path, {"j.journey": experiment_journey("route")})
    [(code, line, message, hint)] = [f for f in found if f[0] == "JD404"]
    assert line == 11  # the control arm
    assert "sends `email welcome` before it waits (`route` -> `reminder`)" in message
    assert hint is not None and "wait or an end" in hint


def test_a_control_arm_that_waits_first_is_clean(tmp_path: Path) -> None:
    """A send after the wait (`later`) is a follow-up every arm shares, not the experiment's treatment."""
    found = check(tmp_path, {"j.journey": experiment_journey("wait_order")})
    assert [f for f in found if f[0] == "JD404"] == []


def test_a_yaml_control_variant_is_a_control_arm(tmp_path: Path) -> None:
    text = """journey: welcome
version: 1
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
goals: [{name: ordered, on: order_placed, within: 30d, value: event.amount}]
stages:
  s:
    hello:
      experiment:
        name: copy
        variants:
          - {name: short, weight: 50, next: done}
          - {control: true, weight: 50, next: ping}
    ping:
      do: [{send: {channel: email, template: welcome}}]
      end: null
    done:
      end: null
"""
    found = check(tmp_path, {"j.journey.yaml": text})
    assert [f[0] for f in found if f[0] == "JD404"] == ["JD404"]


def test_the_example_journeys_keep_their_holdouts_clean() -> None:
    diags = check_paths([ROOT / "journeys"], templates_dir=ROOT / "templates")
    assert [d for d in diags if d.code.code == "JD404"] == []


# --------------------------------------------------------------------------- scenario event types


SCENARIO = """journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
      - {advance: 1d}
      - {type: order_plaecd, at: 2026-01-03T10:00:00Z, data: {amount: 5, items: 1}}
  - name: another journey's scenario is not this check's business
    journey: elsewhere
    events:
      - {type: whatever, at: 2026-01-01T10:00:00Z}
"""


def welcome() -> str:
    return HEAD + "  stage s {\n    step a { end }\n  }\n}\n"


def test_check_reports_a_scenario_event_type_the_schema_does_not_declare(tmp_path: Path) -> None:
    found = check(tmp_path, {"welcome.journey": welcome(), "welcome.scenario.yaml": SCENARIO})
    [(code, line, message, hint)] = [f for f in found if f[0] == "JD704"]
    assert line == 7
    assert "`order_plaecd` is not declared in schema `shop`" in message and hint == "did you mean `order_placed`?"


def test_a_broken_scenario_file_is_left_to_the_scenario_reader(tmp_path: Path) -> None:
    for text in ("scenarios: [", "- a list", "scenarios: {a: 1}", "scenarios:\n  - events: 3\n", ""):
        found = check(tmp_path, {"welcome.journey": welcome(), "welcome.scenario.yaml": text})
        assert found == [], text


def test_the_check_command_reports_it_with_its_position(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA)
    (tmp_path / "welcome.journey").write_text(welcome())
    (tmp_path / "welcome.scenario.yaml").write_text(SCENARIO)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", ".", "--templates", str(tmp_path)])
    assert result.exit_code == 1
    assert "welcome.scenario.yaml:7:16: error[JD704 scenario-unknown-event]" in result.output


DATA_SCENARIO = """journey: welcome
scenarios:
  - name: data of every kind
    profile: {email: ana@example.com, segment: gold, ltv: "120", consent_email: true, interests: x, shoe_size: 42}
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z, data: {plan: 3, plna: gold}}
      - {type: order_placed, at: 2026-01-02T10:00:00Z, data: {amount: "55", items: null}}
      - {type: signed_up, at: 2026-01-03T10:00:00Z, data: {plan: gold}, profile: {last_order_at: yesterday}}
"""


def test_scenario_data_and_profiles_are_checked_against_the_schema(tmp_path: Path) -> None:
    found = check(tmp_path, {"welcome.journey": welcome(), "welcome.scenario.yaml": DATA_SCENARIO})
    got = [(line, message, hint) for code, line, message, hint in found if code == "JD705"]
    assert got == [
        (4, "profile field `segment` must be one of enum(new, active, vip), got `gold`",
         "its members: `active`, `new`, `vip`"),
        (4, 'profile field `ltv` needs a number, got the string "120"', "write it without quotes: `120`"),
        (4, "profile field `interests` must be a list", "e.g. `[a, b]`"),
        (4, "profile field `shoe_size` is not declared in schema `shop`: the engine would never read it",
         "its fields: `consent_email`, `email`, `first_name`, `interests`, `last_order_at`, `ltv`, `segment`"),
        (6, "data field `plan` needs a string, got the number `3`", 'quote it: `"3"`'),
        (6, "data field `plna` is not declared in event `signed_up`: the engine would never read it",
         "did you mean `plan`?"),
        (7, 'data field `amount` needs a number, got the string "55"', "write it without quotes: `55`"),
        (7, "data field `items` must not be null", "give it a value, or make the field nullable (`?`)"),
        (8, "profile field `last_order_at` needs an RFC 3339 time, got `yesterday`", "e.g. `2026-01-01T10:00:00Z`"),
    ]  # fmt: skip


def test_the_example_scenarios_fit_their_schemas() -> None:
    diags = check_paths([ROOT / "journeys"], templates_dir=ROOT / "templates")
    assert [d for d in diags if d.code.code.startswith("JD7")] == []
