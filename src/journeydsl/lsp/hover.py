"""Hover text: what a name under the cursor stands for, and the explanation of a diagnostic there.

Markdown, as editors show it. A step shows its stage, kind, actions and where it goes; an event its fields; a
field its type; a channel its cost and consent field; a template its file and first lines; a diagnostic code
(the finding under the cursor, or `JD102` written in a comment) the text `journeydsl check --explain` prints.
"""

from __future__ import annotations

import re
from pathlib import Path

from journeydsl.diagnostics import Diagnostic, codes
from journeydsl.diagnostics.model import Code
from journeydsl.ir import End, Schema, Span, flow_targets
from journeydsl.lsp import index as idx
from journeydsl.lsp.index import Index, Symbol
from journeydsl.lsp.workspace import Analysis
from journeydsl.render.graph import step_kind
from journeydsl.syntax.printer import format_action, format_type

_CODE_WORD = re.compile(r"\bJD\d{3}\b", re.IGNORECASE)
_SNIPPET_LINES = 12
_TEMPLATE_LINES = 6


def explain(code: Code) -> str:
    """The `--explain` text of a code (the same parts and order as `journeydsl check --explain`), as Markdown."""
    out = [f"**{code.code} {code.name}** ({code.severity})", "", code.summary]
    if code.explanation:
        out += ["", code.explanation]
    if code.bad_example:
        out += ["", "Fails:", "", "```", code.bad_example.rstrip(), "```"]
    if code.good_example:
        out += ["", "Passes:", "", "```", code.good_example.rstrip(), "```"]
    return "\n".join(out)


def covers(span: Span, line: int, col: int) -> bool:
    if not span.line <= line <= max(span.end_line, span.line):
        return False
    if line == span.line and col < span.col:
        return False
    return not (line == span.end_line and line != span.line and col > span.end_col)


def _snippet(text: str, span: Span | None) -> str:
    if span is None:
        return ""
    lines = text.splitlines()[span.line - 1 : max(span.end_line, span.line)]
    if len(lines) > _SNIPPET_LINES:
        lines = [*lines[:_SNIPPET_LINES], "…"]
    indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
    return "\n".join(line[indent:] for line in lines)


def _schema_of(index: Index, symbol: Symbol) -> Schema | None:
    return index.schemas.get(symbol.key[0])


def _step(symbol: Symbol, index: Index, analysis: Analysis) -> str:
    key = (symbol.key[0], symbol.key[1], symbol.key[2])
    step, stage = index.steps.get(key), index.stages.get(key)
    if step is None or stage is None:
        return f"**step** `{symbol.name}`: no such step in journey `{symbol.key[1]}`"
    out = [f"**step** `{step.name}` · stage `{stage.name}` · journey `{symbol.key[1]}` · {step_kind(step)}"]
    if step.actions:
        out += ["", "does: " + "; ".join(f"`{format_action(action, short=True)}`" for action in step.actions)]
    targets = list(dict.fromkeys(target.name for target in flow_targets(step.flow)))
    if targets:
        out += ["", "goes to: " + ", ".join(f"`{name}`" for name in targets)]
    if isinstance(step.flow, End):
        out += ["", f"ends the journey: `{step.flow.outcome or 'end'}`"]
    text = analysis.project.sources.get(key[0], "")
    snippet = _snippet(text, step.span)
    if snippet:
        out += ["", "```journey", snippet, "```"]
    return "\n".join(out)


def _event(symbol: Symbol, index: Index) -> str:
    schema = _schema_of(index, symbol)
    event = next((e for e in schema.events if e.name == symbol.name), None) if schema else None
    if event is None:
        return f"**event** `{symbol.name}`: not in schema `{symbol.key[0] or '?'}`"
    fields = ", ".join(f"{f.name}: {format_type(f.type)}" for f in event.fields)
    return (
        f"**event** `{event.name}` (schema `{symbol.key[0]}`)\n\n```journey\nevent {event.name} {{ {fields} }}\n```\n\n"
        "Every event also has `event.at`, `event.id`, `event.type` and `event.customer_id`."
    )


def _profile_field(symbol: Symbol, index: Index) -> str:
    schema = _schema_of(index, symbol)
    found = next((f for f in schema.profile if f.name == symbol.name), None) if schema else None
    if found is None:
        return f"**profile field** `{symbol.name}`: not in schema `{symbol.key[0] or '?'}`"
    declared = f"profile.{found.name}: {format_type(found.type)}"
    return f"**profile field** (schema `{symbol.key[0]}`)\n\n```journey\n{declared}\n```"


