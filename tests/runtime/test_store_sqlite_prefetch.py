"""SQLite `prefetch` (issue 18): the next events' customers and seen ids in one query each, the same answers as
without it; and `journeydsl run` reading its events ahead for a durable store."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.cli import run as run_module
from journeydsl.compile import write_bundle
from journeydsl.runtime import SqliteStore, StoreError, open_store


def customer(n: int) -> dict[str, Any]:
    return {"p": {"n": n}, "i": {}, "c": {}}


def filled(path: Path, customers: list[str], seen: list[str]) -> None:
    """A store file holding `customers` and the seen ids `seen`, committed."""
    store = open_store(f"sqlite:///{path}", mode="write")
    for n, cid in enumerate(customers):
        store.save(cid, customer(n), None, True)
    for eid in seen:
        store.add_seen(eid, 1.0)
    store.close()


class Counting:
    """The statements a connection runs (sqlite3's trace callback)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.statements: list[str] = []
        db.set_trace_callback(self.statements.append)


def test_prefetch_answers_the_next_events_without_a_query_each(tmp_path: Path) -> None:
    filled(tmp_path / "s.db", ["c0", "c1", "c2"], ["e0", "e1"])
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    assert isinstance(store, SqliteStore)
    counting = Counting(store._db)
    store.prefetch(["c0", "c1", "nobody", "c0"], ["e0", "e9", "e0"])
    assert len(counting.statements) == 2  # one for the customers, one for the ids
    counting.statements.clear()
    assert store.load("c0") == customer(0) and store.load("c1") == customer(1)
    assert store.load("nobody") is None
    assert store.seen_before("e0") and not store.seen_before("e9")
    assert counting.statements == []
    assert store.load("c2") == customer(2) and store.seen_before("e1")  # not prefetched: asked for
    assert len(counting.statements) == 2
    store.close()


def test_what_the_unit_adds_overrides_what_prefetch_found(tmp_path: Path) -> None:
    filled(tmp_path / "s.db", [], [])
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.prefetch(["new"], ["e1"])
    assert store.load("new") is None and not store.seen_before("e1")
    store.save("new", customer(7), None, True)
    store.add_seen("e1", 2.0)
    assert store.load("new") == customer(7) and store.seen_before("e1")
    store.flush()
    store.prefetch(["other"], ["e2"])  # a later read-ahead forgets the earlier one: answers come from the file
    assert store.load("new") == customer(7) and store.seen_before("e1")
    store.close()
    again = open_store(f"sqlite:///{tmp_path / 's.db'}")
    again.prefetch(["new"], ["e1"])
    assert again.load("new") == customer(7) and again.seen_before("e1")
    again.close()


def test_a_damaged_row_is_named_when_its_customer_is_loaded(tmp_path: Path) -> None:
    filled(tmp_path / "s.db", ["ok", "bad"], [])
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE customers SET state = X'5B31' WHERE id = 'bad'")  # `[1`: not JSON
    db.close()
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    store.prefetch(["ok", "bad"], [])  # no error here: the event of `bad` may never come
    assert store.load("ok") == customer(0)
    with pytest.raises(StoreError, match=r"customers row 'bad'"):
        store.load("bad")
    store.abandon()


def test_a_cache_of_none_prefetches_no_customer(tmp_path: Path) -> None:
    filled(tmp_path / "s.db", ["c0"], [])
    store = open_store(f"sqlite:///{tmp_path / 's.db'}?cache=0")
    store.prefetch(["c0", "c9"], [])
    assert store.load("c0") == customer(0) and store.load("c9") is None
    store.close()


# Ids SQLite's JSON functions might read otherwise than Python: NUL, non-ASCII, a quote, the empty string.
IDS_ALL = ["a", "b", "c", "é", "x\x00y", "x", "😀", 'q"uote', ""]
IDS = st.sampled_from(IDS_ALL)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stored=st.sets(IDS),
    seen=st.sets(IDS),
    customers=st.lists(IDS, max_size=12),
    events=st.lists(IDS, max_size=12),
    cache=st.sampled_from([0, 1, 3, 100]),
)
def test_answers_are_the_same_with_and_without_prefetch(
    tmp_path_factory: pytest.TempPathFactory,
    stored: set[str],
    seen: set[str],
    customers: list[str],
    events: list[str],
    cache: int,
) -> None:
    path = tmp_path_factory.mktemp("p") / "s.db"
    filled(path, sorted(stored), sorted(seen))
    store = open_store(f"sqlite:///{path}?cache={cache}")
    store.prefetch(customers, events)
    for cid in sorted({*IDS_ALL, *customers}):
        assert (store.load(cid) is not None) == (cid in stored), cid
    for eid in sorted({*IDS_ALL, *events}):
        assert store.seen_before(eid) == (eid in seen), eid
    store.close()


JOURNEY = """
schema s {
  profile { email: string }
  event hi {}
  event seen {}
  channel email { cost 0.001 }
}
journey j {
  version 1
  owner "o@x"
  uses s
  entry on hi
  stage s {
    step hello { send email hello -> wait }
    step wait { wait { on hi -> again  after 1d -> done } }
    step again { send email again -> done }
    step done { end done }
  }
}
"""


def test_run_reads_ahead_with_the_same_records_as_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small read-ahead chunks, so that duplicates fall inside a chunk and across chunks, beside blank lines, bad
    JSON and events no journey listens to: the records, dead letters and counts equal memory://'s."""
    bundle = write_bundle(build_bundle(tmp_path / "project", [JOURNEY]), tmp_path / "b.jbundle")
    monkeypatch.setattr(run_module, "READ_AHEAD", 3)
    lines = []
    for n in range(40):
        kind = "hi" if n % 3 else "seen"
        at = f"2026-01-01T10:{n:02d}:00Z"
        event: dict[str, Any] = {"id": f"e{n}", "type": kind, "customer_id": f"c{n % 7}", "at": at}
        if n % 5 == 0:
            event["profile"] = {"email": f"{n}@x"}
        lines.append(json.dumps(event))
        if n % 4 == 0:
            lines.append(json.dumps(event))  # a duplicate, right behind
        if n % 9 == 0:
            lines.append(lines[n // 2])  # a duplicate from chunks before
    lines[5:5] = [
        "",
        "{not json",
        json.dumps({"id": "odd", "type": ["hi"], "customer_id": "c1", "at": "2026-01-01T10:00:00Z"}),
    ]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    outputs = []
    for store in ("memory://", f"sqlite:///{tmp_path / 's.db'}"):
        result = CliRunner().invoke(
            main,
            ["run", str(bundle), "--events", str(tmp_path / "events.jsonl"), "--store", store, "--until",
             "2026-01-05T00:00:00Z", "--workers", "1", "--summary"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert outputs[0] == outputs[1]
    assert '"kind"' in outputs[0]
