"""Graph checks over a journey's steps: reachability, instant loops, waits and choose branches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import assert_never

from journeydsl.check.context import checked_journeys
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import (
    Binary,
    Choose,
    End,
    Experiment,
    Expr,
    Goto,
    Journey,
    Literal,
    Sleep,
    Step,
    Unary,
    Wait,
    flow_targets,
)
from journeydsl.project import Project


def reachable(journey: Journey) -> set[str]:
    """Steps a customer can stand on: from the entry step, and from each step a migration moves instances to."""
    steps = journey.step_map()
    entry = journey.entry_step
    if entry is None:
        return set()
    roots = [entry.name] + [m.target for migration in journey.migrations for m in migration.moves if m.target in steps]
    seen = set(roots)
    work = list(seen)
    while work:
        for target in flow_targets(steps[work.pop()].flow):
            if target.name in steps and target.name not in seen:
                seen.add(target.name)
                work.append(target.name)
    return seen


def instant_targets(step: Step) -> Iterator[str]:
    """Steps reached in the same event: `->`, `choose` and `experiment` (a `wait` of any kind breaks the chain)."""
    flow = step.flow
    if isinstance(flow, (Goto, Choose, Experiment)):
        for target in flow_targets(flow):
            yield target.name
    elif isinstance(flow, (Sleep, Wait, End)):
        return  # time passes (or the journey ends) before the next step runs
    else:  # a new flow kind must say whether it moves on in the same event (JD302 instant loops)
        assert_never(flow)


def strongly_connected(nodes: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (a long chain of steps must not hit Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child = work.pop()
            if child == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = edges.get(node, [])
            if child < len(succ):
                work.append((node, child + 1))
                nxt = succ[child]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                found.append(component)
    return found


def _cycle_text(component: list[str], edges: dict[str, list[str]], order: dict[str, int]) -> str:
    """One concrete loop through the component, from its first step in source order: `a -> b -> a`."""
    members = set(component)
    start = min(component, key=order.__getitem__)
    path, node, seen = [start], start, {start}
    while True:
        nxt = next(n for n in edges[node] if n in members)
        path.append(nxt)
        if nxt in seen:
            break
        seen.add(nxt)
        node = nxt
    return " -> ".join(path[path.index(path[-1]) :])


def check_graph(project: Project, sink: Sink) -> None:
    for _file, journey, _index in checked_journeys(project):
        _check_journey(journey, sink)


def _check_journey(journey: Journey, sink: Sink) -> None:
    steps = journey.step_map()
    order = {name: i for i, name in enumerate(steps)}
    seen = reachable(journey)
    for name, step in steps.items():
        if name not in seen and journey.entry_step is not None:
            sink.report(
                codes.UNREACHABLE_STEP,
                f"step `{name}` cannot be reached from the entry step `{journey.entry_step.name}`",
                step.span,
                "point a transition at it, or remove it",
            )
        flow = step.flow
        if isinstance(flow, Wait) and flow.timeout is None:
            sink.report(
                codes.WAIT_FOREVER,
                f"the `wait` in step `{name}` has no `after` or `at`: a customer can wait forever",
                flow.span or step.span,
                "add a timeout, e.g. `after 7d -> STEP`",
            )
        if isinstance(flow, Choose):
            _check_choose(name, flow, step, sink)
    edges = {name: [t for t in instant_targets(step) if t in steps] for name, step in steps.items()}
    for component in strongly_connected(list(steps), edges):
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        first = min(component, key=order.__getitem__)
        sink.report(
            codes.INSTANT_LOOP,
            f"instant loop {_cycle_text(component, edges, order)}: no `wait` between, so it never stops",
            steps[first].span,
            "put a `wait` (or `wait DURATION`) somewhere in the loop",
        )


def _check_choose(name: str, flow: Choose, step: Step, sink: Sink) -> None:
    if flow.otherwise is None and not any(always_true(b.condition) for b in flow.branches):
        sink.report(
            codes.CHOOSE_WITHOUT_OTHERWISE,
            f"the `choose` in step `{name}` has no `otherwise`: when no branch holds, the instance stops here",
            flow.span or step.span,
            "add `otherwise -> STEP`",
        )
    for i, branch in enumerate(flow.branches):
        if always_true(branch.condition):
            dead = [b.span or b.target.span for b in flow.branches[i + 1 :]]
            if flow.otherwise is not None:
                dead.append(flow.otherwise.span)
            for span in dead:
                sink.report(
                    codes.DEAD_BRANCH,
                    f"this branch of step `{name}` can never be taken: an earlier `when` is always true",
                    span,
                    "remove it, or fix the earlier condition",
                )
            break


def _const(expr: Expr) -> object:
    """The value of an expression made only of literals, or the sentinel `_UNKNOWN`."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Unary) and expr.op == "not":
        value = _const(expr.operand)
        return (not value) if isinstance(value, bool) else _UNKNOWN
    if isinstance(expr, Binary):
        if expr.op == "or" and (always_true(expr.left) or always_true(expr.right)):
            return True
        left, right = _const(expr.left), _const(expr.right)
        if left is _UNKNOWN or right is _UNKNOWN or left is None or right is None:
            return _UNKNOWN
        if expr.op == "and" and isinstance(left, bool) and isinstance(right, bool):
            return left and right
        if type(left) is type(right) or {type(left), type(right)} <= {int, float}:
            try:
                return _COMPARE[expr.op](left, right)
            except (KeyError, TypeError):
                return _UNKNOWN
    return _UNKNOWN


_UNKNOWN = object()
_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def always_true(expr: Expr) -> bool:
    """Cheap tautologies only: `true`, `not false`, `x or true`, comparisons of literals."""
    return _const(expr) is True
