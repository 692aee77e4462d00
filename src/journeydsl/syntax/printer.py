"""IR -> canonical DSL text."""

from __future__ import annotations

from journeydsl.ir import Expr, SourceFile


def format_expr(expr: Expr) -> str:
    raise NotImplementedError


def format_dsl(source: SourceFile) -> str:
    raise NotImplementedError
