"""`journeydsl synth`: JSON lines whose entry events the journeys' entry `where` and `audience` admit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diagnostics.docgen import EXAMPLE_SCHEMA

PICKY = """journey picky {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on order_placed where event.amount > 900 and event.items >= 3
  audience profile.segment == "vip" and profile.consent_email
  stage s {
    step a { send email welcome -> b }
    step b { wait { on cart_updated -> c after 3d -> c } }
    step c { end }
  }
}
"""


def project(tmp_path: Path) -> Path:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA, encoding="utf-8")
    (tmp_path / "picky.journey").write_text(PICKY, encoding="utf-8")
    return tmp_path


def synth(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["synth", *args])
    return result.exit_code, result.stdout, result.stderr


def test_entry_events_satisfy_the_entry_conditions(tmp_path: Path) -> None:
    code, out, err = synth(str(project(tmp_path)), "--customers", "200", "--bad-rate", "0")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    profiles = {e["customer_id"]: e["profile"] for e in events if "profile" in e}
    entries = [e for e in events if e["type"] == "order_placed"]
    assert len(profiles) == 200 and len(entries) >= 200
    first_entry = {}
    for event in entries:
        first_entry.setdefault(event["customer_id"], event)
    for customer, event in first_entry.items():
        assert event["data"]["amount"] > 900 and event["data"]["items"] >= 3, event
        profile = profiles[customer]
        assert profile["segment"] == "vip" and profile["consent_email"] is True, profile
    assert f"synth: {len(events)} events for 200 customers" in err


def test_the_same_seed_gives_the_same_file(tmp_path: Path) -> None:
    root = project(tmp_path)
    first, second = tmp_path / "out" / "a.jsonl", tmp_path / "out" / "b.jsonl"
    assert synth(str(root), "--customers", "20", "--seed", "3", "-o", str(first))[0] == 0
    assert synth(str(root), "--customers", "20", "--seed", "3", "-o", str(second))[0] == 0
    assert first.read_bytes() == second.read_bytes() and first.read_bytes().count(b"\n") >= 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "soon"], "must be an RFC 3339 time"),
        (["--customers", "-1"], "--customers"),
        (["--bad-rate", "1"], "--bad-rate"),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    code, _, err = synth(str(project(tmp_path)), *args)
    assert code == 2 and message in err


def test_a_journey_with_errors_is_refused_with_its_diagnostics(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "picky.journey").write_text(PICKY.replace("-> b }", "-> nowhere }"), encoding="utf-8")
    code, out, err = synth(str(root))
    assert code == 1 and out == ""
    assert "JD102" in err and "fix these first" in err


def test_missing_templates_do_not_stop_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    code, out, _ = synth(str(root), "--customers", "2")  # no templates/ folder at all
    assert code == 0 and out.count("\n") >= 2


def test_a_schema_without_journeys_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA, encoding="utf-8")
    code, _, err = synth(str(tmp_path))
    assert code == 1 and "synth: no journey with an entry" in err
