"""Journey migrations (issue 14 item 4), front end to plan: `migrate from N { old -> new; keep old }`.

The fixtures are a pair: fixtures/booking.v1.journey (version 1) and fixtures/booking.journey (version 2, which
migrates from 1), with their schema in fixtures/schema.journey. The CLI tests put version 1 in a git repository
as `x.journey` at HEAD and version 2 in the working tree, as a team would check a change.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from journeydsl.check import check_project
from journeydsl.cli import main
from journeydsl.compile.keep import KeepError, keep_versions, migration_problems
from journeydsl.compile.plan import lower_journey
from journeydsl.ir import Migration, MigrationMove
from journeydsl.project import load_project
from journeydsl.runtime.bundle import load_bundle
from journeydsl.runtime.plan_schema import PlanFormatError, validate_plan
from journeydsl.syntax.dsl import parse_dsl
from journeydsl.syntax.printer import format_dsl
from journeydsl.syntax.yaml_loader import load_yaml
from journeydsl.syntax.yaml_writer import to_yaml

FIXTURES = Path(__file__).parent / "fixtures"
V1 = FIXTURES / "booking.v1.journey"
V2 = FIXTURES / "booking.journey"
SCHEMA = FIXTURES / "schema.journey"


def _plans() -> tuple[dict[str, Any], dict[str, Any]]:
    project = load_project([SCHEMA, V1, V2])
    assert not check_project(project)
    schema = project.schemas()["booking"]
    old, new = sorted(project.journeys(), key=lambda j: j.version or 0)
    return (
        json.loads(json.dumps(lower_journey(old, schema, "v1"))),
        json.loads(json.dumps(lower_journey(new, schema, "v2"))),
    )


# --------------------------------------------------------------------------- syntax


def test_the_dsl_yaml_and_fmt_agree() -> None:
    text = "journey x {\n  version 3\n  migrate from 1 { a -> b; c -> d; keep e, f }\n  migrate from 2 {}\n}\n"
    source, problems = parse_dsl(text, "x.journey")
    assert not problems
    (journey,) = source.journeys
    assert journey.migrations == (
        Migration(1, (MigrationMove("a", "b"), MigrationMove("c", "d")), ("e", "f")),
        Migration(2),
    )
    formatted = format_dsl(source)
    assert "  migrate from 1 {\n    a -> b\n    c -> d\n    keep e, f\n  }\n" in formatted
    again, _ = parse_dsl(formatted, "x.journey")
    assert again.journeys == source.journeys and format_dsl(again) == formatted
    yaml_text = to_yaml(source)
    assert "migrate:\n  - from: 1\n    moves: {a: b, c: d}\n    keep: [e, f]\n  - {from: 2}\n" in yaml_text
    loaded, problems = load_yaml(yaml_text, "x.journey.yaml")
    assert not problems and loaded.journeys == source.journeys


def test_the_fixture_pair_converts_both_ways() -> None:
    source, _ = parse_dsl(V2.read_text(encoding="utf-8"), str(V2))
    loaded, problems = load_yaml(to_yaml(source), "booking.journey.yaml")
    assert not problems and loaded.journeys == source.journeys


def test_a_yaml_migration_keeps_a_source_written_twice_for_the_checker() -> None:
    text = "journey: x\nversion: 2\nmigrate:\n  - from: 1\n    moves: {a: b, a: c}\n    keep: [z]\n"
    loaded, problems = load_yaml(text, "x.journey.yaml")
    assert not problems
    assert loaded.journeys[0].migrations == (Migration(1, (MigrationMove("a", "b"), MigrationMove("a", "c")), ("z",)),)


def test_a_step_named_keep_can_be_a_target_but_not_a_source() -> None:
    _, problems = parse_dsl("journey x { migrate from 1 { a -> keep } }", "x.journey")
    assert not problems
    _, problems = parse_dsl("journey x { migrate from 1 { keep -> a } }", "x.journey")
    assert [d.code.code for d in problems] == ["JD001"]


# --------------------------------------------------------------------------- plan


def test_the_plan_holds_the_migration_with_new_step_ids() -> None:
    old, new = _plans()
    ids = {step["name"]: step["id"] for step in new["steps"]}
    assert new["migrations"] == [
        {
            "from": 1,
            "moves": {"await_booking": ids["await_booking_v2"], "reminder": ids["await_booking_v2"]},
            "keep": ["last_call"],
        }
    ]
    assert "migrations" not in old  # nothing written when a journey does not migrate
    validate_plan(new)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda m: m.update({"from": 2}), "not below this plan's 2"),
        (lambda m: m["moves"].update({"last_call": 0}), "both moved and kept"),
        (lambda m: m["moves"].update({"reminder": 99}), "step 99 does not exist"),
        (lambda m: m.update({"keep": ["last_call", "last_call"]}), "names a step twice"),
    ],
)
def test_the_loader_refuses_a_migration_that_cannot_be(change: Any, reason: str) -> None:
    _, new = _plans()
    broken = copy.deepcopy(new)
    change(broken["migrations"][0])
    with pytest.raises(PlanFormatError, match=reason):
        validate_plan(broken)


def test_the_loader_refuses_two_migrations_from_one_version() -> None:
    _, new = _plans()
    broken = copy.deepcopy(new)
    broken["migrations"].append(copy.deepcopy(broken["migrations"][0]))
    with pytest.raises(PlanFormatError, match="a second migration from version 1"):
        validate_plan(broken)


# --------------------------------------------------------------------------- build --keep


def test_migration_problems_against_the_old_plan() -> None:
    old, new = _plans()
    assert migration_problems(new, old) == []
    incomplete = copy.deepcopy(new)
    incomplete["migrations"][0]["keep"] = ["last_cal"]
    assert migration_problems(incomplete, old) == [
        "booking v2 (migrate from 1): `last_cal` is not a step of v1",
        "booking v2 (migrate from 1): instances can wait at `last_call` of v1, which is neither moved nor kept",
    ]
    other = copy.deepcopy(old)
    other["version"] = 3
    assert migration_problems(incomplete, other) == []  # migrates from 1 only


def _bundle(tmp_path: Path, name: str, *paths: Path) -> Path:
    out = tmp_path / f"{name}.jbundle"
    result = CliRunner().invoke(main, ["build", *map(str, paths), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return out


def test_build_keep_checks_the_migration_against_the_kept_plan(tmp_path: Path) -> None:
    previous = load_bundle(str(_bundle(tmp_path, "v1", SCHEMA, V1)))
    good = load_bundle(str(_bundle(tmp_path, "v2", SCHEMA, V2)))
    files, kept = keep_versions(dict(good.files), previous)
    assert kept == [("booking", 1)]
    # Version 2 without its `keep last_call`: the checker cannot tell (version 1 is not in the sources).
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(SCHEMA, broken / "schema.journey")
    (broken / "booking.journey").write_text(V2.read_text(encoding="utf-8").replace("    keep last_call\n", ""))
    bad = load_bundle(str(_bundle(tmp_path, "bad", broken)))
    with pytest.raises(KeepError, match="instances can wait at `last_call` of v1"):
        keep_versions(dict(bad.files), previous)


# --------------------------------------------------------------------------- the CLI, with version 1 from git


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository whose HEAD holds version 1 as x.journey; the working tree holds version 2."""
    shutil.copy(SCHEMA, tmp_path / "schema.journey")
    shutil.copy(V1, tmp_path / "x.journey")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "schema.journey", "x.journey"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=tmp_path, check=True)
    shutil.copy(V2, tmp_path / "x.journey")
    return tmp_path


