"""`Engine.fire_until(until)` (what `run --workers` fires another shard's event's timers with) and `advance`;
`Engine.fire_chunks` / `advance_chunks`: the same in bounded pieces."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from runtime_support import build_bundle
from test_runtime_properties import JOURNEY

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.timeparse import parse_rfc3339

_DIR = tempfile.TemporaryDirectory(prefix="jd-firing-")
BUNDLE = build_bundle(Path(_DIR.name), [JOURNEY])
PROFILE = {"email": "a@x", "consent_email": True, "segment": "new"}


def _quote(event_id: str, customer_id: str, at: str, cart: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "quote",
        "customer_id": customer_id,
        "at": at,
        "data": {"roof": 50, "cart": cart},
        "profile": PROFILE,
    }


def _engine() -> Engine:
    engine = Engine.open(BUNDLE, store=MemoryStore())
    for n in range(6):  # quotes at different times: each customer's `waiting` timer falls due 2 days on
        engine.process(_quote(f"q{n}", f"c{n % 4}", f"2026-01-0{1 + n % 3}T1{n}:00:00Z", f"k{n}"))
    return engine


def test_fire_until_gives_advance_records() -> None:
    until = "2026-01-20T00:00:00Z"
    expected = _engine().advance(until)
    engine = _engine()
    records = engine.fire_until(parse_rfc3339(until))
    assert records == expected and len(records) > 4
    assert engine.due_floor == float("inf")  # nothing left to fire
    assert engine.fire_until(parse_rfc3339(until)) == []


def _new_customers(customers: int) -> list[dict[str, Any]]:
    """A quote from each of `customers` new customers on 2026-01-04: each has a timer to fire."""
    return [_quote(f"m{n}", f"m{n}", f"2026-01-04T{n % 24:02d}:{n % 60:02d}:00Z", f"m{n}") for n in range(customers)]


def _more_customers(engine: Engine, customers: int) -> Engine:
    for event in _new_customers(customers):
        engine.process(event)
    return engine


def test_advance_chunks_give_advance_records_in_bounded_pieces() -> None:
    until = "2026-01-20T00:00:00Z"
    expected = _more_customers(_engine(), 40).advance(until)
    for size in (1, 3, 7, 256):
        engine = _more_customers(_engine(), 40)
        pieces = list(engine.advance_chunks(until, size=size))
        assert [record for piece in pieces for record in piece] == expected
        # a piece holds at most `size` customers' firings, so a long advance never holds every record at once
        assert all(len({record["customer_id"] for record in piece}) <= size for piece in pieces)
        assert len(pieces) >= min(44, len({r["customer_id"] for r in expected})) // size
        assert engine.due_floor == float("inf") and list(engine.advance_chunks(until, size=size)) == []


def test_a_limited_firing_leaves_the_clock_until_nothing_is_due() -> None:
    engine = _more_customers(_engine(), 10)
    clock = engine.store.clock
    until = parse_rfc3339("2026-01-20T00:00:00Z")
    pieces = engine.fire_chunks(until, size=2)
    first = next(pieces)
    assert first and len({record["customer_id"] for record in first}) <= 2
    assert engine.store.clock == clock  # timers due by `until` are left: the watermark has not reached it
    rest = [record for piece in pieces for record in piece]
    assert rest and engine.store.clock == until


def test_advance_chunks_refuse_a_bad_time_and_an_empty_piece() -> None:
    engine = _engine()
    with pytest.raises(ValueError, match="RFC 3339|time"):
        engine.advance_chunks("next tuesday")
    with pytest.raises(ValueError, match="at least one firing"):
        list(engine.fire_chunks(parse_rfc3339("2026-01-20T00:00:00Z"), size=0))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_run_writes_its_final_advance_piece_by_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store: str
) -> None:
    """`run --until` past many customers' timers: the records come in pieces (bounded memory, one unit each), the
    same bytes as one `advance`."""
    events = _new_customers(30)
    until = "2026-01-20T00:00:00Z"
    engine = Engine.open(BUNDLE, store=MemoryStore())
    processed = [record for event in events for record in engine.process(event)]
    advanced = engine.advance(until)
    pieces: list[int] = []
    chunks = Engine.advance_chunks

    def small(self: Engine, when: str | float | int, size: int = 256) -> Iterator[list[dict[str, Any]]]:
        for piece in chunks(self, when, size=2):
            pieces.append(len(piece))
            yield piece

    monkeypatch.setattr(Engine, "advance_chunks", small)
    source = tmp_path / "events.jsonl"
    source.write_text("".join(json.dumps(event) + "\n" for event in events))
    bundle = write_bundle(BUNDLE, tmp_path / "b.jbundle")
    options = ["--store", f"sqlite:///{tmp_path / 'st.db'}"] if store == "sqlite" else []
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(source), "--until", until, *options])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == processed + advanced
    assert len(pieces) >= 10 and sum(pieces) == len(advanced)
