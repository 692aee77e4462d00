"""Which event types can be `event` at each step (SPEC 3.3), as a fixed point over the step graph.

The entry step starts with the entry event; an `on E` arm's target gets E; every other edge (goto,
choose, experiment, sleep, a wait's timeout) passes the current set on unchanged. Sets only grow, so
a worklist reaches the fixed point in at most (steps x event types) updates.
"""

from __future__ import annotations

from typing import assert_never

from journeydsl.ir import Choose, End, Experiment, Goto, Journey, Sleep, Wait


def event_sets(journey: Journey) -> dict[str, frozenset[str]]:
    """Step name -> event types that can be current there (empty for unreachable steps)."""
    steps = journey.step_map()
    current: dict[str, frozenset[str]] = {name: frozenset() for name in steps}
    entry = journey.entry_step
    if entry is None or journey.entry is None:
        return current
    current[entry.name] = frozenset({journey.entry.event})
    work = [entry.name]
    while work:
        name = work.pop()
        here = current[name]
        flow = steps[name].flow
        out: list[tuple[str, frozenset[str]]] = []
        if isinstance(flow, (Goto, Sleep)):
            out.append((flow.target.name, here))
        elif isinstance(flow, Wait):
            out.extend((arm.target.name, frozenset({arm.event})) for arm in flow.arms)
            if flow.timeout is not None:
                out.append((flow.timeout.target.name, here))
        elif isinstance(flow, Choose):
            out.extend((branch.target.name, here) for branch in flow.branches)
            if flow.otherwise is not None:
                out.append((flow.otherwise.name, here))
        elif isinstance(flow, Experiment):
            out.extend((variant.target.name, here) for variant in flow.variants)
        elif isinstance(flow, End):
            pass
        else:  # mypy flags this line when a flow kind is added to ir.Flow and not handled above
            assert_never(flow)
        for target, events in out:
            if target not in current:  # unknown step: reported by the names pass
                continue
            merged = current[target] | events
            if merged != current[target]:
                current[target] = merged
                work.append(target)
    return current
