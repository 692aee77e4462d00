"""Front end: the Lark grammar, DSL -> IR, YAML -> IR, expression parsing, and the printers.

Contract used by the rest of the package:
- `parse_dsl(text, path) -> (SourceFile, diagnostics)`; never raises on bad input.
- `load_yaml(text, path) -> (SourceFile, diagnostics)`; never raises on bad input.
- `parse_expression(text, span_origin) -> (Expr | None, diagnostics)`; `parse_type` likewise.
- `format_dsl(source_file) -> str`, `format_expr(expr) -> str`, `to_yaml(source_file) -> str`.
"""

from __future__ import annotations

from typing import Any

from journeydsl.syntax.dsl import parse_dsl
from journeydsl.syntax.expr import parse_expression, parse_type
from journeydsl.syntax.printer import format_dsl, format_expr

__all__ = ["format_dsl", "format_expr", "load_yaml", "parse_dsl", "parse_expression", "parse_type", "to_yaml"]


def __getattr__(name: str) -> Any:
    # The YAML form lives in its own modules; imported on first use so this package works without them.
    if name == "load_yaml":
        from journeydsl.syntax.yaml_loader import load_yaml

        return load_yaml
    if name == "to_yaml":
        from journeydsl.syntax.yaml_writer import to_yaml

        return to_yaml
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
