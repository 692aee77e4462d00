"""The language server on pygls: the protocol's requests answered from the checked project of each document.

Each project (workspace.ProjectSpec) is loaded and checked at most once per edit: an edit marks its project
stale, a request re-checks a stale project first (so it sees every keystroke before it), and diagnostics are
published a moment after the typing stops (`DELAY`), for every file of the project, clearing files that no
longer have any. A handler never lets an exception out: a bug shows as a log message and an empty answer, and
a checker crash as one diagnostic at the top of the file, not as a dead server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from journeydsl import __version__
from journeydsl.diagnostics import Diagnostic, Severity, codes
from journeydsl.ir import Span
from journeydsl.lsp import index as idx
from journeydsl.lsp.completion import complete
from journeydsl.lsp.edits import RenameError, formatted, renamable, rename_step
from journeydsl.lsp.hover import hover_text, template_file
from journeydsl.lsp.index import Index, Symbol, build_index
from journeydsl.lsp.outline import outline
from journeydsl.lsp.workspace import Analysis, ProjectSpec, analyse, find_project
from journeydsl.project import Project, is_journey_file
from journeydsl.testing.scenario import is_scenario_file

log = logging.getLogger(__name__)

# Seconds of quiet after an edit before diagnostics are published; JOURNEYDSL_LSP_DELAY overrides it (tests).
DELAY = float(os.environ.get("JOURNEYDSL_LSP_DELAY", "0.2"))

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}

T = TypeVar("T")


class JourneyServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("journeydsl", __version__)
        self.checked: dict[ProjectSpec, tuple[Analysis, Index]] = {}
        self.stale: set[ProjectSpec] = set()
        self.published: dict[ProjectSpec, set[str]] = {}
        self.pending: dict[ProjectSpec, asyncio.Task[None]] = {}
        self.uris: dict[str, str] = {}  # resolved path -> the URI the client opened it under
        self.last_parsed: dict[str, Index] = {}  # path -> the last index in which that file had journeys
        self.anchors: dict[ProjectSpec, str] = {}  # one document of each project seen: re-checks start from it

    # ---- documents and projects

    def path_of(self, uri: str) -> str | None:
        raw = to_fs_path(uri)
        if raw is None:
            return None
        path = str(Path(raw).resolve())
        self.uris.setdefault(path, uri)
        return path

    def uri_of(self, path: str) -> str:
        return self.uris.get(path) or from_fs_path(path) or path

    def buffers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for uri, document in self.workspace.text_documents.items():
            path = self.path_of(uri)
            if path is not None and (is_journey_file(Path(path)) or is_scenario_file(Path(path))):
                found[path] = document.source
        return found

    def project(self, path: str) -> tuple[Analysis, Index]:
        """The checked project of a document, re-checked when an edit made it stale."""
        spec = find_project(Path(path))
        self.anchors.setdefault(spec, path)
        if spec in self.checked and spec not in self.stale:
            return self.checked[spec]
        self.stale.discard(spec)
        try:
            analysis = analyse(Path(path), self.buffers())
            project = analysis.project
            index = build_index([*project.files, *project.neighbours], project.sources, analysis.scenarios)
        except Exception:  # a checker bug must not take the editor's server down with it
            log.exception("checking %s failed", path)
            analysis = Analysis(spec, analyse_nothing(spec))
            analysis.diagnostics = [crash_diagnostic(path, traceback.format_exc(limit=3))]
            index = Index()
        result = (analysis, index)
        self.checked[spec] = result
        for file_path, _ in result[1].journeys:
            self.last_parsed[file_path] = result[1]
        return result

    def text(self, analysis: Analysis, path: str) -> str:
        """The text spans of `path` were computed on: the project's, an open buffer's, else the file on disk."""
        if path in analysis.project.sources:
            return analysis.project.sources[path]
        for scenario_file, text in analysis.scenarios:
            if scenario_file.path == path:
                return text
        try:
            return Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return ""

    def to_range(self, analysis: Analysis, span: Span) -> types.Range:
        lines = self.text(analysis, span.file).splitlines()
        codec = self.workspace.position_codec
        start = types.Position(max(span.line - 1, 0), max(span.col - 1, 0))
        end = types.Position(max(span.end_line - 1, 0), max(span.end_col - 1, 0))
        return codec.range_to_client_units(lines, types.Range(start, end))

    def position(self, uri: str, position: types.Position) -> tuple[str, int, int] | None:
        """(path, line, col) 1-based in characters, from a client position."""
        path = self.path_of(uri)
        if path is None:
            return None
        lines = self.workspace.get_text_document(uri).lines
        server = self.workspace.position_codec.position_from_client_units(lines, position)
        return path, server.line + 1, server.character + 1

    def location(self, analysis: Analysis, span: Span) -> types.Location:
        return types.Location(uri=self.uri_of(span.file), range=self.to_range(analysis, span))

    # ---- diagnostics

    def edited(self, uri: str) -> None:
        """A document changed: its project (and any other, which may read the same schema) is checked on next use,
        and diagnostics are published once the typing stops. A project file or template changing re-checks all."""
        path = self.path_of(uri)
        if path is None:
            return
        self.stale |= set(self.checked)
        if is_journey_file(Path(path)):
            spec = find_project(Path(path))
            self.stale.add(spec)
            self.anchors[spec] = path
            self._schedule(spec, path)
            return
        for spec, anchor in list(self.anchors.items()):
            self._schedule(spec, anchor)

    def _schedule(self, spec: ProjectSpec, path: str) -> None:
        earlier = self.pending.pop(spec, None)
        if earlier is not None:
            earlier.cancel()
        self.pending[spec] = asyncio.ensure_future(self._publish_later(spec, path))

    async def _publish_later(self, spec: ProjectSpec, path: str) -> None:
        await asyncio.sleep(DELAY)
        self.pending.pop(spec, None)
        guarded(self, lambda: self.publish(spec, path), None)

    def publish(self, spec: ProjectSpec, path: str) -> None:
        analysis, _ = self.project(path)
        by_file: dict[str, list[types.Diagnostic]] = {self.uri_of(p): [] for p in analysis.project.sources}
        for diag in analysis.diagnostics:
            span = diag.span if diag.span is not None else Span(path, 1, 1, 1, 1)
            if not os.path.isabs(span.file):  # a path relative to the project root
                span = Span(str(spec.root / span.file), span.line, span.col, span.end_line, span.end_col)
            by_file.setdefault(self.uri_of(span.file), []).append(to_lsp(diag, self.to_range(analysis, span)))
        for uri in self.published.get(spec, set()) - set(by_file):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))
        for uri, found in by_file.items():
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=found))
        self.published[spec] = set(by_file)


def analyse_nothing(spec: ProjectSpec) -> Project:
    return Project(templates_dir=spec.templates_dir)


def crash_diagnostic(path: str, detail: str) -> Diagnostic:
    message = "journeydsl could not check this project (a bug: please report it with this text)\n" + detail
    return Diagnostic(codes.FILE_ERROR, message, Span(path, 1, 1, 1, 2), severity=Severity.ERROR)


def to_lsp(diag: Diagnostic, where: types.Range) -> types.Diagnostic:
    message = diag.message + (f"\nhint: {diag.hint}" if diag.hint else "")
    return types.Diagnostic(
        range=where,
        message=message,
        severity=_SEVERITY.get(diag.severity, types.DiagnosticSeverity.Error),
        code=diag.code.code,
        source="journeydsl",
    )


def guarded(server: LanguageServer, answer: Callable[[], T], fallback: T) -> T:
    """The answer, or `fallback` with the error in the client's log: a bug in one feature is not a dead server."""
    try:
        return answer()
    except Exception:
        message = "journeydsl lsp: " + traceback.format_exc(limit=5)
        log.error(message)
        server.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=message))
        return fallback


