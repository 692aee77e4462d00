"""Bad input is diagnostics, never a dead server: half-typed files, garbage, huge files, odd positions.

Each text is opened, its diagnostics awaited, and every feature asked at positions all over it; the server must
answer each request (an empty answer is fine) without logging an error, and still answer afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_support import CART, close_document, diagnostics_until, open_document
from lsprotocol import types
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")

HALF_TYPED = {
    "half_step.journey": "journey half {\n  uses shop\n  stage recognize {\n    step a { -> ",
    "half_expr.journey": CART.replace("where event.items > 0", "where event.items > (profile.", 1),
    "half_send.journey": CART.replace("send email reminder with { items: event.items }", "send email", 1),
    "stray_brace.journey": "}}}\njourney {\n step step step ->->-> \n",
    "empty.journey": "",
    "nul.journey": "journey x\x00 {\n  stage a { step b { end } }\n}\n",
    "deep.journey": CART.replace("event.items > 0", "(" * 3000 + "1" + ")" * 3000, 1),
    "half.journey.yaml": "journey: half\nuses: shop\nstages:\n  recognize:\n    a:\n      next: [\n",
    "tabs.journey.yaml": "journey: t\nstages:\n\trecognize:\n\t\ta: {end: x}\n",
    "list.journey.yaml": "- 1\n- 2\n",
    "anchors.journey.yaml": "a: &x [*x]\njourney: *x\n",
}


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def positions(text: str) -> list[types.Position]:
    lines = text.split("\n")
    found = [types.Position(line, col) for line, body in enumerate(lines) for col in {0, len(body) // 2, len(body)}]
    return [*found, types.Position(len(lines) + 5, 0), types.Position(0, 500)]  # past the end of the file and line


async def ask_everything(client: LanguageClient, uri: str, at: types.Position) -> None:
    await client.text_document_hover_async(types.HoverParams(text_document=doc(uri), position=at))
    await client.text_document_definition_async(types.DefinitionParams(text_document=doc(uri), position=at))
    await client.text_document_completion_async(types.CompletionParams(text_document=doc(uri), position=at))
    await client.text_document_prepare_rename_async(types.PrepareRenameParams(text_document=doc(uri), position=at))
    context = types.ReferenceContext(include_declaration=True)
    await client.text_document_references_async(
        types.ReferenceParams(text_document=doc(uri), position=at, context=context)
    )


def errors_logged(client: LanguageClient) -> list[str]:
    return [m.message for m in client.log_messages if m.type == types.MessageType.Error]


@pytest.mark.parametrize("name", sorted(HALF_TYPED))
async def test_bad_text_gives_diagnostics_and_every_feature_answers(
    client: LanguageClient, journeys: Path, name: str
) -> None:
    text = HALF_TYPED[name]
    uri = open_document(client, journeys / name, text)
    found = await diagnostics_until(client, uri, lambda d: uri in client.diagnostics)
    if text.strip():
        assert any(d.severity == types.DiagnosticSeverity.Error for d in found), name
    for at in positions(text):
        await ask_everything(client, uri, at)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    await client.text_document_formatting_async(types.DocumentFormattingParams(text_document=doc(uri), options=options))
    await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
    close_document(client, uri)
    assert errors_logged(client) == []


async def test_a_file_over_the_size_limit_is_one_diagnostic(client: LanguageClient, journeys: Path) -> None:
    text = "# padding\n" * 120_000  # 1.2 MB, over the 1 MiB limit of journey files
    uri = open_document(client, journeys / "huge.journey", text)
    found = await diagnostics_until(client, uri, lambda d: bool(d))
    assert [d.code for d in found] == ["JD012"]
    close_document(client, uri)


async def test_a_rename_on_nothing_is_refused_with_a_reason(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    params = types.RenameParams(text_document=doc(uri), position=types.Position(0, 0), new_name="x")
    with pytest.raises(Exception, match="only a step can be renamed"):
        await client.text_document_rename_async(params)
    close_document(client, uri)


async def test_a_document_outside_any_project_folder_is_checked_alone(client: LanguageClient, tmp_path: Path) -> None:
    uri = open_document(client, tmp_path / "lonely.journey", "journey lonely {\n  uses nowhere\n}\n")
    found = await diagnostics_until(client, uri, lambda d: bool(d))
    assert any("nowhere" in d.message for d in found)
    close_document(client, uri)


async def test_the_server_still_answers_after_all_of_it(client: LanguageClient, journeys: Path) -> None:
    uri = open_document(client, journeys / "cart.journey", CART)
    found = await client.text_document_document_symbol_async(types.DocumentSymbolParams(text_document=doc(uri)))
    assert found and found[0].name == "cart"
    close_document(client, uri)
