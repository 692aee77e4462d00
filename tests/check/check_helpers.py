"""Helpers shared by the checker tests (a uniquely named module: other test folders have a conftest too)."""

from __future__ import annotations

from pathlib import Path

from journeydsl.diagnostics import Diagnostic

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = (FIXTURES / "schema.journey").read_text(encoding="utf-8")

HEAD = """journey j {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed value event.amount
"""


def journey(body: str, head: str = HEAD) -> str:
    """A journey over the fixture schema with the given stages (and a complete header)."""
    return head + body + "}\n"


def codes_of(diags: list[Diagnostic]) -> list[str]:
    return [d.code.code for d in diags]