server = JourneyServer()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: JourneyServer, params: types.DidOpenTextDocumentParams) -> None:
    ls.edited(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: JourneyServer, params: types.DidChangeTextDocumentParams) -> None:
    ls.edited(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: JourneyServer, params: types.DidSaveTextDocumentParams) -> None:
    ls.edited(params.text_document.uri)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: JourneyServer, params: types.DidChangeWatchedFilesParams) -> None:
    for change in params.changes:  # a journey, template or project file changed on disk, outside the editor
        ls.edited(change.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: JourneyServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.edited(params.text_document.uri)  # the file on disk counts again


def _symbol_at(ls: JourneyServer, uri: str, position: types.Position) -> tuple[Analysis, Index, Symbol] | None:
    where = ls.position(uri, position)
    if where is None:
        return None
    path, line, col = where
    analysis, index = ls.project(path)
    symbol = index.at(path, line, col)
    return (analysis, index, symbol) if symbol is not None else None


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: JourneyServer, params: types.HoverParams) -> types.Hover | None:
    def answer() -> types.Hover | None:
        where = ls.position(params.text_document.uri, params.position)
        if where is None:
            return None
        path, line, col = where
        analysis, index = ls.project(path)
        text = hover_text(analysis, index, path, line, col)
        if text is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    return guarded(ls, answer, None)


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: JourneyServer, params: types.DefinitionParams) -> list[types.Location] | None:
    def answer() -> list[types.Location] | None:
        found = _symbol_at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, index, symbol = found
        if symbol.kind == idx.TEMPLATE:
            path = template_file(analysis.spec.templates_dir, symbol.key[0], symbol.key[1])
            start = types.Position(0, 0)
            return [types.Location(uri=from_fs_path(str(path)) or str(path), range=types.Range(start, start))]
        return [ls.location(analysis, s.span) for s in index.definitions(symbol)] or None

    return guarded(ls, answer, None)


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: JourneyServer, params: types.ReferenceParams) -> list[types.Location] | None:
    def answer() -> list[types.Location] | None:
        found = _symbol_at(ls, params.text_document.uri, params.position)
        if found is None:
            return None
        analysis, index, symbol = found
        include = params.context.include_declaration
        return [ls.location(analysis, s.span) for s in index.references(symbol, include)]

    return guarded(ls, answer, None)


