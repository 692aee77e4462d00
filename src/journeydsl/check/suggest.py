"""Did-you-mean hints for unknown names (difflib, as rule-engine's `suggestions.py`)."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

# Bounds on the work of one suggestion: difflib compares `name` with every candidate, so a file with
# thousands of steps and thousands of unknown targets would otherwise cost minutes. Real scopes hold far
# fewer names than MAX_CANDIDATES, and a name longer than MAX_NAME is no typo worth a suggestion.
MAX_CANDIDATES = 100
MAX_NAME = 100


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The known name most like `name`, or None when nothing is close."""
    if len(name) > MAX_NAME:
        return None
    pool = tuple(candidates)
    if len(pool) > MAX_CANDIDATES:
        pool = _nearest_in_length(_by_length(pool), len(name))
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None


@functools.lru_cache(maxsize=16)
def _by_length(pool: tuple[str, ...]) -> dict[int, tuple[str, ...]]:
    """Candidates grouped by length, once per scope (the same names are offered for every unknown one)."""
    groups: dict[int, list[str]] = {}
    for candidate in sorted(pool):
        if len(candidate) <= MAX_NAME:
            groups.setdefault(len(candidate), []).append(candidate)
    return {length: tuple(names) for length, names in groups.items()}


def _nearest_in_length(groups: dict[int, tuple[str, ...]], length: int) -> tuple[str, ...]:
    """At most MAX_CANDIDATES names, nearest in length first: a close match (ratio >= 0.6) differs little."""
    found: list[str] = []
    for distance in range(MAX_NAME + 1):
        for size in sorted({length - distance, length + distance}):
            found.extend(groups.get(size, ()))
        if len(found) >= MAX_CANDIDATES:
            break
    return tuple(found[:MAX_CANDIDATES])


def did_you_mean(name: str, candidates: Iterable[str], prefix: str = "") -> str | None:
    """`did you mean `contract_signed`?` or None; `prefix` is put before the suggestion (e.g. `profile.`)."""
    match = closest(name, candidates)
    return f"did you mean `{prefix}{match}`?" if match else None


def known_list(candidates: Iterable[str], limit: int = 8) -> str:
    """A short `a, b, c, …` list of what would have been accepted, for hints when nothing is close."""
    names = sorted(candidates)
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (", …" if len(names) > limit else "") if names else "none"
