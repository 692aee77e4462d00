"""YAML form -> IR: every construct, positions, and the JD003/JD004/JD007/JD101 diagnostics."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from journeydsl.check import check_project
from journeydsl.diagnostics import Diagnostic
from journeydsl.ir import (
    Arg,
    Binary,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    Duration,
    Emit,
    End,
    Entry,
    Exit,
    Experiment,
    Goal,
    Goto,
    Journey,
    Literal,
    Name,
    Quiet,
    Reentry,
    Send,
    SetProfile,
    Sleep,
    Span,
    Target,
    Timeout,
    TypeRef,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.project import Project
from journeydsl.syntax import safe_yaml
from journeydsl.syntax.dsl import parse_dsl
from journeydsl.syntax.yaml_loader import load_yaml

HERE = Path(__file__).parent
SPEC_YAML = (HERE / "spec_example.journey.yaml").read_text(encoding="utf-8")


# Every test runs on both composers (tests/yaml/conftest.py).
pytestmark = pytest.mark.usefixtures("composer")


def all_spans(node: object) -> list[tuple[str, Span | None]]:
    """Every span in an IR tree, in field order."""
    found: list[tuple[str, Span | None]] = []
    if dataclasses.is_dataclass(node) and not isinstance(node, Span):
        found.append((type(node).__name__, getattr(node, "span", None)))
        for field in dataclasses.fields(node):
            found.extend(all_spans(getattr(node, field.name)))
    elif isinstance(node, tuple):
        for item in node:
            found.extend(all_spans(item))
    return found


def load(text: str) -> tuple[Journey | None, list[Diagnostic]]:
    source, diagnostics = load_yaml(textwrap.dedent(text), "t.journey.yaml")
    return (source.journeys[0] if source.journeys else None), diagnostics


def codes_of(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code.code for d in diagnostics]


def only(diagnostics: list[Diagnostic], code: str) -> Diagnostic:
    found = [d for d in diagnostics if d.code.code == code]
    assert len(found) == 1, diagnostics
    return found[0]


def journey_with(step_body: str, extra: str = "") -> str:
    """A minimal journey whose one step has `step_body` (YAML, indented for the step)."""
    body = textwrap.indent(textwrap.dedent(step_body).strip("\n"), " " * 6)
    return f"journey: j\nversion: 1\n{extra}stages:\n  recognize:\n    s:\n{body}\n    t:\n      end: done\n"


# --------------------------------------------------------------------------- the SPEC example


def test_spec_example_loads_without_diagnostics() -> None:
    source, diagnostics = load_yaml(SPEC_YAML, "spec.journey.yaml")
    assert diagnostics == []
    assert source.form == "yaml" and len(source.journeys) == 1
    journey = source.journeys[0]
    assert (journey.name, journey.version, journey.owner) == ("solar_onboarding", 3, "maria.lopez@sunco.example")
    assert (journey.title, journey.experience, journey.uses) == ("Solar onboarding", "respond_to_desire", "customer")
    assert journey.entry == Entry(
        "quote_requested", Binary("!=", Name(("profile", "segment")), Literal("churned")), None
    )
    assert journey.reentry == Reentry("after", Duration(90, "d"))
    assert journey.exits == (Exit("unsubscribed"), Exit("contract_cancelled"))
    assert journey.goals == (Goal("signed", "contract_signed", None, Duration(30, "d"), Name(("event", "amount"))),)
    assert journey.caps == (Cap("email", 3, Duration(7, "d")),)
    assert journey.quiet == Quiet("21:00", "08:00")
    assert [stage.name for stage in journey.stages] == ["recognize", "request"]
    steps = journey.step_map()
    assert steps["welcome"].actions == (
        Send("email", "welcome", (Arg("roof", Name(("event", "roof_area_m2"))),)),
        SetProfile("segment", Literal("active")),
    )
    assert steps["welcome"].flow == Goto(Target("size_roof"))
    size_roof = steps["size_roof"].flow
    assert isinstance(size_roof, Choose)
    assert size_roof.branches[0] == When(
        Binary(">=", Name(("event", "roof_area_m2")), Literal(40)), Target("offer_full")
    )
    assert size_roof.otherwise == Target("advisor_call")
    assert steps["await_signature"].flow == Wait(
        (WaitArm("contract_signed", Target("install")),), Timeout(Target("nudge"), after=Duration(7, "d"))
    )
    assert steps["nudge"].flow == Experiment(
        "nudge_copy",
        (
            Variant("friendly", 50, Target("nudge_friendly")),
            Variant("urgent", 40, Target("nudge_urgent")),
            Variant("control", 10, Target("lost"), control=True),
        ),
    )
    assert steps["lost"].flow == End("lost")


def test_spec_example_equals_the_dsl_ir() -> None:
    """The YAML twin of a DSL journey gives the same IR (spans aside)."""
    dsl = """
    journey solar_onboarding {
      title "Solar onboarding"
      version 3
      owner "maria.lopez@sunco.example"
      experience respond_to_desire
      uses customer
      entry on quote_requested where profile.segment != "churned"
      reentry after 90d
      exit on unsubscribed
      exit on contract_cancelled
      goal signed on contract_signed within 30d value event.amount
      cap email 3 per 7d
      quiet 21:00-08:00
      stage recognize {
        step welcome {
          send email welcome with { roof: event.roof_area_m2 }
          set profile.segment = "active"
          -> size_roof
        }
      }
      stage request {
        step size_roof {
          choose {
            when event.roof_area_m2 >= 40 -> offer_full
            when event.roof_area_m2 >= 15 -> offer_small
            otherwise -> advisor_call
          }
        }
        step await_signature { wait { on contract_signed -> install after 7d -> nudge } }
        step nudge {
          experiment nudge_copy {
            variant friendly 50% -> nudge_friendly
            variant urgent 40% -> nudge_urgent
            control 10% -> lost
          }
        }
        step lost { end lost }
      }
    }
    """
    from_dsl, dsl_diagnostics = parse_dsl(textwrap.dedent(dsl), "spec.journey")
    from_yaml, yaml_diagnostics = load_yaml(SPEC_YAML, "spec.journey.yaml")
    assert dsl_diagnostics == [] and yaml_diagnostics == []
    assert from_yaml.journeys == from_dsl.journeys


# --------------------------------------------------------------------------- constructs


def test_header_items_and_policies() -> None:
    journey, diagnostics = load(
        """
        journey: cart
        title: 2024
        version: 2
        owner: ana@example.com
        team: growth
        description: "Abandoned carts: one instance per cart."
        tags: [retail, "q3"]
        uses: shop
        entry: {on: cart_updated, key: event.cart_id}
        audience: profile.ltv > 100
        reentry: always
        quiet: "8:00-9:30"
        stages:
          recognize:
            s: {end: null}
        """
    )
    assert diagnostics == []
    assert journey is not None
    assert journey.title == "2024"  # a text field takes the scalar as written
    assert (journey.team, journey.tags) == ("growth", ("retail", "q3"))
    assert journey.description == "Abandoned carts: one instance per cart."
    assert journey.entry == Entry("cart_updated", None, Name(("event", "cart_id")))
    assert journey.audience == Binary(">", Name(("profile", "ltv")), Literal(100))
    assert journey.reentry == Reentry("always")
    assert journey.quiet == Quiet("08:00", "09:30")  # one spelling of a time, as the DSL stores it
    assert journey.steps()[0].flow == End(None)


def test_reentry_never_and_exit_where() -> None:
    journey, diagnostics = load(
        """
        journey: j
        reentry: never
        exit:
          - {on: unsubscribed, where: 'event.reason == "spam"'}
        stages: {a: {s: {end: x}}}
        """
    )
    assert diagnostics == []
    assert journey is not None
    assert journey.reentry == Reentry("never")
    assert journey.exits == (Exit("unsubscribed", Binary("==", Name(("event", "reason")), Literal("spam"))),)


def test_sleep_is_wait_duration_with_next() -> None:
    journey, diagnostics = load(journey_with("wait: 30d\nnext: t"))
    assert diagnostics == []
    assert journey is not None
    assert journey.steps()[0].flow == Sleep(Duration(30, "d"), Target("t"))


def test_wait_arms_with_where_and_at() -> None:
    journey, diagnostics = load(
        journey_with(
            """
            wait:
              - {on: paid, where: event.amount > 0, next: t}
              - {on: cancelled, next: t}
              - {at: profile.renewal_at, next: t}
            """
        )
    )
    assert diagnostics == []
    assert journey is not None
    assert journey.steps()[0].flow == Wait(
        (
            WaitArm("paid", Target("t"), Binary(">", Name(("event", "amount")), Literal(0))),
            WaitArm("cancelled", Target("t")),
        ),
        Timeout(Target("t"), at=Name(("profile", "renewal_at"))),
    )


def test_actions_emit_call_and_with_values() -> None:
    journey, diagnostics = load(
        journey_with(
            """
            do:
              - emit: {event: install_scheduled, with: {amount: event.amount}}
              - call: {name: crm_task, with: {kind: '"advisor_call"', n: 2}}
              - send: {channel: sms, template: hello}
            next: t
            """
        )
    )
    assert diagnostics == []
    assert journey is not None
    assert journey.steps()[0].actions == (
        Emit("install_scheduled", (Arg("amount", Name(("event", "amount"))),)),
        CallAction("crm_task", (Arg("kind", Literal("advisor_call")), Arg("n", Literal(2)))),
        Send("sms", "hello"),
    )


def test_variant_named_control_and_percent_weight() -> None:
    journey, diagnostics = load(
        journey_with(
            """
            experiment:
              name: e
              variants:
                - {name: a, weight: 60%, next: t}
                - {control: true, weight: 40, next: t}
            """
        )
    )
    assert diagnostics == []
    assert journey is not None
    assert journey.steps()[0].flow == Experiment(
        "e", (Variant("a", 60, Target("t")), Variant("control", 40, Target("t"), control=True))
    )


def test_schema_document() -> None:
    source, diagnostics = load_yaml(
        textwrap.dedent(
            """
            schema: customer
            profile:
              email: string
              segment: enum(new, active)
              tags: list<string>
              seen_at: timestamp?
            events:
              quote_requested: {roof_area_m2: number}
              unsubscribed: {}
              ping:
            channels:
              email: {cost: 0.002, requires: profile.consent_email}
              push: {cost: 0}
              web:
            """
        ),
        "customer.journey.yaml",
    )
    assert diagnostics == []
    (schema,) = source.schemas
    assert schema.name == "customer"
    assert [f.type for f in schema.profile] == [
        TypeRef("string"),
        TypeRef("enum", members=("new", "active")),
        TypeRef("list", item=TypeRef("string")),
        TypeRef("timestamp", nullable=True),
    ]
    assert [(e.name, len(e.fields)) for e in schema.events] == [
        ("quote_requested", 1),
        ("unsubscribed", 0),
        ("ping", 0),
    ]
    assert schema.channels == (ChannelDef("email", 0.002, "consent_email"), ChannelDef("push", 0), ChannelDef("web"))


def test_several_documents_in_one_stream() -> None:
    text = "schema: s\nprofile: {a: number}\n---\njourney: one\nstages: {x: {a: {end: y}}}\n---\njourney: two\n"
    source, diagnostics = load_yaml(text, "all.journey.yaml")
    assert diagnostics == []
    assert [s.name for s in source.schemas] == ["s"]
    assert [j.name for j in source.journeys] == ["one", "two"]


# --------------------------------------------------------------------------- positions


def test_spans_count_from_one() -> None:
    journey, _ = load("journey: j\nstages:\n  a:\n    first: {next: second}\n    second: {end: x}\n")
    assert journey is not None
    step = journey.steps()[0]
    assert (step.span.line, step.span.col) == (4, 5)  # type: ignore[union-attr]
    target = step.flow.target  # type: ignore[union-attr]
    assert (target.span.line, target.span.col, target.span.end_col) == (4, 19, 25)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        # The unknown token `@` is the 30th character of the expression in every style below.
        ('entry: {on: e, where: profile.segment != "churned" @ 1}', 23 + 29),
        ("entry: {on: e, where: 'profile.segment != \"churned\" @ 1'}", 24 + 29),
        ('entry: {on: e, where: "profile.segment_nam >= 12345 @ 1"}', 24 + 29),
        ('entry:\n  on: e\n  where: profile.segment != "churned" @ 1', 10 + 29),
    ],
)
def test_error_inside_an_expression_points_at_its_column(line: str, column: int) -> None:
    _, diagnostics = load(f"journey: j\n{line}\n")
    assert diagnostics, "the stray `@` must be reported"
    first = diagnostics[0]
    assert first.code.code in ("JD001", "JD002")
    assert first.span is not None
    assert first.span.line == line.count("\n") + 2
    assert first.span.col == column


def test_expression_node_spans_are_file_positions() -> None:
    journey, _ = load("journey: j\nentry: {on: e, where: 'profile.ltv > 10'}\n")
    assert journey is not None and journey.entry is not None
    where = journey.entry.where
    assert isinstance(where, Binary)
    assert where.right.span is not None and (where.right.span.line, where.right.span.col) == (2, 38)


def test_escaped_or_block_scalars_point_at_the_scalar() -> None:
    _, diagnostics = load('journey: j\nentry: {on: e, where: "profile.x \\u0021= 1 @"}\n')
    assert diagnostics and diagnostics[0].span is not None
    assert (diagnostics[0].span.line, diagnostics[0].span.col) == (2, 23)
    _, diagnostics = load("journey: j\nentry:\n  on: e\n  where: |\n    profile.x @ 1\n")
    assert diagnostics and diagnostics[0].span is not None
    assert diagnostics[0].span.line == 4


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "code", "line", "col"),
    [
        ("journey: j\nstages: [\n", "JD003", 3, 1),
        ("{a: b: c}", "JD003", 1, 6),
        ("[", "JD003", 1, 2),
        ("- journey: j\n", "JD004", 1, 1),
        ("just text", "JD004", 1, 1),
        ("journey: j\nversion: three\n", "JD004", 2, 10),
        ("journey: j\ntitel: x\n", "JD004", 2, 1),
        ("journey: Big Journey\n", "JD004", 1, 10),
        ("title: x\n", "JD004", 1, 1),
        ("journey: j\nreentry: after soon\n", "JD007", 2, 10),
        ("journey: j\nquiet: 25:00-08:00\n", "JD007", 2, 8),
        ("journey: j\ncaps: [{channel: email, max: 3, per: 7 days}]\n", "JD007", 2, 38),
        ("journey: j\ngoals: [{name: g}]\n", "JD004", 2, 9),
        ("journey: j\ntitle: a\x00b\n", "JD003", 2, 9),
        (
            journey_with("experiment: {name: e, variants: [{name: hold, control: true, weight: 9, next: t}]}"),
            "JD004",
            6,
            41,
        ),
    ],
)
def test_bad_input_gives_a_positioned_diagnostic(text: str, code: str, line: int, col: int) -> None:
    _, diagnostics = load(text)
    assert code in codes_of(diagnostics), diagnostics
    found = next(d for d in diagnostics if d.code.code == code)
    assert found.span is not None
    assert (found.span.line, found.span.col) == (line, col)


def test_unknown_key_hints_the_close_one() -> None:
    _, diagnostics = load(journey_with("nxet: t"))
    unknown = next(d for d in diagnostics if "unknown key" in d.message)
    assert unknown.hint == "did you mean `next`?"


def test_missing_flow_and_two_flows() -> None:
    _, diagnostics = load(journey_with("do: []"))
    assert "has no flow" in only(diagnostics, "JD004").message
    _, diagnostics = load(journey_with("next: t\nend: done"))
    two = only(diagnostics, "JD004")
    assert "more than one flow" in two.message and two.span is not None and two.span.line == 7


def test_wait_duration_needs_next() -> None:
    _, diagnostics = load(journey_with("wait: 3d"))
    assert "needs `next" in only(diagnostics, "JD004").message


def test_bad_weight_and_bad_duration_are_bad_literals() -> None:
    _, diagnostics = load(journey_with("experiment: {name: e, variants: [{name: a, weight: half, next: t}]}"))
    assert "weight" in only(diagnostics, "JD007").message
    _, diagnostics = load(journey_with("wait: 3 days\nnext: t"))
    assert only(diagnostics, "JD007").hint is not None


def test_an_action_has_one_key() -> None:
    _, diagnostics = load(
        journey_with("do:\n  - {send: {channel: a, template: b}, set: {field: profile.a, value: 1}}\nnext: t")
    )
    assert "one key" in only(diagnostics, "JD004").message


def test_set_field_must_be_a_profile_field() -> None:
    _, diagnostics = load(journey_with("do:\n  - set: {field: segment, value: 1}\nnext: t"))
    assert "profile field" in only(diagnostics, "JD004").message


# --------------------------------------------------------------------------- duplicates are reported, never dropped


def checked(text: str) -> list[Diagnostic]:
    """The loader's diagnostics and the checker's: a name written twice is the checker's to report (JD101)."""
    source, diagnostics = load_yaml(text, "t.journey.yaml")
    return check_project(Project(files=[source], diagnostics=diagnostics, sources={"t.journey.yaml": text}))