def _event_field(symbol: Symbol, index: Index) -> str:
    schema = _schema_of(index, symbol)
    rows = [
        f"{event.name}.{item.name}: {format_type(item.type)}"
        for event in (schema.events if schema else ())
        for item in event.fields
        if item.name == symbol.name
    ]
    if not rows:
        return f"**event field** `{symbol.name}`: no event of schema `{symbol.key[0] or '?'}` has it"
    return "**event field**, declared by\n\n```journey\n" + "\n".join(rows) + "\n```"


def _channel(symbol: Symbol, index: Index) -> str:
    schema = _schema_of(index, symbol)
    channel = next((c for c in schema.channels if c.name == symbol.name), None) if schema else None
    if channel is None:
        return f"**channel** `{symbol.name}`: not in schema `{symbol.key[0] or '?'}`"
    consent = f", sent only when `profile.{channel.requires}` is true" if channel.requires else ""
    return f"**channel** `{channel.name}`: cost {channel.cost} per message{consent}"


def template_file(templates_dir: Path, channel: str, name: str) -> Path:
    return templates_dir / "messages" / channel / f"{name}.j2"


def _integration(symbol: Symbol, index: Index) -> str:
    schema = _schema_of(index, symbol)
    declared = schema is not None and symbol.name in {item.name for item in schema.integrations}
    state = "declared in" if declared else "not declared in"
    return f"**integration** `{symbol.name}`: an external system a `call` reaches, {state} schema `{symbol.key[0]}`"


def _template(symbol: Symbol, analysis: Analysis) -> str:
    path = template_file(analysis.spec.templates_dir, symbol.key[0], symbol.key[1])
    try:
        head = path.read_text(encoding="utf-8").splitlines()[:_TEMPLATE_LINES]
    except (OSError, UnicodeDecodeError):
        return f"**template** `{symbol.key[1]}` ({symbol.key[0]}): no file `{path}`"
    return f"**template** `{path}`\n\n```jinja\n" + "\n".join(head) + "\n```"


def _journey(symbol: Symbol, index: Index) -> str:
    journey = next((j for (_, name), j in index.journeys.items() if name == symbol.name), None)
    if journey is None:
        return f"**journey** `{symbol.name}`"
    out = [f"**journey** `{journey.name}`" + (f" version {journey.version}" if journey.version is not None else "")]
    out += [f"{journey.title}"] if journey.title else []
    out += [f"owner {journey.owner}"] if journey.owner else []
    out += [journey.description] if journey.description else []
    return "\n\n".join(out)


def _schema(symbol: Symbol, index: Index) -> str:
    schema = index.schemas.get(symbol.name)
    if schema is None:
        return f"**schema** `{symbol.name}`: not found in this project"
    return (
        f"**schema** `{schema.name}`: {len(schema.profile)} profile fields, {len(schema.events)} events, "
        f"{len(schema.channels)} channels"
    )


def describe(symbol: Symbol, index: Index, analysis: Analysis) -> str:
    kind = symbol.kind
    if kind == idx.STEP:
        return _step(symbol, index, analysis)
    if kind == idx.EVENT:
        return _event(symbol, index)
    if kind == idx.PROFILE_FIELD:
        return _profile_field(symbol, index)
    if kind == idx.EVENT_FIELD:
        return _event_field(symbol, index)
    if kind == idx.CHANNEL:
        return _channel(symbol, index)
    if kind == idx.TEMPLATE:
        return _template(symbol, analysis)
    if kind == idx.INTEGRATION:
        return _integration(symbol, index)
    if kind == idx.JOURNEY:
        return _journey(symbol, index)
    return _schema(symbol, index)


def _diagnostics_at(diagnostics: list[Diagnostic], path: str, line: int, col: int) -> list[Diagnostic]:
    return [d for d in diagnostics if d.span is not None and d.span.file == path and covers(d.span, line, col)]


def hover_text(analysis: Analysis, index: Index, path: str, line: int, col: int) -> str | None:
    """Markdown for the 1-based position (line, col in characters), or None when there is nothing to say."""
    parts: list[str] = []
    symbol = index.at(path, line, col)
    if symbol is not None:
        parts.append(describe(symbol, index, analysis))
    shown: set[str] = set()
    for diag in _diagnostics_at(analysis.diagnostics, path, line, col):
        if diag.code.code not in shown:
            shown.add(diag.code.code)
            parts.append(f"{diag.severity}: {diag.message}\n\n" + explain(diag.code))
    lines = analysis.project.sources.get(path, "").splitlines()
    if 1 <= line <= len(lines):
        for found in _CODE_WORD.finditer(lines[line - 1]):
            code = codes.lookup(found.group(0))
            if code is not None and found.start() < col <= found.end() + 1 and code.code not in shown:
                shown.add(code.code)
                parts.append(explain(code))
    return "\n\n---\n\n".join(parts) or None
