"""Completion, rename of a step, formatting and document symbols, through the protocol."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from lsp_support import CART, SCENARIOS, WELCOME_YAML, close_document, open_document, position
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def labels(client: LanguageClient, uri: str, at: types.Position) -> set[str]:
    found = await client.text_document_completion_async(types.CompletionParams(text_document=doc(uri), position=at))
    assert found is not None
    items = found.items if isinstance(found, types.CompletionList) else found
    return {item.label for item in items}


def apply(text: str, edits: Sequence[types.TextEdit]) -> str:
    """The text after the edits (ranges in characters: the test texts are ASCII)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(at: types.Position) -> int:
        return starts[min(at.line, len(lines))] + at.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


@pytest.mark.parametrize(
    ("typed", "expected", "absent"),
    [
        ("      -> ", {"browsing", "remind", "thanks"}, {"email"}),  # steps after an arrow
        ("      set profile.", {"email", "consent_email", "segment"}, {"items"}),  # profile fields
        ("      when event.", {"items", "cart_id", "amount", "at"}, {"segment"}),  # event fields and the envelope
        ("      send ", {"email"}, {"reminder"}),  # channels
        ("      send email ", {"reminder"}, {"email"}),  # templates of that channel, from templates/
        ("        on ", {"order_placed", "cart_updated"}, {"remind"}),  # events
        ("      call ", {"crm_task"}, {"email"}),  # integrations
        ("      ", {"send", "wait", "choose", "emit", "lower", "profile"}, set()),  # keywords and functions
    ],
)
async def test_completion_in_the_dsl(
    client: LanguageClient, journeys: Path, typed: str, expected: set[str], absent: set[str]
) -> None:
    # A half-typed line in the middle of the journey: the file does not parse while it is being written.
    text = CART.replace("    step thanks {", f"    step typing {{\n{typed}\n    }}\n    step thanks {{", 1)
    uri = open_document(client, journeys / "cart.journey", text)
    found = await labels(client, uri, position(text, typed + "\n", offset=len(typed)))
    assert expected <= found and not (absent & found)
    close_document(client, uri)


@pytest.mark.parametrize(
    ("before", "typed", "expected"),
    [
        ("      next: done", "      next: ", {"greet", "done"}),
        (
            "        - send: {channel: email, template: reminder, with: {items: 1}}",
            "        - send: {channel: ",
            {"email"},
        ),
        (
            "        - send: {channel: email, template: reminder, with: {items: 1}}",
            "        - send: {channel: email, template: ",
            {"reminder"},
        ),
        ("entry: {on: order_placed, where: event.amount > 10}", "entry: {on: ", {"order_placed", "cart_updated"}),
        ("uses: shop", "uses: ", {"shop"}),
        ("      next: done", "      ", {"do", "next", "wait", "send"}),  # YAML keys
    ],
)
async def test_completion_in_yaml(
    client: LanguageClient, journeys: Path, before: str, typed: str, expected: set[str]
) -> None:
    text = WELCOME_YAML.replace(before, typed, 1)
    uri = open_document(client, journeys / "welcome.journey.yaml", text, "yaml")
    assert expected <= await labels(client, uri, position(text, typed, offset=len(typed)))
    close_document(client, uri)


async def test_rename_a_step_edits_its_definition_and_every_transition(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    at = position(CART, "-> thanks", offset=3)
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=doc(uri), position=at)
    )
    assert prepared == types.Range(at, types.Position(at.line, at.character + len("thanks")))
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=doc(uri), position=at, new_name="thank_you")
    )
    scenarios = (journeys / "cart.scenario.yaml").as_uri()
    assert edit is not None and edit.changes is not None and sorted(edit.changes) == sorted([uri, scenarios])
    renamed = apply(CART, list(edit.changes[uri]))
    assert renamed == CART.replace("thanks", "thank_you")
    # The scenarios' expected path names the step too.
    assert apply(SCENARIOS, edit.changes[scenarios]) == SCENARIOS.replace("thanks]", "thank_you]")
    close_document(client, uri)


async def test_rename_a_step_in_the_yaml_form(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "welcome.journey.yaml", WELCOME_YAML, "yaml")
    at = position(WELCOME_YAML, "done:")
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=doc(uri), position=at, new_name="finished")
    )
    assert edit is not None and edit.changes is not None
    assert apply(WELCOME_YAML, list(edit.changes[uri])) == WELCOME_YAML.replace("done", "finished")
    close_document(client, uri)


@pytest.mark.parametrize(
    ("new_name", "reason"),
    [("Thanks!", "is not a step name"), ("remind", "already has a step `remind`")],
)
async def test_a_bad_rename_is_refused_with_its_reason(
    client: LanguageClient, journeys: Path, new_name: str, reason: str
) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    params = types.RenameParams(text_document=doc(uri), position=position(CART, "thanks {"), new_name=new_name)
    with pytest.raises(Exception, match=reason):
        await client.text_document_rename_async(params)
    close_document(client, uri)


async def test_only_steps_are_renamed(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    at = position(CART, "order_placed")
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(text_document=doc(uri), position=at)
    )
    assert prepared is None
    close_document(client, uri)


async def test_formatting_gives_the_fmt_layout(client: LanguageClient, journeys: Path) -> None:
    messy = CART.replace("  version 1\n", "version   1\n").replace(
        "step thanks { end bought }", "step thanks {\nend bought }"
    )
    uri = open_document(client, journeys / "cart.journey", messy)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=options)
    )
    assert edits is not None and apply(messy, edits) == CART  # CART is in the canonical layout
    close_document(client, uri)
    uri = open_document(client, journeys / "cart.journey", CART[:-3])  # a syntax error: left alone
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(text_document=doc(uri), options=options)
    )
    assert not edits
    close_document(client, uri)


async def test_document_symbols_list_stages_and_steps(client: LanguageClient, journeys: Path) -> None:
    for name, text in (("cart.journey", CART), ("welcome.journey.yaml", WELCOME_YAML)):
        uri = open_document(client, journeys / name, text)
        found = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
        assert found is not None
        [journey] = [s for s in found if isinstance(s, types.DocumentSymbol)]
        outline = {stage.name: [step.name for step in stage.children or []] for stage in journey.children or []}
        expected = (
            {"recognize": ["browsing"], "request": ["remind", "thanks"]}
            if name == "cart.journey"
            else {"recognize": ["greet"], "respond": ["done"]}
        )
        assert outline == expected
        step = (journey.children or [])[0].children or []
        assert step[0].selection_range.start == position(text, "browsing" if name == "cart.journey" else "greet")
        close_document(client, uri)
