"""Round trips: DSL -> IR -> YAML -> IR and YAML -> IR -> DSL -> IR give the same IR, for every example journey;
and load_yaml(to_yaml(ir)) == ir for generated IR covering every construct and awkward strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ir_strategies import ir_strategies, names, scalar_types
from journeydsl.diagnostics import Diagnostic
from journeydsl.diagnostics.model import Severity
from journeydsl.ir import (
    Expr,
    Journey,
    Schema,
    SourceFile,
    Span,
    TypeRef,
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


types = st.one_of(
    scalar_types,
    st.builds(TypeRef, st.just("list"), st.booleans(), scalar_types),
    st.builds(
        TypeRef, st.just("enum"), st.booleans(), members=st.lists(names, min_size=1, max_size=3, unique=True).map(tuple)
    ),
)
generated = ir_strategies(st.sampled_from([_parse(text) for text in _EXPRESSIONS]), st.text(max_size=24), types)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(generated.schemas, max_size=1), st.lists(generated.journeys, min_size=1, max_size=1))
def test_generated_ir_survives_yaml(schema_list: list[Schema], journey_list: list[Journey]) -> None:
    source = SourceFile("gen.journey.yaml", tuple(schema_list), tuple(journey_list), form="yaml")
    text = to_yaml(source)
    again, diagnostics = load_yaml(text, "gen.journey.yaml")
    assert diagnostics == [], text
    assert again == source, text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(generated.schemas, max_size=1), st.lists(generated.journeys, min_size=1, max_size=1))
def test_generated_ir_survives_yaml_then_dsl(schema_list: list[Schema], journey_list: list[Journey]) -> None:
    """`convert --to yaml` then `convert --to dsl`: the IR is unchanged."""
    source = SourceFile("gen.journey.yaml", tuple(schema_list), tuple(journey_list), form="yaml")
    from_yaml, _ = load_yaml(to_yaml(source), "gen.journey.yaml")
    text = format_dsl(from_yaml)
    again, diagnostics = parse_dsl(text, "gen.journey")
    assert errors(diagnostics) == [], text
    assert (again.schemas, again.journeys) == (source.schemas, source.journeys), text
