"""JSON logs: one object per line on standard error (`ts`, `level`, `msg`, then the event's fields).

Everything logs through the stdlib `logging` module (uvicorn included), and one handler formats it, so a log
shipper reads a single format. Fields go in `extra={"fields": {...}}`; `log()` is the short form.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import IO, Any

from journeydsl.runtime.jsonio import dumps

LOGGER = logging.getLogger("journeydsl.serve")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for name, value in fields.items():
                entry.setdefault(str(name), value)
        if record.name != LOGGER.name:
            entry["logger"] = record.name
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        try:
            return dumps(entry).decode()
        except TypeError:  # a field orjson cannot encode: its text instead of a lost line
            plain = {key: value if isinstance(value, str) else repr(value) for key, value in entry.items()}
            return dumps(plain).decode()


def setup(level: int = logging.INFO, stream: IO[str] | None = None) -> None:
    """Route every logger (ours, uvicorn's) to one JSON handler on standard error."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        named = logging.getLogger(name)
        named.handlers.clear()
        named.propagate = True
    # No line per request: at thousands of batches a second the log would cost more than the work (the request
    # counts are in /metrics).
    logging.getLogger("uvicorn.access").disabled = True


def log(level: int, msg: str, **fields: Any) -> None:
    LOGGER.log(level, msg, extra={"fields": fields})


def info(msg: str, **fields: Any) -> None:
    log(logging.INFO, msg, **fields)


def warning(msg: str, **fields: Any) -> None:
    log(logging.WARNING, msg, **fields)


def error(msg: str, **fields: Any) -> None:
    log(logging.ERROR, msg, **fields)
