"""Where a YAML indentation error really is: the line that broke the pattern, not where the parser noticed.

PyYAML fixes a block's indentation at its first line and only complains when a later line does not fit
("expected <block end>, but found …"), which can be many lines after the line that went wrong: a step key
moved by one space is noticed at the next step. This module reads the text around the parser's position:
the parent line (the nearest line above with less indentation) owns a block whose lines should all share one
indentation; of the two indentations found there, the one used by fewer lines is the wrong one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Misindent:
    """A line (from 1) whose indentation breaks its block, and what it should be, in words."""

    line: int
    found: int
    message: str
    hint: str


def _indent(line: str) -> int | None:
    """Leading spaces of a content line; None for a blank or comment-only line."""
    stripped = line.lstrip(" ")
    if not stripped.strip() or stripped.startswith("#"):
        return None
    return len(line) - len(stripped)


def find_misindent(text: str, line: int, column: int) -> Misindent | None:
    """The misindented line behind a block-end error noticed at `line`:`column` (both from 0), or None."""
    lines = text.split("\n")
    if not 0 <= line < len(lines):
        return None
    indents = [_indent(text_line) for text_line in lines]
    noticed = indents[line]
    if noticed is None:
        return None
    # The parent: the nearest content line above with less indentation than the line the parser stopped at;
    # its first child fixed the indentation of the block the noticed line does not fit.
    parent = next((i for i in range(line - 1, -1, -1) if (indents[i] or 0) < noticed and indents[i] is not None), -1)
    first = next((i for i in range(parent + 1, line) if indents[i] is not None), None)
    if first is None:
        return None
    opened = indents[first]
    assert opened is not None
    if opened == noticed:
        return _key_among_items(lines, first, line, noticed)
    parent_indent = indents[parent] if parent >= 0 else 0
    assert parent_indent is not None
    step = _usual_step(indents)
    if parent >= 0 and parent_indent % step and not noticed % step:
        culprit = parent  # `assess:` moved to 3 spaces: its next sibling at 4 is where the parser notices
    elif parent >= 0 and opened - parent_indent != step and _after_empty_key(lines, indents, parent):
        culprit = parent  # moved back onto its parent's column: the parent above it is left empty
    elif opened % step or opened - parent_indent != step:
        culprit = first  # the block's first line is off the usual steps; the noticed line keeps to them
    else:
        culprit = line
    if culprit == line and parent >= 0 and parent_indent < noticed < opened:
        return Misindent(
            line + 1,
            noticed,
            f"YAML indentation error: this line is indented {noticed} spaces, between the {parent_indent} of "
            f"line {parent + 1} and the {opened} of the lines under it",
            f"line it up with line {parent + 1} (a sibling) or with line {first + 1} (inside it)",
        )
    found = indents[culprit]
    assert found is not None
    return Misindent(
        culprit + 1,
        found,
        f"YAML indentation error: this line is indented {found} spaces, which does not fit the lines around it",
        f"indent it like its siblings, by steps of {step} spaces"
        + (f" (the parser only noticed at line {line + 1})" if culprit != line else ""),
    )


def _after_empty_key(lines: list[str], indents: list[int | None], index: int) -> bool:
    """Whether the content line before `index` is a `key:` at the same indentation with nothing under it."""
    before = next((i for i in range(index - 1, -1, -1) if indents[i] is not None), None)
    return before is not None and indents[before] == indents[index] and _opens_block(lines[before])


def _misindent(index: int, found: int, expected: int, noticed: int) -> Misindent:
    return Misindent(
        index + 1,
        found,
        f"YAML indentation error: this line is indented {found} spaces, the lines beside it {expected}",
        f"indent it by {expected} spaces like the other keys of its block"
        + (f" (the parser only noticed at line {noticed + 1})" if noticed != index else ""),
    )


def _opens_block(line: str) -> bool:
    """`key:` with nothing after it (but a comment): the lines below are its value."""
    content = line.split(" #", 1)[0].rstrip()
    return content.endswith(":")


def _key_among_items(lines: list[str], first: int, line: int, indent: int) -> Misindent | None:
    """`key: value` at the column of the `- ` items above it: it belongs inside the last item."""
    if not lines[first].lstrip(" ").startswith("- ") or lines[line].lstrip(" ").startswith("-"):
        return None
    inside = indent + 2
    return Misindent(
        line + 1,
        indent,
        f"YAML indentation error: this key is at the column of the list's `-`, outside its items "
        f"(indented {indent} spaces, an item's keys {inside})",
        f"indent it by {inside} spaces to put it in the item above, or start a new item with `- `",
    )


def _usual_step(indents: list[int | None]) -> int:
    """The most common increase of indentation from one content line to the next (2 when there is none)."""
    steps: Counter[int] = Counter()
    previous = 0
    for indent in indents:
        if indent is None:
            continue
        if indent > previous:
            steps[indent - previous] += 1
        previous = indent
    return steps.most_common(1)[0][0] if steps else 2


def over_indented(lines: list[str], line: int) -> str | None:
    """`key: value` indented under a line that already has a value: the hint to line the two up."""
    here = _indent(lines[line]) if 0 <= line < len(lines) else None
    above = next((i for i in range(line - 1, -1, -1) if _indent(lines[i]) is not None), None)
    if here is None or above is None:
        return None
    indent = _indent(lines[above])
    assert indent is not None
    content = lines[above].split(" #", 1)[0].strip()
    if here <= indent or _opens_block(lines[above]) or ": " not in content:
        return None
    return (
        f"this line is indented more than line {above + 1}, which already has a value: indent it by {indent} "
        f"spaces like line {above + 1} to make it the next key"
    )
