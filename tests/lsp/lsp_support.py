"""A small journey project on disk and helpers to talk to `journeydsl lsp` about it (tests/lsp)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

# The server as editors start it: the console script's `lsp` command, in a subprocess, speaking on stdio.
SERVER = ClientServerConfig(
    server_command=[sys.executable, "-c", "from journeydsl.cli import main; main(['lsp'])"],
    server_env={"JOURNEYDSL_LSP_DELAY": "0.02", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"},
)

SCHEMA = """\
schema shop {
  profile {
    email: string
    consent_email: bool
    segment: enum(new, vip)
  }
  event cart_updated { cart_id: string, items: number }
  event order_placed { amount: number }
  channel email { cost 0.01 requires profile.consent_email }
  integration crm_task
}
"""

CART = """\
# Reminds a customer of a cart left behind.
journey cart {
  version 1
  owner "team@example.com"
  uses shop

  entry on cart_updated where event.items > 0
  audience profile.consent_email
  goal bought on order_placed within 7d value event.amount

  stage recognize {
    step browsing {
      wait {
        on order_placed -> thanks
        after 1h -> remind
      }
    }
  }

  stage request {
    step remind { send email reminder with { items: event.items } -> thanks }
    step thanks { end bought }
  }
}
"""  # in the canonical layout (`journeydsl fmt`)

WELCOME_YAML = """\
journey: welcome
version: 1
owner: team@example.com
uses: shop
entry: {on: order_placed, where: event.amount > 10}
goals:
  - {name: again, on: order_placed, within: 30d}
stages:
  recognize:
    greet:
      do:
        - send: {channel: email, template: reminder, with: {items: 1}}
      next: done
  respond:
    done:
      end: welcomed
"""

SCENARIOS = """\
journey: cart
scenarios:
  - name: the reminder brings the order
    profile: {email: a@example.com, consent_email: true, segment: new}
    events:
      - {type: cart_updated, at: 2026-07-01T10:00:00Z, data: {cart_id: "K-1", items: 2}}
      - {advance: 2h}
      - {type: order_placed, at: 2026-07-01T13:00:00Z, data: {amount: 70}}
    expect:
      path: [browsing, remind, thanks]
      outcome: bought
"""

TEMPLATE = "Subject: your cart\n\nYou left {{ items }} items behind.\n"


def write_project(root: Path) -> Path:
    """shop.journey (schema), cart.journey (DSL) with its scenarios, welcome.journey.yaml (YAML) and one template."""
    journeys = root / "journeys"
    journeys.mkdir(parents=True, exist_ok=True)
    (journeys / "shop.journey").write_text(SCHEMA, encoding="utf-8")
    (journeys / "cart.journey").write_text(CART, encoding="utf-8")
    (journeys / "welcome.journey.yaml").write_text(WELCOME_YAML, encoding="utf-8")
    (journeys / "cart.scenario.yaml").write_text(SCENARIOS, encoding="utf-8")
    (root / "templates" / "messages" / "email").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "messages" / "email" / "reminder.j2").write_text(TEMPLATE, encoding="utf-8")
    return journeys


def position(text: str, needle: str, occurrence: int = 0, offset: int = 0) -> types.Position:
    """The 0-based position of the `occurrence`-th `needle` in text, `offset` characters into it."""
    at = -1
    for _ in range(occurrence + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    return types.Position(line=line, character=at - (text.rfind("\n", 0, at) + 1))


def open_document(client: LanguageClient, path: Path, text: str, language: str = "journey") -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text))
    )
    return uri


def change_document(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def close_document(client: LanguageClient, uri: str) -> None:
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri)))


async def diagnostics_until(
    client: LanguageClient, uri: str, done: Callable[[list[types.Diagnostic]], bool], timeout: float = 10.0
) -> list[types.Diagnostic]:
    """The diagnostics of `uri` once `done` holds for them; fails after `timeout` seconds with the last ones."""
    deadline = time.monotonic() + timeout
    while True:
        found = list(client.diagnostics.get(uri, []))
        if done(found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"diagnostics of {uri} never matched; last: {[d.message for d in found]}")
        await asyncio.sleep(0.02)
