"""Round trips: DSL -> IR -> YAML -> IR and YAML -> IR -> DSL -> IR give the same IR, for every example journey;
and load_yaml(to_yaml(ir)) == ir for generated IR covering every construct and awkward strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.diagnostics import Diagnostic
from journeydsl.diagnostics.model import Severity
from journeydsl.ir import (
    Arg,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    Duration,
    Emit,
    End,
    Entry,
    EventDef,
    Exit,
    Experiment,
    Expr,
    FieldDef,
    Goal,
    Goto,
    Journey,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    Sleep,
    SourceFile,
    Span,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.syntax import format_dsl, load_yaml, parse_dsl, parse_expression, to_yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent


def _examples(*suffixes: str) -> list[Path]:
    folders = [ROOT / "journeys", ROOT / "tests" / "syntax", HERE]
    found = {p for folder in folders if folder.is_dir() for p in folder.rglob("*") if p.name.endswith(suffixes)}
    return sorted(found)


DSL_EXAMPLES = _examples(".journey")
YAML_EXAMPLES = _examples(".journey.yaml", ".journey.yml")


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity is Severity.ERROR]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DSL_EXAMPLES, ids=_id)
def test_dsl_to_yaml_and_back_keeps_the_ir(path: Path) -> None:
    source, diagnostics = parse_dsl(path.read_text(encoding="utf-8"), str(path))
    if errors(diagnostics):
        pytest.skip(f"{_id(path)} is a negative fixture")
    text = to_yaml(source)
    again, yaml_diagnostics = load_yaml(text, "converted.journey.yaml")
    assert yaml_diagnostics == [], text
    assert again.schemas == source.schemas
    assert again.journeys == source.journeys
    assert to_yaml(again) == text  # the writer is stable


@pytest.mark.parametrize("path", YAML_EXAMPLES, ids=_id)
def test_yaml_to_dsl_and_back_keeps_the_ir(path: Path) -> None:
    source, diagnostics = load_yaml(path.read_text(encoding="utf-8"), str(path))
    assert errors(diagnostics) == []
    text = format_dsl(source)
    again, dsl_diagnostics = parse_dsl(text, "converted.journey")
    assert errors(dsl_diagnostics) == [], text
    assert again.schemas == source.schemas
    assert again.journeys == source.journeys


def test_there_are_examples() -> None:
    assert DSL_EXAMPLES and YAML_EXAMPLES


# --------------------------------------------------------------------------- generated IR

_ORIGIN = Span("gen", 1, 1, 1, 1)
_EXPRESSIONS = [
    "event.amount",
    '"active"',
    'profile.segment != "churned" and not (profile.ltv < 10 or event.roof_area_m2 >= 40)',
    "-1.5 * (profile.ltv + 3) % 7",
    "lower(profile.email) in [\"a@b.c\", 'x'] ".replace("'x'", '"x"'),
    "days_since(profile.last_purchase_at) > 30",
    "now - 7d",
    "null",
    "true",
    "42",
    '"yes"',
    '"on"',
    '"quote \\" and backslash \\\\"',
    "profile.tags not in [1, 2.5, null]",
    'coalesce(event.zip, "28001")',
]


def _parse(text: str) -> Expr:
    expr, diagnostics = parse_expression(text, _ORIGIN)
    assert expr is not None and diagnostics == [], (text, diagnostics)
    return expr


names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True)
texts = st.text(max_size=24)
durations = st.builds(Duration, st.integers(0, 10_000), st.sampled_from("smhdw"))
exprs = st.sampled_from([_parse(text) for text in _EXPRESSIONS])
targets = st.builds(Target, names)
args = st.lists(st.builds(Arg, names, exprs), max_size=2, unique_by=lambda a: a.name).map(tuple)
actions = st.one_of(
    st.builds(Send, names, names, args),
    st.builds(SetProfile, names, exprs),
    st.builds(Emit, names, args),
    st.builds(CallAction, names, args),
)
timeouts = st.one_of(
    st.builds(Timeout, targets, after=durations),
    st.builds(Timeout, targets, at=exprs),
)
variants = st.builds(Variant, names, st.integers(0, 100), targets, st.just(False))
control_variants = st.builds(Variant, st.just("control"), st.integers(0, 100), targets, st.just(True))
flows = st.one_of(
    st.builds(Goto, targets),
    st.builds(Sleep, durations, targets),
    st.builds(
        Wait,
        st.lists(st.builds(WaitArm, names, targets, st.none() | exprs), max_size=3).map(tuple),
        st.none() | timeouts,
    ),
    st.builds(Choose, st.lists(st.builds(When, exprs, targets), max_size=3).map(tuple), st.none() | targets),
    st.builds(Experiment, names, st.lists(st.one_of(variants, control_variants), max_size=4).map(tuple)),
    st.builds(End, st.none() | names),
)
steps = st.builds(Step, names, st.lists(actions, max_size=2).map(tuple), flows)
stages = st.builds(Stage, names, st.lists(steps, max_size=3, unique_by=lambda s: s.name).map(tuple))
hours = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))
journeys = st.builds(
    Journey,
    names,
    version=st.none() | st.integers(1, 10**6),
    owner=st.none() | texts,
    title=st.none() | texts,
    team=st.none() | texts,
    description=st.none() | texts,
    tags=st.lists(texts, max_size=3).map(tuple),
    experience=st.none() | names,
    uses=st.none() | names,
    entry=st.none() | st.builds(Entry, names, st.none() | exprs, st.none() | exprs),
    audience=st.none() | exprs,
    reentry=st.none()
    | st.builds(Reentry, st.sampled_from(["never", "always"]))
    | st.builds(Reentry, st.just("after"), durations),
    exits=st.lists(st.builds(Exit, names, st.none() | exprs), max_size=2).map(tuple),
    goals=st.lists(
        st.builds(Goal, names, names, st.none() | exprs, st.none() | durations, st.none() | exprs), max_size=2
    ).map(tuple),
    caps=st.lists(st.builds(Cap, names, st.integers(0, 1000), durations), max_size=2).map(tuple),
    quiet=st.none() | st.builds(Quiet, hours, hours),
    stages=st.lists(stages, max_size=2, unique_by=lambda s: s.name).map(tuple),
)
scalar_types = st.builds(TypeRef, st.sampled_from(["string", "number", "bool", "timestamp", "duration"]), st.booleans())
types = st.one_of(
    scalar_types,
    st.builds(TypeRef, st.just("list"), st.booleans(), scalar_types),
    st.builds(
        TypeRef, st.just("enum"), st.booleans(), members=st.lists(names, min_size=1, max_size=3, unique=True).map(tuple)
    ),
)
fields = st.lists(st.builds(FieldDef, names, types), max_size=4, unique_by=lambda f: f.name).map(tuple)
costs = st.integers(0, 100) | st.floats(0, 10, allow_nan=False, allow_infinity=False)
schemas = st.builds(
    Schema,
    names,
    fields,
    st.lists(st.builds(EventDef, names, fields), max_size=3, unique_by=lambda e: e.name).map(tuple),
    st.lists(st.builds(ChannelDef, names, costs, st.none() | names), max_size=3, unique_by=lambda c: c.name).map(tuple),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(schemas, max_size=1), st.lists(journeys, min_size=1, max_size=1))
def test_generated_ir_survives_yaml(schema_list: list[Schema], journey_list: list[Journey]) -> None:
    source = SourceFile("gen.journey.yaml", tuple(schema_list), tuple(journey_list), form="yaml")
    text = to_yaml(source)
    again, diagnostics = load_yaml(text, "gen.journey.yaml")
    assert diagnostics == [], text
    assert again == source, text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(schemas, max_size=1), st.lists(journeys, min_size=1, max_size=1))
def test_generated_ir_survives_yaml_then_dsl(schema_list: list[Schema], journey_list: list[Journey]) -> None:
    """`convert --to yaml` then `convert --to dsl`: the IR is unchanged."""
    source = SourceFile("gen.journey.yaml", tuple(schema_list), tuple(journey_list), form="yaml")
    from_yaml, _ = load_yaml(to_yaml(source), "gen.journey.yaml")
    text = format_dsl(from_yaml)
    again, diagnostics = parse_dsl(text, "gen.journey")
    assert errors(diagnostics) == [], text
    assert (again.schemas, again.journeys) == (source.schemas, source.journeys), text
