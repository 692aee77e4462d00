"""Coverage maths over the IR: steps and (from, to) transitions, per journey and in total."""

from __future__ import annotations

import pytest

from journeydsl import ir
from journeydsl.testing.coverage import Coverage, journey_edges, percent


def step(name: str, flow: ir.Flow) -> ir.Step:
    return ir.Step(name, (), flow)


def to(name: str) -> ir.Target:
    return ir.Target(name)


def sample() -> ir.Journey:
    # a -> wait {on e -> b, on f -> b, after 1d -> c}; b -> end; c -> choose {x -> b, otherwise -> d}; d -> end
    wait = ir.Wait((ir.WaitArm("e", to("b")), ir.WaitArm("f", to("b"))), ir.Timeout(to("c"), after=ir.Duration(1, "d")))
    choose = ir.Choose((ir.When(ir.Literal(True), to("b")),), otherwise=to("d"))
    steps = (step("a", wait), step("b", ir.End("won")), step("c", choose), step("d", ir.End("lost")))
    return ir.Journey("j", version=1, stages=(ir.Stage("s", steps),))


def test_edges_are_distinct_pairs_in_source_order() -> None:
    assert journey_edges(sample()) == [("a", "b"), ("a", "c"), ("c", "b"), ("c", "d")]


def test_coverage_per_journey_and_total() -> None:
    other = ir.Journey("k", version=1, stages=(ir.Stage("s", (step("only", ir.End()),)),))
    coverage = Coverage.of([sample(), other])
    coverage.visit("j", ["a", "b"])
    coverage.visit("j", ["a", "c", "d"])
    j = coverage.journeys["j"]
    assert (j.steps_covered, len(j.steps)) == (4, 4)
    assert (j.edges_covered, len(j.edges)) == (3, 4)
    assert j.missed_edges() == [("c", "b")]
    assert j.edge_percent == pytest.approx(75.0)
    # k has one step and no transitions: 0 of 1 steps; nothing to cover counts as covered.
    assert coverage.journeys["k"].step_percent == 0.0
    assert coverage.journeys["k"].edge_percent == 100.0
    assert coverage.step_percent == pytest.approx(100 * 4 / 5)
    assert coverage.edge_percent == pytest.approx(75.0)
    assert coverage.below(80) and not coverage.below(75)


def test_unknown_steps_and_journeys_are_ignored() -> None:
    coverage = Coverage.of([sample()])
    coverage.visit("j", ["a", "zz", "b"])
    coverage.visit("nope", ["a"])
    assert coverage.journeys["j"].visited_steps == {"a", "b"}
    assert coverage.journeys["j"].visited_edges == set()  # a->zz and zz->b do not exist


def test_full_coverage_is_not_below_100() -> None:
    coverage = Coverage.of([sample()])
    for path in (["a", "b"], ["a", "c", "b"], ["a", "c", "d"]):
        coverage.visit("j", path)
    assert coverage.step_percent == 100.0 and coverage.edge_percent == 100.0
    assert not coverage.below(100)
    assert "total" in coverage.render_text()


def test_percent_of_nothing() -> None:
    assert percent(0, 0) == 100.0
