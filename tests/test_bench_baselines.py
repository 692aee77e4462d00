"""The benchmark's hand-written baselines do the engine's work: they give its records, record by record.

A ratio against a baseline only means something if both produce the same output from the same events.
"""

from __future__ import annotations

from bench.engine import SolarLoop, same_records
from bench.rules import TableLoop, lambda_selector
from bench.runtime import memory_per_instance
from bench.workload import last_time, solar_bundle, solar_events


def test_hand_written_loops_give_the_engines_records() -> None:
    bundle = solar_bundle()
    events = solar_events(400, seed=5)
    until = last_time(events)
    assert same_records(bundle, events, until, loop=SolarLoop(bundle)) is None
    assert same_records(bundle, events, until, loop=TableLoop(bundle, lambda_selector())) is None


def test_a_loop_that_differs_is_caught() -> None:
    bundle = solar_bundle()
    events = solar_events(200, seed=5)
    never_enter = TableLoop(bundle, lambda cid, state, context: None)
    assert same_records(bundle, events, last_time(events), loop=never_enter) is not None


def test_memory_per_instance_measures_the_instances_it_made() -> None:
    # The figure behind the "< 1 KB per active instance" target (bench/runtime.py, bench/scaling.py).
    active, per_customer, per_instance, peak = memory_per_instance(solar_bundle(), 200)
    assert active == 200
    assert 0 < per_instance < per_customer
    assert peak > 0