def _check(repo: Path, version_2: str) -> tuple[int, list[str], str]:
    (repo / "x.journey").write_text(version_2, encoding="utf-8")
    journey = str(repo / "x.journey")
    args = ["check", str(repo / "schema.journey"), journey, f"{journey}@HEAD", "--format", "json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    found = json.loads(result.stdout)
    items = found if isinstance(found, list) else found.get("diagnostics", [])
    return result.exit_code, [item["code"] for item in items], result.stdout


V2_TEXT = V2.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (("await_booking -> await_booking_v2", "await_booking -> await_bookin_v2"), "JD112"),  # target
        (("reminder -> await_booking_v2", "remindr -> await_booking_v2"), "JD112"),  # old step
        (("keep last_call", "keep last_cal"), "JD112"),  # kept old step
        (("    keep last_call\n", ""), "JD113"),
        (("migrate from 1", "migrate from 2"), "JD114"),
        (("keep last_call", "keep last_call, reminder"), "JD114"),
    ],
)
def test_check_through_the_cli(repo: Path, edit: tuple[str, str], code: str) -> None:
    status, codes, _ = _check(repo, V2_TEXT)
    assert (status, codes) == (0, [])
    assert edit[0] in V2_TEXT
    status, codes, out = _check(repo, V2_TEXT.replace(*edit))
    assert status == 1 and code in codes, out
    assert set(codes) <= {"JD112", "JD113", "JD114"}, out


def test_a_target_that_reads_an_event_field_the_moved_instances_lack(repo: Path) -> None:
    # After a move the current event is the one that brought the instance into its old step. `reminder` of
    # version 1 is reached by `on slot_offered` or by the timeout (keeping `signed_up`): one of them has `slot`.
    reads = V2_TEXT.replace(
        "        on booked -> done\n        after 10d",
        "        on booked -> done\n        on slot_offered -> nudge\n        after 10d",
    ).replace(
        "    step done { end booked }",
        "    step nudge {\n      call crm with { slot: event.slot }\n      -> await_booking_v2\n    }\n"
        "    step done { end booked }",
    )
    fine = reads.replace("reminder -> await_booking_v2", "reminder -> nudge")
    status, codes, out = _check(repo, fine)
    assert (status, codes) == (0, []), out
    # Instances at `await_booking` came with `signed_up` (the entry event) only: it has no `slot`.
    wrong = fine.replace("await_booking -> await_booking_v2", "await_booking -> nudge")
    status, codes, out = _check(repo, wrong)
    assert status == 1 and codes == ["JD112"], out
    assert "reads `event.slot`" in out and "(`signed_up`)" in out


def test_a_step_only_a_migration_reaches_is_not_unreachable(repo: Path) -> None:
    # `parked` is no target of any flow of version 2: only instances moved from version 1's `reminder` stand on it.
    parked = V2_TEXT.replace(
        "    step done { end booked }",
        "    step parked { wait { on booked -> done  after 5d -> done } }\n    step done { end booked }",
    ).replace("reminder -> await_booking_v2", "reminder -> parked")
    status, codes, out = _check(repo, parked)
    assert (status, codes) == (0, []), out
    unmoved = parked.replace("reminder -> parked", "reminder -> await_booking_v2")
    status, codes, out = _check(repo, unmoved)
    assert codes == ["JD301"], out  # the same step without the migration's move is unreachable
