"""The input limits of both front ends (DSL and YAML): nesting (JD011) and sizes (JD012).

The numbers come from the plan format (runtime/plan_format.py), so whatever the checker lets through
also loads in the runtime: an expression nests at most MAX_NESTING levels, a number lies within
±MAX_SAFE_INTEGER, a duration is at most MAX_DURATION_S. A journey file is at most MAX_FILE_BYTES.

Nesting is counted on the IR, as the plan holds it: a name, literal or empty call is 1 level, and each
operator, `not`, `-`, call and list adds one over its deepest operand. Parentheses add none. A chain
`a + b + c + …` is a left-leaning tree, so each operator of the chain counts: the parser builds the tree
as written rather than flattening chains, because the IR, the printer, the plan and the runtime all
hold binary operators, and a chain of more than 63 operators is better written another way (grouped in
parentheses, or `x in [...]` instead of a long `or` chain).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from journeydsl.ir import Literal, Span
from journeydsl.runtime import plan_format

MAX_NESTING: Final = plan_format.MAX_EXPR_DEPTH
MAX_TYPE_NESTING: Final = plan_format.MAX_TYPE_DEPTH
MAX_SAFE_INTEGER: Final = plan_format.MAX_SAFE_INTEGER
MAX_DURATION_S: Final = plan_format.MAX_DURATION_S
# Mappings and lists inside one YAML document; a journey needs about 8.
MAX_YAML_NESTING: Final = 64
# Names (journeys, steps, channels, fields…) become file names (templates/messages/<channel>/<name>.j2, the
# pages of `docs`, the diagrams of `render`), which most file systems cap at 255 bytes.
MAX_NAME_LENGTH: Final = 128
# 1 MiB: the largest journey in journeys/ is 6 KB. Checked before parsing, so a huge file costs one read.
MAX_FILE_BYTES: Final = 1024 * 1024

NESTING_HINT: Final = (
    "each operator, call, `not`, `-` and list adds a level, so a chain `a + b + c + …` of more than "
    f"{MAX_NESTING - 1} operators is too deep as well: group it in parentheses, e.g. `(a + b) + (c + d)`, "
    "or test many values with `x in [...]` instead of a long `or` chain"
)


@dataclass(frozen=True)
class Elided(Literal):
    """Stands in for an expression cut off because it nests too deeply (JD011 is reported for it).

    The parser keeps building the IR with this leaf instead of the deep subtree, so every later pass walks
    a bounded tree; the type checker gives it the type `any`, so the cut adds no diagnostics of its own.
    """


def parse_number(text: str) -> int | float | None:
    """The value of the digits `text` (maybe with a fraction), or None when it lies outside ±MAX_SAFE_INTEGER.

    The whole part is measured first, so a number of 10,000 digits is never converted (Python refuses to
    turn more than 4,300 digits into an int, and a float of them is infinite).
    """
    if len(text.split(".", 1)[0].lstrip("0")) > 16:
        return None
    value = float(text) if "." in text else int(text)
    return value if in_range(value) else None


def in_range(value: int | float) -> bool:
    return abs(value) <= MAX_SAFE_INTEGER  # False for NaN as well


def number_message(text: str) -> str:
    return f"the number `{clip(text)}` is out of range"


NUMBER_HINT: Final = f"numbers in journeys lie within ±{MAX_SAFE_INTEGER} (2^53 − 1)"


def name_message(name: str) -> str:
    return f"the name `{clip(name, 40)}` is {len(name)} characters long"


NAME_HINT: Final = f"names are at most {MAX_NAME_LENGTH} characters"


def duration_message(text: str) -> str:
    return f"the duration `{clip(text)}` is too long"


DURATION_HINT: Final = (
    f"durations are at most {MAX_DURATION_S // 86_400}d (about {MAX_DURATION_S // 86_400 // 365} years)"
)


def file_too_large(path: str, size: int) -> tuple[str, Span, str]:
    """The JD012 message, span and hint for a file of `size` bytes (over MAX_FILE_BYTES)."""
    return (
        f"{path} is {size:,} bytes; journey files are at most {MAX_FILE_BYTES:,} bytes (1 MiB), so it was not parsed",
        Span(path, 1, 1, 1, 2),
        "split it into several journey files (a folder of them checks and builds as one project)",
    )


def clip(text: str, width: int = 24) -> str:
    """Source text quoted in a message, cut to about `width` characters."""
    return text if len(text) <= width else f"{text[: width - 4]}…"


def oversize(text: str) -> int | None:
    """The UTF-8 size of `text` when it is over MAX_FILE_BYTES, else None (a short text is not encoded)."""
    if len(text) * 4 <= MAX_FILE_BYTES:
        return None
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if size > MAX_FILE_BYTES else None
