"""Every node kind has a shape in each back end, and a step node's action lines are the printer's short form."""

from __future__ import annotations

from typing import get_args

import pytest

from journeydsl.ir import Action, Arg, CallAction, Emit, Literal, Name, Send, SetProfile
from journeydsl.render import graphviz_backend, mermaid
from journeydsl.render.graph import STEP_KINDS
from journeydsl.syntax.printer import format_action

# mypy sees that render/graph.step_kind handles every ir.Flow; the shape tables are keyed by its strings, so this
# test is what catches a step kind without a shape.
NODE_KINDS = (*STEP_KINDS, "entry", "exits", "goals")


def test_every_node_kind_has_a_graphviz_style_and_a_mermaid_shape() -> None:
    assert set(NODE_KINDS) - set(graphviz_backend._NODE_STYLE) == set()
    assert set(NODE_KINDS) - set(mermaid._SHAPES) == set()


ARGS = (Arg("roof", Name(("event", "roof_area_m2"))),)
SHORT_AND_LONG: list[tuple[Action, str, str]] = [
    (Send("email", "welcome", ARGS), "send email welcome", "send email welcome with { roof: event.roof_area_m2 }"),
    (SetProfile("ltv", Literal(0)), "set ltv = 0", "set profile.ltv = 0"),
    (Emit("nudged", ARGS), "emit nudged", "emit nudged with { roof: event.roof_area_m2 }"),
    (CallAction("crm_sync", ARGS), "call crm_sync", "call crm_sync with { roof: event.roof_area_m2 }"),
]


def test_the_examples_cover_every_action_kind() -> None:
    assert {type(action) for action, _, _ in SHORT_AND_LONG} == set(get_args(Action))


@pytest.mark.parametrize(
    ("action", "short", "long"), SHORT_AND_LONG, ids=[type(a).__name__ for a, _, _ in SHORT_AND_LONG]
)
def test_format_action_short_is_the_diagram_form(action: Action, short: str, long: str) -> None:
    assert format_action(action, short=True) == short
    assert format_action(action) == long
