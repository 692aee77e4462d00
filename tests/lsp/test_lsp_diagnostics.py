"""Diagnostics as you type, through the protocol: both forms, the open buffer over the file on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_support import (
    CART,
    SCHEMA,
    TEMPLATE,
    WELCOME_YAML,
    change_document,
    close_document,
    diagnostics_until,
    open_document,
    position,
)
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


def codes(found: list[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in found)


async def test_a_clean_project_publishes_no_diagnostics(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    found = await diagnostics_until(client, uri, lambda d: uri in client.diagnostics)
    assert found == []
    close_document(client, uri)


async def test_an_unknown_step_while_typing_in_the_dsl(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    await diagnostics_until(client, uri, lambda d: uri in client.diagnostics)
    change_document(client, uri, CART.replace("after 1h -> remind", "after 1h -> remnd"), 2)
    found = await diagnostics_until(client, uri, lambda d: "JD102" in codes(d))
    bad = next(d for d in found if d.code == "JD102")
    line = CART.splitlines()[bad.range.start.line]
    assert "after 1h -> remind" in line  # the line of the typo, from the buffer, not the file on disk
    assert bad.range.start == position(CART, "remind", 0)
    assert bad.severity == types.DiagnosticSeverity.Error and bad.source == "journeydsl"
    assert "`remnd`" in bad.message and "remind" in bad.message  # did-you-mean names the step that exists
    change_document(client, uri, CART, 3)  # fixed again: the diagnostic goes away
    await diagnostics_until(client, uri, lambda d: d == [])
    close_document(client, uri)


async def test_the_yaml_form_is_checked_against_the_dsl_schema(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "welcome.journey.yaml", WELCOME_YAML, "yaml")
    await diagnostics_until(client, uri, lambda d: uri in client.diagnostics)
    change_document(client, uri, WELCOME_YAML.replace("on: order_placed", "on: order_plac", 1), 2)
    found = await diagnostics_until(client, uri, lambda d: bool(d))
    assert [d.code for d in found] == ["JD103"]
    assert found[0].range.start == position(WELCOME_YAML, "{on: order_placed")  # the entry line
    assert "`order_plac`" in found[0].message and "order_placed" in found[0].message  # with did-you-mean
    close_document(client, uri)
    await diagnostics_until(client, uri, lambda d: d == [])  # closed: the file on disk counts again


async def test_an_unsaved_schema_edit_reaches_the_journeys_using_it(client: LanguageClient, journeys: Path) -> None:
    schema_path = journeys / "shop.journey"
    text = schema_path.read_text(encoding="utf-8")
    cart = (journeys / "cart.journey").as_uri()
    uri = open_document(client, schema_path, text)
    change_document(client, uri, text.replace("event order_placed", "event order_done"), 2)
    found = await diagnostics_until(client, cart, lambda d: any("order_placed" in x.message for x in d))
    assert found and all(d.range.start.line > 0 for d in found)
    close_document(client, uri)
    await diagnostics_until(client, cart, lambda d: d == [])


async def test_a_project_file_names_the_sources_and_templates(client: LanguageClient, tmp_path: Path) -> None:
    """journeydsl.toml decides the project: its sources hold the schema, its templates folder the messages."""
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "shop.journey").write_text(SCHEMA, encoding="utf-8")
    (tmp_path / "messages_here" / "messages" / "email").mkdir(parents=True)
    (tmp_path / "messages_here" / "messages" / "email" / "reminder.j2").write_text(TEMPLATE, encoding="utf-8")
    project_file = tmp_path / "journeydsl.toml"
    project_file.write_text('sources = ["flows"]\ntemplates = "messages_here"\n', encoding="utf-8")
    uri = open_document(client, tmp_path / "flows" / "cart.journey", CART)
    assert await diagnostics_until(client, uri, lambda d: uri in client.diagnostics) == []
    at = position(CART, "reminder with")
    found_definition = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=at)
    )
    assert isinstance(found_definition, list) and len(found_definition) == 1
    template = found_definition[0]
    assert isinstance(template, types.Location)
    assert template.uri == (tmp_path / "messages_here" / "messages" / "email" / "reminder.j2").as_uri()
    # A bad key in the project file is a diagnostic on the project file, published once it is saved.
    project_file.write_text('sources = ["flows"]\ntemplates = "messages_here"\nstrcit = true\n', encoding="utf-8")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=project_file.as_uri(), type=types.FileChangeType.Changed)]
        )
    )
    found = await diagnostics_until(client, project_file.as_uri(), lambda d: bool(d))
    assert found[0].range.start.line == 2 and "strict" in found[0].message  # did you mean `strict`?
    close_document(client, uri)
