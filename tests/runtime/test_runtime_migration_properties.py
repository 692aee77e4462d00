"""Hypothesis: for random journeys, random edits and random checked migrations, no instance is ever left on a step
that does not exist, whatever events and timers reach the customers before and after the new bundle (issue 14)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import build_bundle

from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime import state as S

SCHEMA = """
schema s {
  profile { email: string }
  event start {}
  event e1 {}
  event e2 {}
}
"""

# A step: a wait on e1/e2 with a timeout, a sleep, or an end; targets are step numbers (made names below).
_WAIT = st.tuples(st.just("wait"), st.integers(0, 9), st.integers(0, 9), st.integers(1, 3), st.integers(0, 9))
_SLEEP = st.tuples(st.just("sleep"), st.integers(1, 3), st.integers(0, 9))
_END = st.tuples(st.just("end"))
_STEPS = st.lists(st.one_of(_WAIT, _SLEEP, _END), min_size=1, max_size=5)


def _text(prefix: str, steps: list[tuple[object, ...]], version: int, migrate: str = "") -> str:
    def name(number: object) -> str:
        return f"{prefix}{int(str(number)) % len(steps)}"

    lines = []
    for number, step in enumerate(steps):
        if step[0] == "wait":
            _, on1, on2, days, after = step
            body = f"wait {{ on e1 -> {name(on1)}  on e2 -> {name(on2)}  after {days}d -> {name(after)} }}"
        elif step[0] == "sleep":
            body = f"wait {step[1]}d -> {name(step[2])}"
        else:
            body = "end done"
        lines.append(f"    step {prefix}{number} {{ {body} }}")
    first = f"    step begin {{ -> {prefix}0 }}"
    return (
        f'journey j {{\n  version {version}\n  owner "o@x"\n  uses s\n  entry on start\n  reentry always\n'
        f"  stage only {{\n{first}\n" + "\n".join(lines) + f"\n  }}\n{migrate}}}\n"
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    old=_STEPS,
    new=_STEPS,
    choices=st.lists(st.integers(-1, 9), min_size=5, max_size=5),
    events=st.lists(
        st.tuples(st.sampled_from(["start", "e1", "e2"]), st.integers(0, 2), st.integers(0, 96)), max_size=14
    ),
)
def test_a_checked_migration_never_leaves_an_instance_on_a_missing_step(
    old: list[tuple[object, ...]], new: list[tuple[object, ...]], choices: list[int], events: list[tuple[str, int, int]]
) -> None:
    # every old step where instances rest (wait, sleep) is moved to a new step or kept, as the checker demands
    resting = [number for number, step in enumerate(old) if step[0] != "end"]
    moves = [f"    a{n} -> b{choices[n] % len(new)}" for n in resting if choices[n] >= 0]
    kept = [f"a{n}" for n in resting if choices[n] < 0]
    body = "\n".join(moves + ([f"    keep {', '.join(kept)}"] if kept else []))
    migrate = f"  migrate from 1 {{\n{body}\n  }}\n" if body else ""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        v1 = build_bundle(root / "v1", [SCHEMA + _text("a", old, 1)])
        both = build_bundle(root / "v2", [SCHEMA + _text("a", old, 1), SCHEMA + _text("b", new, 2, migrate)])
    store = MemoryStore()
    first = Engine.open(v1, store=store)
    half = len(events) // 2
    clock = 0
    for number, (kind, customer, hours) in enumerate(events):
        if number == half:
            first = Engine.open(both, store=store)  # the new bundle, with both versions and the migration
        clock = max(clock, hours)
        at = f"2026-01-{1 + clock // 24:02d}T{clock % 24:02d}:00:00Z"
        first.process({"id": f"e{number}", "type": kind, "customer_id": f"c{customer}", "at": at})
        _assert_on_existing_steps(first)
    first.advance("2026-02-01T00:00:00Z")
    _assert_on_existing_steps(first)


def _assert_on_existing_steps(engine: Engine) -> None:
    for customer in engine.store.customers.values():
        for inst in customer["i"].values():
            plan = engine.plans.get((inst[S.JOURNEY], inst[S.VERSION]))
            assert plan is not None
            assert inst[S.STEP] is None or 0 <= inst[S.STEP] < len(plan.steps)
