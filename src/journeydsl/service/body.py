"""An HTTP request body -> the events it carries, each with its line number.

One JSON value (`application/json`), or NDJSON (`application/x-ndjson`): one event per line, blank lines
skipped, a line that is not JSON is a dead letter with its line number (the other lines still count). Whether
a decoded value is a valid event is the engine's question (it dead-letters a non-object with a reason); here
only the framing is checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from journeydsl.runtime.jsonio import DecodeError, loads

NDJSON = "application/x-ndjson"
JSON = "application/json"


class BodyError(Exception):
    """A body that is not JSON at all (single-object mode): the request is refused with 400."""


@dataclass
class Parsed:
    events: list[tuple[int, Any]] = field(default_factory=list)  # (line, decoded value)
    dead: list[dict[str, Any]] = field(default_factory=list)  # {"line": L, "reason": ...}


def media_type(header: str | None) -> str:
    """`application/x-ndjson; charset=utf-8` -> `application/x-ndjson`; no header counts as JSON."""
    if not header:
        return JSON
    return header.split(";", 1)[0].strip().lower()


def parse(data: bytes, ndjson: bool) -> Parsed:
    parsed = Parsed()
    if not ndjson:
        try:
            parsed.events.append((1, loads(data)))
        except DecodeError as err:
            raise BodyError(f"the body is not JSON: {err}") from err
        return parsed
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            parsed.events.append((number, loads(line)))
        except DecodeError as err:
            parsed.dead.append({"line": number, "reason": f"not JSON: {err}"})
    return parsed
