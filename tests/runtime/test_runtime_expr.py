"""Expression closures: operators, null safety, functions, errors, and refusal of malformed nodes."""

from __future__ import annotations

from typing import Any

import pytest

from journeydsl.runtime.expr import ExprError, PlanError, Scope, compile_expr
from journeydsl.runtime.plan import Plan
from journeydsl.runtime.state import VARIANT, new_instance

PROFILE = {"segment": "vip", "ltv": 120.0, "name": "Ada", "tags": ["a", "b"], "none": None, "since": 1000.0}
EVENT = {"amount": 5, "id": "e1", "type": "paid", "at": 1000.0 + 3 * 86400}


def ev(node: list[Any], instance: list[Any] | None = None) -> Any:
    return compile_expr(node)(Scope(PROFILE, EVENT, instance, EVENT["at"]))


P = ["ref", "profile"]


@pytest.mark.parametrize(
    ("node", "want"),
    [
        (["==", [*P, "segment"], ["lit", "vip"]], True),
        (["!=", [*P, "missing"], ["lit", "vip"]], False),  # null makes comparisons false
        (["==", [*P, "missing"], ["lit", None]], True),  # the explicit null test
        (["<", [*P, "missing"], ["lit", 3]], False),
        ([">", [*P, "ltv"], ["lit", "x"]], False),  # mixed types compare false
        (["+", [*P, "missing"], ["lit", 1]], None),  # null arithmetic is null
        (["+", [*P, "since"], ["dur", 86400]], 87400.0),  # timestamp + duration
        (["-", ["ref", "event", "at"], [*P, "since"]], 3 * 86400.0),  # timestamp - timestamp
        (["%", ["lit", 7], ["lit", 3]], 1),
        (["in", ["lit", "a"], [*P, "tags"]], True),
        (["not in", ["lit", "z"], [*P, "tags"]], True),
        (["in", ["lit", "a"], [*P, "missing"]], False),
        (["and", ["lit", True], [*P, "missing"]], False),
        (["or", [*P, "missing"], ["lit", True]], True),
        (["not", [">", [*P, "ltv"], ["lit", 500]]], True),
        (["not", [*P, "missing"]], None),
        (["neg", ["ref", "event", "amount"]], -5),
        (["list", ["lit", 1], ["ref", "event", "amount"]], [1, 5]),
        (["call", "lower", [*P, "name"]], "ada"),
        (["call", "upper", [*P, "missing"]], None),
        (["call", "len", [*P, "tags"]], 2),
        (["call", "contains", [*P, "tags"], ["lit", "b"]], True),
        (["call", "starts_with", [*P, "name"], ["lit", "A"]], True),
        (["call", "coalesce", [*P, "none"], [*P, "missing"], ["lit", 3]], 3),
        (["call", "min", ["lit", 4], ["ref", "event", "amount"]], 4),
        (["call", "max", ["list", ["lit", 4], ["lit", 9]]], 9),
        (["call", "abs", ["lit", -2.5]], 2.5),
        (["call", "round", ["lit", 2.567], ["lit", 1]], 2.6),
        (["call", "round", ["lit", 2.5]], 2),
        (["call", "days_since", [*P, "since"]], 3.0),
        (["call", "hours_since", [*P, "since"]], 72.0),
        (["ref", "now"], EVENT["at"]),
        (["ref", "journey", "variant"], None),
    ],
)
def test_values(node: list[Any], want: Any) -> None:
    assert ev(node) == want


def test_journey_names_read_the_instance() -> None:
    instance = new_instance("j", 1, None, 1, {**EVENT, "at": 42.0})
    instance[VARIANT] = "friendly"
    assert ev(["ref", "journey", "entered_at"], instance) == 42.0
    assert ev(["ref", "journey", "variant"], instance) == "friendly"


@pytest.mark.parametrize(
    "node",
    [
        ["/", ["lit", 1], ["lit", 0]],
        ["%", ["lit", 1], ["lit", 0]],
        ["+", ["lit", "a"], ["lit", 1]],
        ["neg", ["lit", "a"]],
        ["call", "lower", ["lit", 3]],
    ],
)
def test_runtime_errors_raise_expr_error(node: list[Any]) -> None:
    with pytest.raises(ExprError):
        ev(node)


@pytest.mark.parametrize(
    "node",
    [[], ["nope", 1], ["ref", "secret", "x"], ["call", "eval", ["lit", "1"]], ["call", "lower"], "profile.x"],
)
def test_malformed_nodes_are_refused_at_load(node: Any) -> None:
    with pytest.raises(PlanError):
        compile_expr(node)


def test_a_plan_with_an_experiment_without_variants_is_refused_on_load() -> None:
    raw = {
        "journey": "j",
        "version": 1,
        "entry": {"event": "start"},
        "steps": [{"id": 0, "name": "split", "flow": {"kind": "experiment", "name": "e", "variants": []}}],
    }
    with pytest.raises(PlanError, match="without variants"):
        Plan(raw)