def test_duplicate_step_names_are_jd101_and_both_kept() -> None:
    text = "journey: j\nstages:\n  a:\n    s: {next: s}\n    s: {end: x}\n"
    journey, diagnostics = load(text)
    assert diagnostics == []  # kept, and reported once, by the checker
    assert journey is not None and [step.name for step in journey.steps()] == ["s", "s"]
    duplicate = only(checked(text), "JD101")
    assert duplicate.span is not None and (duplicate.span.line, duplicate.span.col) == (5, 5)
    assert duplicate.message == "step `s` is defined twice in journey `j`"
    assert duplicate.hint == "rename one of them (first at t.journey.yaml:4)"


def test_duplicate_stage_names_are_jd101() -> None:
    text = "journey: j\nstages:\n  a: {s: {end: x}}\n  a: {t: {end: x}}\n"
    journey, diagnostics = load(text)
    assert diagnostics == []
    assert journey is not None and len(journey.stages) == 2
    assert codes_of(checked(text)).count("JD101") == 1


def test_duplicate_with_arguments_are_jd101_in_both_forms() -> None:
    text = journey_with("do:\n  - send: {channel: email, template: t, with: {n: 1, n: 2}}\nnext: t")
    journey, diagnostics = load(text)
    assert diagnostics == []
    assert journey is not None
    send = journey.steps()[0].actions[0]
    assert isinstance(send, Send) and [arg.name for arg in send.args] == ["n", "n"]
    duplicate = only(checked(text), "JD101")
    assert duplicate.message == "`with` argument `n` is defined twice in step `s`"
    assert duplicate.span is not None and (duplicate.span.line, duplicate.span.col) == (7, 60)  # the second `n`
    dsl = "journey j {\n  stage recognize { step s { send email t with { n: 1, n: 2 } -> s } }\n}\n"
    source, problems = parse_dsl(dsl, "t.journey")
    found = check_project(Project(files=[source], diagnostics=problems, sources={"t.journey": dsl}))
    assert only(found, "JD101").message == "`with` argument `n` is defined twice in step `s`"


def test_duplicate_keyword_keys_are_jd004() -> None:
    journey, diagnostics = load("journey: j\ntitle: first\ntitle: second\n")
    duplicate = only(diagnostics, "JD004")
    assert "duplicate key `title`" in duplicate.message and "line 2" in duplicate.message
    assert duplicate.span is not None and duplicate.span.line == 3
    assert journey is not None and journey.title == "first"


def test_an_empty_file_is_reported() -> None:
    source, diagnostics = load_yaml("# only a comment\n", "empty.journey.yaml")
    assert codes_of(diagnostics) == ["JD004"]
    assert source.journeys == () and source.schemas == ()


def test_both_composers_give_the_same_spans(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, _ = load_yaml(SPEC_YAML, "spec.journey.yaml")
    monkeypatch.setattr(safe_yaml, "_CSafeLoader", None)
    slow, _ = load_yaml(SPEC_YAML, "spec.journey.yaml")
    assert all_spans(fast.journeys) == all_spans(slow.journeys)
    assert all(span is not None for _, span in all_spans(fast.journeys))
