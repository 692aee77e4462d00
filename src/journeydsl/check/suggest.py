"""Did-you-mean hints for unknown names (difflib, as rule-engine's `suggestions.py`)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The known name most like `name`, or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], prefix: str = "") -> str | None:
    """`did you mean `contract_signed`?` or None; `prefix` is put before the suggestion (e.g. `profile.`)."""
    match = closest(name, candidates)
    return f"did you mean `{prefix}{match}`?" if match else None


def known_list(candidates: Iterable[str], limit: int = 8) -> str:
    """A short `a, b, c, …` list of what would have been accepted, for hints when nothing is close."""
    names = sorted(candidates)
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (", …" if len(names) > limit else "") if names else "none"
