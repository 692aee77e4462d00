"""Diagnostics as plain data: a code from the registry, a message, a span and a hint.

Passes never raise and never print; they report into a `Sink`. Rendering lives
in `render.py`. `has_errors` / `errors_in` are the one test of "is this an error" for every caller.

Where it sits: at the bottom with the IR (it imports only journeydsl.ir); every front-end layer reports into it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from journeydsl.ir import Span


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Code:
    """A stable diagnostic code: `JD102 unknown-step`."""

    code: str
    name: str
    summary: str
    severity: Severity
    explanation: str = ""
    bad_example: str = ""  # a journey file that triggers the code
    good_example: str = ""  # the same file, fixed


@dataclass(frozen=True)
class Diagnostic:
    code: Code
    message: str
    span: Span | None = None
    hint: str | None = None
    severity: Severity = field(default=Severity.ERROR)

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        if self.span is None:
            return ("", 0, 0, self.code.code)
        return (self.span.file, self.span.line, self.span.col, self.code.code)


def errors_in(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that are errors: they stop a build, a render, a test run."""
    return [d for d in diagnostics if d.severity is Severity.ERROR]


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


@dataclass
class Sink:
    """Collects diagnostics; the exit code follows from the worst severity."""

    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(
        self,
        code: Code,
        message: str,
        span: Span | None = None,
        hint: str | None = None,
        severity: Severity | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(code, message, span, hint, severity if severity is not None else code.severity)
        )

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics.extend(diagnostics)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.diagnostics)

    def worst(self) -> Severity | None:
        return max((d.severity for d in self.diagnostics), default=None)

    def sorted(self) -> list[Diagnostic]:
        return sorted(self.diagnostics, key=lambda d: d.sort_key)
