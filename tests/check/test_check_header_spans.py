"""Header values have spans in the IR (Journey.value_spans), in both forms, and diagnostics about them use them.

The checker once looked for `uses` or `experience` at the start of a line inside the journey's text, which could
find another line first (a `with` key named `uses` in the YAML form).
"""

from __future__ import annotations

from journeydsl.check import check_project
from journeydsl.ir import Span
from journeydsl.project import Project
from journeydsl.syntax import parse_dsl
from journeydsl.syntax.yaml_loader import load_yaml

DSL = """\
journey j {
  title "Welcome"
  version 2
  owner "ana@shop.example"
  team "Growth"
  description "Says hello"
  tags ["a", "b"]
  experience curated_offer
  uses shopz
  entry on signed_up
  stage recognize { step a { end } }
}
"""

YAML = """\
journey: j
title: Welcome
version: 2
owner: ana@shop.example
team: Growth
description: Says hello
tags: [a, b]
entry: {on: signed_up}
stages:
  recognize:
    a:
      do:
        - send:
            channel: email
            template: t
            with:
              uses: profile.x
              experience: profile.y
      end: done
experience:   curated_offer
uses: "shopz"
"""


def _text(source: str, span: Span) -> str:
    assert span.line == span.end_line
    return source.splitlines()[span.line - 1][span.col - 1 : span.end_col - 1]


def test_every_header_value_has_its_span_in_both_forms() -> None:
    expected = {
        "title": ('"Welcome"', "Welcome"),
        "version": ("2", "2"),
        "owner": ('"ana@shop.example"', "ana@shop.example"),
        "team": ('"Growth"', "Growth"),
        "description": ('"Says hello"', "Says hello"),
        "tags": ('"a", "b"]', "[a, b]"),  # the DSL's grammar drops the `[`
        "experience": ("curated_offer", "curated_offer"),
        "uses": ("shopz", '"shopz"'),
    }
    dsl, _ = parse_dsl(DSL, "j.journey")
    yaml, _ = load_yaml(YAML, "j.journey.yaml")
    for source, text, column in ((dsl, DSL, 0), (yaml, YAML, 1)):
        spans = dict(source.journeys[0].value_spans)
        assert sorted(spans) == sorted(expected)
        assert {key: _text(text, span) for key, span in spans.items()} == {k: v[column] for k, v in expected.items()}


def test_value_spans_take_no_part_in_equality() -> None:
    dsl, _ = parse_dsl(DSL, "j.journey")
    assert dsl.journeys[0].value_spans
    assert dsl.journeys[0] == type(dsl.journeys[0])(**{**vars(dsl.journeys[0]), "value_spans": ()})


def test_diagnostics_about_header_values_point_at_the_values() -> None:
    for path, text in (("j.journey", DSL), ("j.journey.yaml", YAML)):
        source, diagnostics = (load_yaml if path.endswith(".yaml") else parse_dsl)(text, path)
        project = Project(files=[source], diagnostics=diagnostics, sources={path: text})
        found = {d.code.code: d.span for d in check_project(project) if d.code.code in ("JD107", "JD111")}
        assert found["JD111"] is not None and _text(text, found["JD111"]) == "curated_offer"
        assert found["JD107"] is not None and _text(text, found["JD107"]).strip('"') == "shopz"
