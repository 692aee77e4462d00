"""Expected versus actual: what one scenario run observed, and how each `expect` key is judged.

Rules (SPEC section 9, with the choices in docs/decisions.md):
- `path` matches the whole path; `"*"` matches any run of steps, also none.
- `sends`, `calls`, `sets` are ordered subsequences of what happened (every
  expected item, in this order; other items may come between); an empty list
  means "none at all".
- `goals` is the set of goals reached, exactly; a `value` is checked when given.
- `variant` checks each named experiment; `outcome` is the end outcome or
  `exit:EVENT`.
Each failed key gives a `Mismatch` whose lines make a readable diff.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from journeydsl.testing.scenario import WILDCARD, Expectations, GoalExpect, SendExpect, SetExpect

Record = dict[str, Any]


@dataclass
class Observed:
    """What one scenario run did, for one journey and customer."""

    path: list[str] = field(default_factory=list)
    transitions: list[tuple[str, str]] = field(default_factory=list)
    sends: list[Record] = field(default_factory=list)
    calls: list[Record] = field(default_factory=list)
    sets: list[Record] = field(default_factory=list)
    goals: list[Record] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    outcome: str | None = None
    errors: list[Record] = field(default_factory=list)  # `error` records of the engine


@dataclass
class Mismatch:
    key: str  # the `expect` key, or "engine"
    summary: str
    lines: list[str] = field(default_factory=list)
    parting_step: str | None = None  # for `path`: the last step both paths share


# --------------------------------------------------------------------------- path


def _reach(pattern: Sequence[str], actual: Sequence[str]) -> list[list[bool]]:
    """reach[i][j]: pattern[:i] matches actual[:j] (`*` = any run, also none)."""
    reach = [[False] * (len(actual) + 1) for _ in range(len(pattern) + 1)]
    reach[0][0] = True
    for i, item in enumerate(pattern, start=1):
        for j in range(len(actual) + 1):
            if item == WILDCARD:
                reach[i][j] = reach[i - 1][j] or (j > 0 and reach[i][j - 1])
            else:
                reach[i][j] = j > 0 and reach[i - 1][j - 1] and actual[j - 1] == item
    return reach


def path_matches(pattern: Sequence[str], actual: Sequence[str]) -> bool:
    return _reach(pattern, actual)[len(pattern)][len(actual)]


def parting(pattern: Sequence[str], actual: Sequence[str]) -> tuple[int, list[str]]:
    """Where the paths part: how many steps of `actual` agree with the pattern, and the steps the
    pattern wanted next (empty: it wanted the path to end). The agreement that gets furthest into the
    pattern wins, so a `*` does not swallow the step where the paths really part."""
    reach = _reach(pattern, actual)
    best_i, best_j = 0, 0
    for i in range(len(pattern) + 1):
        for j in range(len(actual) + 1):
            if reach[i][j] and (i, j) >= (best_i, best_j):
                best_i, best_j = i, j
    k = best_i
    while k < len(pattern) and pattern[k] == WILDCARD:
        k += 1
    return best_j, [pattern[k]] if k < len(pattern) else []


def _arrow(steps: Sequence[str]) -> str:
    return " -> ".join(steps) if steps else "(no steps)"


def check_path(pattern: Sequence[str], actual: Sequence[str]) -> Mismatch | None:
    if path_matches(pattern, actual):
        return None
    agreed, wanted = parting(pattern, actual)
    got = actual[agreed] if agreed < len(actual) else None
    want = " or ".join(f"`{w}`" for w in wanted) if wanted else "the end of the path"
    if not actual:
        return Mismatch(
            "path",
            f"the journey was not entered (expected a path starting with {want})",
            [f"- expected: {_arrow(pattern)}", "+ actual:   (no steps)"],
        )
    if agreed == 0:
        where = "the path starts differently"
    else:
        where = f"the paths part after `{actual[agreed - 1]}`"
    summary = f"{where}: expected {want}, got " + (f"`{got}`" if got else "the end of the path")
    lines = [f"- expected: {_arrow(pattern)}", f"+ actual:   {_arrow(actual)}"]
    return Mismatch("path", summary, lines, actual[agreed - 1] if agreed else None)


# --------------------------------------------------------------------------- ordered subsequences


def _subsequence(
    expected: Sequence[Any],
    actual: Sequence[Record],
    fits: Callable[[Any, Record], bool],
    show_expected: Callable[[Any], str],
    show_actual: Callable[[Record], str],
    key: str,
    what: str,
) -> Mismatch | None:
    matched: dict[int, int] = {}  # actual index -> expected index
    start = 0
    missing: list[Any] = []
    for j, item in enumerate(expected):
        # Greedy earliest match is enough to decide an ordered subsequence.
        found = next((k for k in range(start, len(actual)) if fits(item, actual[k])), None)
        if found is None:
            missing = list(expected[j:])
            break
        matched[found] = j
        start = found + 1
    if not expected and actual:
        lines = [f"+ {show_actual(record)}" for record in actual]
        return Mismatch(key, f"expected no {what}, got {len(actual)}", lines)
    if not missing:
        return None
    lines = [("  " if k in matched else "+ ") + show_actual(record) for k, record in enumerate(actual)]
    lines += [f"- {show_expected(item)}" for item in missing]
    summary = f"expected {what} not found in order: {show_expected(missing[0])}"
    return Mismatch(key, summary, lines)


def show_send(record: Record) -> str:
    status = record.get("status") or "?"
    reason = record.get("reason")
    return f"{record.get('channel')} {record.get('template')} ({status}{': ' + str(reason) if reason else ''})"


def _send_fits(want: SendExpect, record: Record) -> bool:
    return all(
        expected is None or record.get(name) == expected
        for name, expected in (
            ("channel", want.channel),
            ("template", want.template),
            ("status", want.status),
            ("reason", want.reason),
        )
    )


def check_sends(expected: Sequence[SendExpect], actual: Sequence[Record]) -> Mismatch | None:
    return _subsequence(expected, actual, _send_fits, str, show_send, "sends", "sends")


def check_calls(expected: Sequence[str], actual: Sequence[Record]) -> Mismatch | None:
    return _subsequence(
        expected, actual, lambda name, r: r.get("name") == name, str, lambda r: str(r.get("name")), "calls", "calls"
    )


def _set_fits(want: SetExpect, record: Record) -> bool:
    return record.get("field") == want.field and (not want.has_value or record.get("value") == want.value)


def show_set(record: Record) -> str:
    return f"profile.{record.get('field')} = {record.get('value')!r}"


def check_sets(expected: Sequence[SetExpect], actual: Sequence[Record]) -> Mismatch | None:
    return _subsequence(expected, actual, _set_fits, str, show_set, "sets", "profile updates")


# --------------------------------------------------------------------------- sets and single values


def check_goals(expected: Sequence[GoalExpect], actual: Sequence[Record]) -> Mismatch | None:
    reached = {str(record.get("goal")): record for record in actual}
    wanted = {goal.name: goal for goal in expected}
    lines: list[str] = []
    for name in sorted(set(reached) | set(wanted)):
        record, goal = reached.get(name), wanted.get(name)
        if record is None:
            lines.append(f"- {name} (expected, not reached)")
        elif goal is None:
            lines.append(f"+ {name} (reached, not expected)")
        elif goal.value is not None and record.get("value") != goal.value:
            lines.append(f"- {name} (value {goal.value:g})")
            lines.append(f"+ {name} (value {record.get('value')})")
        else:
            lines.append(f"  {name}")
    if all(line.startswith("  ") for line in lines):
        return None
    summary = f"expected goals [{', '.join(wanted)}], reached [{', '.join(reached)}]"
    return Mismatch("goals", summary, lines)


def check_variant(expected: dict[str, str], actual: dict[str, str]) -> Mismatch | None:
    wrong = {name: variant for name, variant in expected.items() if actual.get(name) != variant}
    if not wrong:
        return None
    lines: list[str] = []
    for name, variant in wrong.items():
        lines.append(f"- {name}: {variant}")
        lines.append(f"+ {name}: {actual.get(name, '(not assigned)')}")
    first = next(iter(wrong))
    summary = f"expected variant `{wrong[first]}` of `{first}`, got " + (
        f"`{actual[first]}`" if first in actual else "no assignment (the experiment step was not reached)"
    )
    return Mismatch("variant", summary, lines)


def check_outcome(expected: str, actual: str | None, last_step: str | None) -> Mismatch | None:
    if expected == actual:
        return None
    if actual is not None:
        shown, said = actual, f"`{actual}`"
    elif last_step is not None:
        shown = said = f"no outcome yet (still running, at `{last_step}`)"
    else:
        shown = said = "no outcome (the journey was not entered)"
    return Mismatch("outcome", f"expected outcome `{expected}`, got {said}", [f"- {expected}", f"+ {shown}"])


def compare(expect: Expectations, observed: Observed) -> list[Mismatch]:
    """Every expectation that `observed` does not meet, in the order of the `expect` keys."""
    found: list[Mismatch | None] = []
    if expect.path is not None:
        found.append(check_path(expect.path, observed.path))
    if expect.sends is not None:
        found.append(check_sends(expect.sends, observed.sends))
    if expect.calls is not None:
        found.append(check_calls(expect.calls, observed.calls))
    if expect.sets is not None:
        found.append(check_sets(expect.sets, observed.sets))
    if expect.goals is not None:
        found.append(check_goals(expect.goals, observed.goals))
    if expect.variant is not None:
        found.append(check_variant(expect.variant, observed.variants))
    if expect.outcome is not None:
        last = observed.path[-1] if observed.path else None
        found.append(check_outcome(expect.outcome, observed.outcome, last))
    if observed.errors:
        lines = [f"+ {r.get('step')}: {r.get('message') or r.get('reason')}" for r in observed.errors]
        found.append(Mismatch("engine", f"the engine recorded {len(observed.errors)} error(s)", lines))
    return [m for m in found if m is not None]
