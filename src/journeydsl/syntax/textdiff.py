"""A unified diff of a file's text and its rewritten text, as `fmt --check` shows what it would change."""

from __future__ import annotations

import difflib


def unified_diff(before: str, after: str, path: str) -> str:
    """`--- path` / `+++ path (formatted)` hunks, with three lines of context; "" when the texts are equal."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=path,
        tofile=f"{path} (formatted)",
    )
    # A last line without a newline would run into the next hunk's header: end every line.
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
