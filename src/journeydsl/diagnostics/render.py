"""The one place diagnostics become output: text, JSON, SARIF 2.1.0 and GitHub workflow commands.

Diagnostics are plain data (model.py); every renderer here is a pure function from a list of them
(plus the source texts, for caret lines) to a string, so the CLI and other tools share one format.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from journeydsl import __version__
from journeydsl.diagnostics import codes
from journeydsl.diagnostics.lines import source_lines
from journeydsl.diagnostics.model import Diagnostic, Severity, errors_in

FORMATS: tuple[str, ...] = ("text", "json", "sarif", "github")

# A diagnostic shows at most this much of its source line: the window around the caret, `…` where cut.
# A 100 KB one-line file otherwise repeats the whole line in every one of its diagnostics.
EXCERPT_WIDTH = 120
# Messages and hints quote source text (names, literals); no quote makes one longer than this.
MESSAGE_WIDTH = 400

_COLORS = {Severity.ERROR: "\x1b[1;31m", Severity.WARNING: "\x1b[1;33m", Severity.INFO: "\x1b[1;36m"}
_BOLD, _CYAN, _RESET = "\x1b[1m", "\x1b[36m", "\x1b[0m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(diags: Sequence[Diagnostic], file_count: int | None = None) -> str:
    """`2 errors, 1 warning in 3 files` (infos are counted as notes only when present)."""
    errors = len(errors_in(diags))
    warnings = sum(1 for d in diags if d.severity is Severity.WARNING)
    infos = sum(1 for d in diags if d.severity is Severity.INFO)
    parts = [_plural(errors, "error"), _plural(warnings, "warning")]
    if infos:
        parts.append(_plural(infos, "note"))
    files = file_count if file_count is not None else len({d.span.file for d in diags if d.span})
    return f"{', '.join(parts)} in {_plural(files, 'file')}"


def clip_message(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def excerpt(text: str, start: int, width: int, window: int = EXCERPT_WIDTH) -> tuple[str, int, int]:
    """At most `window` characters of the line `text` around column `start` (1-based), `…` marking a cut;
    with the caret's column and underline width inside what is shown."""
    if len(text) <= window:
        return text, start, width
    left = max(0, min(start - 1 - window // 3, len(text) - window))
    right = left + window
    shown = ("…" if left else "") + text[left:right] + ("…" if right < len(text) else "")
    column = start - left + (1 if left else 0)
    return shown, column, max(1, min(width, right - (start - 1)))


@functools.lru_cache(maxsize=4)
def _lines(text: str, path: str) -> list[str]:
    """A file's lines, split once for all its diagnostics (not once per diagnostic)."""
    return source_lines(text, path)


def _caret_lines(diag: Diagnostic, sources: Mapping[str, str]) -> list[str]:
    """The source line (a window of it: EXCERPT_WIDTH) and a `^~~~` underline of the span's first line."""
    span = diag.span
    if span is None or span.file not in sources:
        return []
    lines = _lines(sources[span.file], span.file)
    if not 1 <= span.line <= len(lines):
        return []
    text = lines[span.line - 1].expandtabs(1)  # tabs count as one column, as in the spans
    start = max(span.col, 1)
    end = span.end_col if span.end_line == span.line and span.end_col > start else len(text) + 1
    if span.end_line != span.line:
        end = len(text) + 1
    width = max(1, min(end, len(text) + 1) - start)
    text, start, width = excerpt(text, start, width)
    gutter = f"{span.line:>5} | "
    return [f"{gutter}{text}", f"{' ' * (len(gutter) - 2)}| {' ' * (start - 1)}^{'~' * (width - 1)}"]


def render_one(diag: Diagnostic, sources: Mapping[str, str], color: bool = False) -> str:
    where = str(diag.span) if diag.span else "<project>"
    label = f"{diag.severity}[{diag.code.code} {diag.code.name}]"
    if color:
        where = f"{_BOLD}{where}{_RESET}"
        label = f"{_COLORS[diag.severity]}{label}{_RESET}"
    out = [f"{where}: {label}: {clip_message(diag.message)}"]
    carets = _caret_lines(diag, sources)
    if color and carets:
        carets[1] = carets[1].replace("^", f"{_COLORS[diag.severity]}^", 1) + _RESET
    out.extend(carets)
    if diag.hint:
        hint = clip_message(diag.hint)
        out.append(f"  {_CYAN}hint{_RESET}: {hint}" if color else f"  hint: {hint}")
    return "\n".join(out)


def render_text(
    diags: Sequence[Diagnostic],
    sources: Mapping[str, str],
    color: bool = False,
    file_count: int | None = None,
) -> str:
    """Human output: one block per diagnostic, then a summary line. `file_count` is the files checked."""
    blocks = [render_one(d, sources, color) for d in diags]
    files = file_count if file_count is not None else len(sources) or None
    blocks.append(summary_line(diags, files))
    return "\n".join(blocks) + "\n"


def as_dict(diag: Diagnostic) -> dict[str, Any]:
    span = diag.span
    return {
        "code": diag.code.code,
        "name": diag.code.name,
        "severity": str(diag.severity),
        "message": clip_message(diag.message),
        "file": span.file if span else None,
        "line": span.line if span else None,
        "column": span.col if span else None,
        "end_line": span.end_line if span else None,
        "end_column": span.end_col if span else None,
        "hint": clip_message(diag.hint) if diag.hint else diag.hint,
    }


def render_json(diags: Sequence[Diagnostic]) -> str:
    return json.dumps([as_dict(d) for d in diags], indent=2) + "\n"


_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def sarif_document(diags: Sequence[Diagnostic]) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run; rules are the whole registry so ruleIndex is stable."""
    registry = codes.all_codes()
    index = {code.code: i for i, code in enumerate(registry)}
    rules = [
        {
            "id": code.code,
            "name": code.name,
            "shortDescription": {"text": code.summary},
            "fullDescription": {"text": code.explanation or code.summary},
            "defaultConfiguration": {"level": _SARIF_LEVEL[code.severity]},
            "help": {"text": f"docs/diagnostics.md#{code.code.lower()}; `journeydsl check --explain {code.code}`"},
        }
        for code in registry
    ]
    results = []
    for diag in diags:
        message = clip_message(diag.message) + (f" (hint: {clip_message(diag.hint)})" if diag.hint else "")
        result: dict[str, Any] = {
            "ruleId": diag.code.code,
            "level": _SARIF_LEVEL[diag.severity],
            "message": {"text": message},
        }
        if diag.code.code in index:
            result["ruleIndex"] = index[diag.code.code]
        if diag.span:
            region = {
                "startLine": diag.span.line,
                "startColumn": diag.span.col,
                "endLine": diag.span.end_line,
                "endColumn": diag.span.end_col,
            }
            result["locations"] = [
                {"physicalLocation": {"artifactLocation": {"uri": diag.span.file}, "region": region}}
            ]
        results.append(result)
    return {
        "$schema": _SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "journeydsl",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }


def render_sarif(diags: Sequence[Diagnostic]) -> str:
    return json.dumps(sarif_document(diags), indent=2) + "\n"


_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _gh_escape_data(text: str) -> str:
    # The workflow-command escaping rules of @actions/core (toCommandValue / escapeData).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_escape_property(text: str) -> str:
    return _gh_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(diags: Sequence[Diagnostic]) -> str:
    """`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=JD102::message` per diagnostic."""
    lines = []
    for diag in diags:
        props = []
        if diag.span:
            span = diag.span
            props += [
                f"file={_gh_escape_property(span.file)}",
                f"line={span.line}",
                f"col={span.col}",
                f"endLine={span.end_line}",
                f"endColumn={span.end_col}",
            ]
        props.append(f"title={diag.code.code}")
        message = clip_message(diag.message) + (f" (hint: {clip_message(diag.hint)})" if diag.hint else "")
        lines.append(f"::{_GITHUB_LEVEL[diag.severity]} {','.join(props)}::{_gh_escape_data(message)}")
    return "".join(line + "\n" for line in lines)


def render(
    fmt: str,
    diags: Sequence[Diagnostic],
    sources: Mapping[str, str],
    color: bool = False,
    file_count: int | None = None,
) -> str:
    """Dispatch on the `--format` name."""
    if fmt == "text":
        return render_text(diags, sources, color, file_count)
    if fmt == "json":
        return render_json(diags)
    if fmt == "sarif":
        return render_sarif(diags)
    if fmt == "github":
        return render_github(diags)
    raise ValueError(f"unknown diagnostics format {fmt!r}; expected one of {', '.join(FORMATS)}")
