"""JSON for the runtime: orjson when importable (it is a dependency), the standard library otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson

    # The C functions themselves, not wrappers: `run` calls loads once per event line.
    dumps: Callable[[Any], bytes] = orjson.dumps
    loads: Callable[[bytes | str], Any] = orjson.loads

    def dumps_lines(values: list[Any]) -> bytes:
        """JSON Lines: each value encoded, newline-terminated, joined."""
        line = orjson.dumps
        option = orjson.OPT_APPEND_NEWLINE
        return b"".join([line(value, option=option) for value in values])

    DecodeError: type[Exception] = orjson.JSONDecodeError
except ImportError:  # pragma: no cover - orjson is a declared dependency

    def dumps(value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(data: bytes | str) -> Any:
        return json.loads(data)

    def dumps_lines(values: list[Any]) -> bytes:
        return b"".join(dumps(value) + b"\n" for value in values)

    DecodeError = json.JSONDecodeError
