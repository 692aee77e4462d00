"""Completion from the text before the cursor: which kind of name fits there, and the names of that kind.

The line up to the cursor says what is being written: a step after `->`, `next:` or `otherwise`; a field after
`profile.` or `event.`; an event after `on`, `emit` or `event:`; a channel after `send`, `cap` or `channel:`; a
template after `send CHANNEL` or `template:` (the files under templates/messages/CHANNEL/); a schema after
`uses`. Anywhere else: the keywords of the form (DSL words or YAML keys), the functions and the roots of names.
The names come from the project as last checked, so a file with syntax errors still completes.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lsprotocol import types

from journeydsl.ir import FUNCTIONS, PRIORITY_KINDS, Journey, Schema
from journeydsl.lsp.index import Index
from journeydsl.lsp.workspace import Analysis
from journeydsl.resources import grammar_path
from journeydsl.syntax.printer import format_type
from journeydsl.syntax.yaml_loader import ACTION_KEYS, JOURNEY_KEYS, POLICY_KEYS, SCHEMA_KEYS, STEP_KEYS

Kind = types.CompletionItemKind

_WORD = r"([a-z_][a-z0-9_]*)?"
_STEP = re.compile(rf"(?:->|\bnext\s*:|\botherwise\s*:?|\bkeep)\s*['\"]?{_WORD}$")
_PROFILE = re.compile(rf"\bprofile\.{_WORD}$")
_EVENT_FIELD = re.compile(rf"\bevent\.{_WORD}$")
_EVENT = re.compile(rf"(?:\bon|\bemit|\bevent\s*:|\bexit\s+on|\bentry\s+on)['\"]?\s*:?\s*['\"]?{_WORD}$")
_TEMPLATE_DSL = re.compile(rf"\bsend\s+([a-z_][a-z0-9_]*)\s+{_WORD}$")
_CHANNEL = re.compile(rf"(?:\bsend|\bcap|\bchannel\s*:)\s*{_WORD}$")
_TEMPLATE_YAML = re.compile(rf"\btemplate\s*:\s*{_WORD}$")
_CHANNEL_NEAR = re.compile(r"\bchannel\s*:\s*([a-z_][a-z0-9_]*)")
_STEP_WRITTEN = re.compile(r"^\s*step\s+([a-z_][a-z0-9_]*)", re.MULTILINE)  # steps as written, parsed or not
_CALL = re.compile(rf"\bcall\s*:?\s*{{?\s*(?:name\s*:\s*)?{_WORD}$")
_USES = re.compile(rf"\buses\s*:?\s*{_WORD}$")
_ENVELOPE = (("at", "timestamp"), ("id", "string"), ("type", "string"), ("customer_id", "string"))
_NAME_ROOTS = ("profile", "event", "journey", "now")


@functools.cache
def dsl_keywords() -> tuple[str, ...]:
    """The reserved words of the grammar: its keyword terminals (`SEND: "send"`)."""
    try:
        text = grammar_path().read_text(encoding="utf-8")
    except OSError:
        return ()
    return tuple(sorted(set(re.findall(r'^[A-Z_]+:\s*"([a-z]+)"\s*$', text, re.MULTILINE))))


def _items(names: list[tuple[str, str]], kind: Kind) -> list[types.CompletionItem]:
    seen: dict[str, str] = {}
    for name, detail in names:
        seen.setdefault(name, detail)
    return [types.CompletionItem(label=name, kind=kind, detail=detail or None) for name, detail in seen.items()]


def _schema(index: Index, journey: Journey | None) -> Schema | None:
    if journey is not None and journey.uses:
        return index.schemas.get(journey.uses)
    return next(iter(index.schemas.values()), None) if len(index.schemas) == 1 else None


def _templates(templates_dir: Path, channel: str | None) -> list[tuple[str, str]]:
    folder = templates_dir / "messages"
    channels = (
        [channel] if channel else sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    )
    found: list[tuple[str, str]] = []
    for name in channels:
        if (folder / name).is_dir():
            found += [(p.name[: -len(".j2")], f"{name} template") for p in sorted((folder / name).glob("*.j2"))]
    return found


def _yaml_channel(lines: list[str], line: int) -> str | None:
    """The `channel:` of the send being written: on this line, or on the lines just above it."""
    for number in range(line - 1, max(line - 4, 0) - 1, -1):
        found = _CHANNEL_NEAR.search(lines[number]) if number < len(lines) else None
        if found:
            return found.group(1)
    return None


def complete(
    analysis: Analysis, index: Index, path: str, text: str, line: int, col: int, fallback: Index | None = None
) -> list[types.CompletionItem]:
    """The completions at a 1-based position (col: the character the cursor stands before).

    While a line is half typed the file does not parse, and its journey is missing from `index`: `fallback`, the
    last index in which the file had journeys, stands in for it.
    """
    lines = text.splitlines()
    before = lines[line - 1][: col - 1] if 1 <= line <= len(lines) else ""
    journey = index.journey_at(path, line)
    if journey is None and fallback is not None:
        journey = fallback.journey_at(path, line)
    schema = _schema(index, journey) or (_schema(fallback, journey) if fallback else None)
    if _PROFILE.search(before):
        fields = [(f.name, format_type(f.type)) for f in schema.profile] if schema else []
        return _items(fields, Kind.Field)
    if _EVENT_FIELD.search(before):
        fields = [
            (f.name, f"{format_type(f.type)} ({e.name})") for e in (schema.events if schema else ()) for f in e.fields
        ]
        return _items([*_ENVELOPE, *fields], Kind.Field)
    if _STEP.search(before):
        steps = [(s.name, "step") for s in journey.steps()] if journey else []
        steps += (
            [(name, "step") for name in _STEP_WRITTEN.findall(text)] if not path.endswith((".yaml", ".yml")) else []
        )
        return _items(steps, Kind.Function)
    if _USES.search(before):
        return _items([(name, "schema") for name in index.schemas], Kind.Module)
    template = _TEMPLATE_DSL.search(before)
    if template and (schema is None or template.group(1) in {c.name for c in schema.channels}):
        return _items(_templates(analysis.spec.templates_dir, template.group(1)), Kind.File)
    if _TEMPLATE_YAML.search(before):
        return _items(_templates(analysis.spec.templates_dir, _yaml_channel(lines, line)), Kind.File)
    if _CALL.search(before):
        return _items([(i.name, "integration") for i in (schema.integrations if schema else ())], Kind.Interface)
    if _CHANNEL.search(before):
        return _items([(c.name, f"cost {c.cost}") for c in (schema.channels if schema else ())], Kind.EnumMember)
    if _EVENT.search(before):
        return _items([(e.name, "event") for e in (schema.events if schema else ())], Kind.Event)
    return _keywords(path)


def _keywords(path: str) -> list[types.CompletionItem]:
    if path.endswith((".yaml", ".yml")):
        keys = sorted({*JOURNEY_KEYS, *SCHEMA_KEYS, *POLICY_KEYS, *PRIORITY_KINDS, *STEP_KEYS, *ACTION_KEYS})
        words = _items([(key, "key") for key in keys], Kind.Property)
    else:
        words = _items([(word, "keyword") for word in dsl_keywords()], Kind.Keyword)
    functions = _items([(name, "function") for name in FUNCTIONS], Kind.Function)
    roots = _items([(name, "name") for name in _NAME_ROOTS], Kind.Variable)
    return [*words, *functions, *roots]
