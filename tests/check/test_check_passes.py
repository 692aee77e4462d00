"""Each pass alone on hand-built IR (no parser), plus the event-flow analysis and pinned messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from check_helpers import SCHEMA, codes_of, journey

from journeydsl.check import PASSES, check_project
from journeydsl.check.eventflow import event_sets
from journeydsl.check.graph import always_true, check_graph
from journeydsl.check.names import check_step_targets
from journeydsl.diagnostics import Diagnostic, Sink
from journeydsl.ir import (
    Binary,
    End,
    Entry,
    Goto,
    Journey,
    Literal,
    Name,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    Timeout,
    Unary,
    Wait,
    WaitArm,
)
from journeydsl.project import Project


def span(line: int) -> Span:
    return Span("hand.journey", line, 5, line, 9)


def hand_project(*steps: Step) -> Project:
    j = Journey("hand", version=1, entry=Entry("go"), stages=(Stage("s", steps),), span=span(1))
    return Project(files=[SourceFile("hand.journey", journeys=(j,))])


def test_passes_are_named_and_ordered() -> None:
    names = [name for name, _ in PASSES]
    assert names[0] == "duplicates" and "types" in names and names[-1] == "templates"
    assert len(set(names)) == len(names)


def test_step_targets_pass_alone() -> None:
    project = hand_project(Step("a", (), Goto(Target("bb", span=span(3)))), Step("b", (), End()))
    sink = Sink()
    check_step_targets(project, sink)
    [diag] = sink.diagnostics
    assert (diag.code.code, diag.span, diag.hint) == ("JD102", span(3), "did you mean `b`?")


def test_graph_pass_alone_instant_loop_and_unreachable() -> None:
    project = hand_project(
        Step("a", (), Goto(Target("b")), span=span(2)),
        Step("b", (), Goto(Target("a")), span=span(3)),
        Step("c", (), End(), span=span(4)),
    )
    sink = Sink()
    check_graph(project, sink)
    assert sorted((d.code.code, d.span.line) for d in sink.diagnostics if d.span) == [("JD301", 4), ("JD302", 2)]
    loop = next(d for d in sink.diagnostics if d.code.code == "JD302")
    assert "a -> b -> a" in loop.message


def test_a_wait_breaks_an_instant_loop() -> None:
    wait = Wait((WaitArm("x", Target("a")),), Timeout(Target("a"), after=None))
    project = hand_project(Step("a", (), Goto(Target("b"))), Step("b", (), wait))
    sink = Sink()
    check_graph(project, sink)
    assert codes_of(sink.diagnostics) == []


def test_event_sets_fixed_point() -> None:
    steps = (
        Step("a", (), Goto(Target("w"))),
        Step("w", (), Wait((WaitArm("paid", Target("b")),), Timeout(Target("b")))),
        Step("b", (), Goto(Target("w"))),
        Step("dead", (), End()),
    )
    sets = event_sets(Journey("j", entry=Entry("go"), stages=(Stage("s", steps),)))
    assert sets == {
        "a": {"go"},
        "w": {"go", "paid"},  # the loop back from b brings `paid` to the wait
        "b": {"go", "paid"},  # the arm gives `paid`, the timeout passes on what w had
        "dead": frozenset(),
    }


def test_tautologies() -> None:
    assert always_true(Literal(True))
    assert always_true(Unary("not", Literal(False)))
    assert always_true(Binary("or", Name(("profile", "x")), Literal(True)))
    assert always_true(Binary("<", Literal(1), Literal(2.5)))
    assert not always_true(Binary("==", Name(("profile", "x")), Name(("profile", "x"))))  # null makes it false
    assert not always_true(Binary("<", Literal("a"), Literal(1)))


def test_broken_files_are_not_checked(check_text: Callable[[str], list[Diagnostic]]) -> None:
    diags = check_text(journey("  stage s {\n    step a { -> nowhere }\n    step b { -> \n"))
    assert codes_of(diags) and set(codes_of(diags)) <= {"JD001", "JD002"}


def test_did_you_mean_messages(check_text: Callable[[str], list[Diagnostic]]) -> None:
    text = journey(
        "  stage s {\n"
        "    step hello {\n"
        "      wait {\n"
        "        on order_placd -> don\n"
        "        after 1d -> done\n"
        "      }\n"
        "    }\n"
        "    step done { end }\n"
        "  }\n"
    )
    diags = {d.code.code: d for d in check_text(text)}
    assert diags["JD102"].message == "step `don` does not exist in journey `j`"
    assert diags["JD102"].hint == "did you mean `done`?"
    assert (diags["JD102"].span.line, diags["JD102"].span.col) == (10, 27)  # type: ignore[union-attr]
    assert diags["JD103"].message == "event `order_placd` is not declared in schema `shop`"
    assert diags["JD103"].hint == "did you mean `order_placed`?"


def test_versions_of_one_journey_coexist(check_text: Callable[[str], list[Diagnostic]]) -> None:
    body = "  stage s {\n    step a { end }\n  }\n"
    two = journey(body) + journey(body).replace("version 1", "version 2")
    assert "JD101" not in codes_of(check_text(two))
    assert "JD101" in codes_of(check_text(journey(body) + journey(body)))


def test_results_sorted_by_location(check_text: Callable[[str], list[Diagnostic]]) -> None:
    text = (journey("  stage s {\n    step a { -> x }\n    step b { -> y }\n  }\n")).replace("version 1\n", "")
    diags = check_text(text)
    keys = [d.sort_key for d in diags]
    assert keys == sorted(keys) and len(diags) >= 3


def test_check_project_on_empty_project() -> None:
    assert check_project(Project()) == []


def test_public_api_check_paths(tmp_path: Path) -> None:
    from journeydsl.api import check_paths

    (tmp_path / "schema.journey").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "j.journey").write_text(journey("  stage s {\n    step a { -> b }\n  }\n"), encoding="utf-8")
    diags = check_paths([tmp_path / "j.journey"], templates_dir=tmp_path)
    assert codes_of(diags) == ["JD102"]
    assert check_paths([tmp_path / "missing.journey"])[0].code.code == "JD006"


def test_unknown_profile_field_without_close_match_lists_fields(
    check_text: Callable[[str], list[Diagnostic]],
) -> None:
    text = journey("  stage s {\n    step a { set profile.zzzzzz = 1 end }\n  }\n")
    [diag] = [d for d in check_text(text) if d.code.code == "JD104"]
    assert diag.hint is not None and diag.hint.startswith("profile fields: `consent_email`, `email`")


def test_channel_consent_must_be_a_bool(tmp_path: Path) -> None:
    from journeydsl.api import check_paths

    schema = SCHEMA.replace("requires profile.consent_email", "requires profile.segment")
    (tmp_path / "schema.journey").write_text(schema, encoding="utf-8")
    [diag] = check_paths([tmp_path / "schema.journey"])
    assert (diag.code.code, diag.span.line if diag.span else 0) == ("JD201", 18)
    assert "a consent is a bool" in diag.message


def test_choose_ending_in_when_true_needs_no_otherwise(check_text: Callable[[str], list[Diagnostic]]) -> None:
    body = (
        "  stage s {\n    step a {\n      choose {\n        when profile.ltv > 1 -> b\n        when true -> b\n"
        "      }\n    }\n    step b { end }\n  }\n"
    )
    assert codes_of(check_text(journey(body))) == []
