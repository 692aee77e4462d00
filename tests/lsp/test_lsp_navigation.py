"""Hover, go to definition and find references, through the protocol, in both forms."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_support import CART, SCENARIOS, SCHEMA, WELCOME_YAML, close_document, open_document, position
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


async def hover(client: LanguageClient, uri: str, at: types.Position) -> str:
    found = await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=at))
    assert found is not None and isinstance(found.contents, types.MarkupContent)
    return found.contents.value


async def definition(client: LanguageClient, uri: str, at: types.Position) -> list[types.Location]:
    found = await client.text_document_definition_async(types.DefinitionParams(text_document=doc(uri), position=at))
    assert isinstance(found, list)
    return [item for item in found if isinstance(item, types.Location)]


async def test_hover_shows_a_step_summary(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    text = await hover(client, uri, position(CART, "-> remind", offset=4))
    assert "**step** `remind`" in text and "stage `request`" in text
    assert "send email reminder" in text and "`thanks`" in text  # what it does and where it goes
    close_document(client, uri)


async def test_hover_shows_field_and_event_types(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    assert "profile.consent_email: bool" in await hover(client, uri, position(CART, "consent_email", offset=2))
    assert "cart_updated.items: number" in await hover(client, uri, position(CART, "event.items", offset=7))
    event = await hover(client, uri, position(CART, "on order_placed", offset=4))
    assert "event order_placed { amount: number }" in event
    close_document(client, uri)


async def test_hover_on_a_finding_explains_its_code(client: LanguageClient, journeys: Path) -> None:
    broken = CART.replace("on order_placed -> thanks", "on order_placed -> thank")
    uri = open_document(client, journeys / "cart.journey", broken)
    text = await hover(client, uri, position(broken, "-> thank\n", offset=4))
    assert "JD102 unknown-step" in text and "Fails:" in text and "Passes:" in text  # as `check --explain` says
    close_document(client, uri)


async def test_definition_of_steps_events_fields_and_schemas(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    schema = (journeys / "shop.journey").as_uri()
    [step] = await definition(client, uri, position(CART, "-> thanks", offset=5))
    assert step.uri == uri and step.range.start == position(CART, "thanks {")
    [event] = await definition(client, uri, position(CART, "on order_placed", offset=5))
    assert event.uri == schema and event.range.start == position(SCHEMA, "order_placed")
    [field] = await definition(client, uri, position(CART, "profile.consent_email", offset=10))
    assert field.uri == schema and field.range.start == position(SCHEMA, "consent_email")
    [used] = await definition(client, uri, position(CART, "uses shop", offset=6))
    assert used.uri == schema and used.range.start == position(SCHEMA, "shop")
    [template] = await definition(client, uri, position(CART, "reminder with", offset=1))
    assert template.uri == (journeys.parent / "templates" / "messages" / "email" / "reminder.j2").as_uri()
    close_document(client, uri)


async def test_definition_from_the_yaml_form(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "welcome.journey.yaml", WELCOME_YAML, "yaml")
    [step] = await definition(client, uri, position(WELCOME_YAML, "next: done", offset=7))
    assert step.uri == uri and step.range.start == position(WELCOME_YAML, "done:")
    [event] = await definition(client, uri, position(WELCOME_YAML, "order_placed"))
    assert event.uri == (journeys / "shop.journey").as_uri()
    close_document(client, uri)


async def test_references_of_an_event_across_both_forms(client: LanguageClient, journeys: Path) -> None:
    uri = (journeys / "shop.journey").as_uri()
    open_document(client, journeys / "shop.journey", SCHEMA)
    params = types.ReferenceParams(
        text_document=doc(uri),
        position=position(SCHEMA, "order_placed"),
        context=types.ReferenceContext(include_declaration=True),
    )
    found = await client.text_document_references_async(params)
    assert found is not None
    where = sorted((Path(x.uri).name, x.range.start.line) for x in found)
    assert where == sorted(
        [
            ("shop.journey", position(SCHEMA, "order_placed").line),
            ("cart.journey", position(CART, "goal bought on order_placed").line),
            ("cart.journey", position(CART, "on order_placed ->").line),
            ("welcome.journey.yaml", position(WELCOME_YAML, "order_placed").line),
            ("welcome.journey.yaml", position(WELCOME_YAML, "order_placed", 1).line),
        ]
    )
    close_document(client, uri)


async def test_nothing_under_the_cursor_is_no_answer(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    at = position(CART, "# Reminds")
    assert await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=at)) is None
    assert (
        await client.text_document_definition_async(types.DefinitionParams(text_document=doc(uri), position=at)) is None
    )
    close_document(client, uri)


async def test_a_call_goes_to_its_integration(client: LanguageClient, journeys: Path) -> None:
    text = CART.replace("step thanks { end bought }", "step thanks {\n      call crm_task\n      end bought\n    }")
    uri = open_document(client, journeys / "cart.journey", text)
    [declared] = await definition(client, uri, position(text, "crm_task", offset=2))
    assert declared.uri == (journeys / "shop.journey").as_uri()
    assert declared.range.start == position(SCHEMA, "crm_task")
    assert "**integration** `crm_task`" in await hover(client, uri, position(text, "crm_task"))
    close_document(client, uri)


async def test_a_scenario_path_goes_to_its_step(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.scenario.yaml", SCENARIOS, "yaml")
    [step] = await definition(client, uri, position(SCENARIOS, "remind,", offset=2))
    assert step.uri == (journeys / "cart.journey").as_uri() and step.range.start == position(CART, "remind {")
    close_document(client, uri)
