"""Bad scenario input never raises: any text, and any YAML shape, gives diagnostics with positions."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.testing.scenario import parse_scenarios

BASE = (Path(__file__).parent / "fixtures" / "solar" / "journeys" / "solar.scenario.yaml").read_text()

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.floats(allow_nan=False))
keys = st.sampled_from(
    ["journey", "scenarios", "name", "events", "expect", "type", "at", "data", "advance", "path", "sends", "x"]
)
shapes = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=4), max_leaves=12
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    _, diagnostics = parse_scenarios(text, "f.scenario.yaml")
    assert all(d.span is not None and d.span.line >= 1 and d.span.col >= 1 for d in diagnostics)


@settings(max_examples=50, deadline=None)
@given(shapes)
def test_any_yaml_shape(document: object) -> None:
    parse_scenarios(yaml.safe_dump(document), "f.scenario.yaml")


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=len(BASE) - 1), st.sampled_from(["", "{", "]", ":", "-", "'", "!!"]))
def test_the_fixture_with_one_edit(position: int, insert: str) -> None:
    text = BASE[:position] + insert + BASE[position + 1 :]
    _, diagnostics = parse_scenarios(text, "f.scenario.yaml")
    assert all(d.span is not None for d in diagnostics)
