"""`diff` reports a schema's contact policy item by item (a cap changed, the priority reordered) and a goal's
`expect`, for the DSL and through `journeydsl diff` on two folders."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.diff import diff_journeys, diff_schemas, render_text
from journeydsl.ir import Journey, Schema
from journeydsl.syntax import parse_dsl

OLD = """schema shop {
  channel email { cost 0.002 }
  channel sms { cost 0.05 }
  policy {
    cap email 3 per 7d across journeys
    cap sms 1 per 1d across journeys
    priority journeys [service_move, win_back]
  }
}
"""


def _schemas(text: str) -> list[Schema]:
    source, diagnostics = parse_dsl(text, "s.journey")
    assert diagnostics == []
    return list(source.schemas)


def _journeys(text: str) -> list[Journey]:
    source, diagnostics = parse_dsl(text, "j.journey")
    assert diagnostics == []
    return list(source.journeys)


def _found(old: str, new: str) -> list[tuple[str, str, str, str | None, str | None]]:
    return [(c.kind, c.area, c.subject, c.old, c.new) for c in diff_schemas(_schemas(old), _schemas(new))]


def test_same_policy_no_changes() -> None:
    assert _found(OLD, OLD) == []


def test_a_cap_changed_the_priority_reordered_and_items_added() -> None:
    new = (
        OLD.replace("cap email 3 per 7d", "cap email 2 per 7d")
        .replace("[service_move, win_back]", "[win_back, service_move]")
        .replace("    cap sms 1 per 1d across journeys\n", "")
        .replace("  }\n}", "    quiet 21:00-08:00\n    conflict delay\n  }\n}")
    )
    assert _found(OLD, new) == [
        ("changed", "policy", "cap email", "3 per 7d across journeys", "2 per 7d across journeys"),
        ("removed", "policy", "cap sms", "1 per 1d across journeys", None),
        ("changed", "policy", "priority", "journeys [service_move, win_back]", "journeys [win_back, service_move]"),
        ("changed", "policy", "conflict", "suppress", "delay"),
        ("added", "policy", "quiet", None, "21:00-08:00"),
    ]
    text = render_text(diff_schemas(_schemas(OLD), _schemas(new)), "old", "new")
    assert "  ~ policy cap email: 3 per 7d across journeys => 2 per 7d across journeys\n" in text


def test_a_policy_added_shows_what_it_does_with_defaults() -> None:
    bare = "schema shop {\n  channel email { cost 0.002 }\n  channel sms { cost 0.05 }\n}\n"
    found = _found(bare, OLD)
    assert ("added", "policy", "settle", None, "1m") in found and (
        "added",
        "policy",
        "conflict",
        None,
        "suppress",
    ) in found
    assert {c[0] for c in _found(OLD, bare)} == {"removed"}
    # Writing the default changes nothing the policy does.
    assert _found(OLD, OLD.replace("  }\n}", "    settle 1m\n    conflict suppress\n  }\n}")) == []


def test_a_goals_expect_is_part_of_the_goal() -> None:
    old = "journey j { goal g on e within 30d expect 12% }"
    new = "journey j { goal g on e within 30d expect 12.5% }"
    changes = diff_journeys(_journeys(old), _journeys(new))
    assert [(c.kind, c.area, c.old, c.new) for c in changes] == [
        ("changed", "goal", "on e within 30d expect 12%", "on e within 30d expect 12.5%")
    ]


def test_journeydsl_diff_on_two_folders(tmp_path: Path) -> None:
    for name, text in (("old", OLD), ("new", OLD.replace("per 1d across", "per 2d across"))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "shop.journey").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", str(tmp_path / "old"), str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    assert "schema shop:\n  ~ policy cap sms: 1 per 1d across journeys => 1 per 2d across journeys\n" in result.output