@server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", ">", " ", ":"]))
def completion(ls: JourneyServer, params: types.CompletionParams) -> types.CompletionList:
    def answer() -> types.CompletionList:
        where = ls.position(params.text_document.uri, params.position)
        if where is None:
            return types.CompletionList(is_incomplete=False, items=[])
        path, line, col = where
        analysis, index = ls.project(path)
        text = ls.workspace.get_text_document(params.text_document.uri).source
        items = complete(analysis, index, path, text, line, col, ls.last_parsed.get(path))
        return types.CompletionList(is_incomplete=False, items=items)

    return guarded(ls, answer, types.CompletionList(is_incomplete=False, items=[]))


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(ls: JourneyServer, params: types.PrepareRenameParams) -> types.Range | None:
    def answer() -> types.Range | None:
        where = ls.position(params.text_document.uri, params.position)
        if where is None:
            return None
        analysis, index = ls.project(where[0])
        symbol = renamable(index, *where)
        return ls.to_range(analysis, symbol.span) if symbol is not None else None

    return guarded(ls, answer, None)


@server.feature(types.TEXT_DOCUMENT_RENAME)
def rename(ls: JourneyServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    where = ls.position(params.text_document.uri, params.position)
    if where is None:
        return None
    analysis, index = ls.project(where[0])
    symbol = renamable(index, *where)
    if symbol is None:
        raise RenameError("only a step can be renamed: put the cursor on a step's name or on a `->` target")
    edits = rename_step(index, symbol, params.new_name)  # a RenameError reaches the client as the reason
    changes = {
        ls.uri_of(path): [types.TextEdit(range=ls.to_range(analysis, span), new_text=text) for span, text in found]
        for path, found in edits.items()
    }
    return types.WorkspaceEdit(changes=changes)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: JourneyServer, params: types.DocumentFormattingParams) -> list[types.TextEdit] | None:
    def answer() -> list[types.TextEdit] | None:
        document = ls.workspace.get_text_document(params.text_document.uri)
        path = ls.path_of(params.text_document.uri) or document.path
        result = formatted(document.source, path)
        if result is None or result == document.source:
            return [] if result is not None else None
        lines = document.lines
        end = types.Position(len(lines), 0)
        return [types.TextEdit(range=types.Range(types.Position(0, 0), end), new_text=result)]

    return guarded(ls, answer, None)


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(ls: JourneyServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
    def answer() -> list[types.DocumentSymbol]:
        path = ls.path_of(params.text_document.uri)
        if path is None:
            return []
        analysis, index = ls.project(path)
        source = analysis.file(path)
        if source is None:
            return []
        return outline(source, ls.text(analysis, path), index, lambda span: ls.to_range(analysis, span))

    return guarded(ls, answer, [])


def run_stdio() -> None:
    """Serve one client on stdin/stdout until it exits."""
    server.start_io()
