"""`journeydsl run --workers N`: the same records and keys as one process, each customer's in one process's order,
the same dead letters (in line order) and counts, on memory:// and SQLite shards; the output block by block, the
same bytes on every run; the default count; refusals (a count the store cannot take, a worker that fails)."""

from __future__ import annotations

import gc
import json
import os
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import build_bundle
from test_runtime_properties import JOURNEY

import journeydsl.runtime.workers as workers_module
from journeydsl import api
from journeydsl.cli import main
from journeydsl.runtime import Engine
from journeydsl.runtime.engine import ADVANCE_CHUNK
from journeydsl.runtime.inflight import in_flight_at
from journeydsl.runtime.shards import shard_url
from journeydsl.runtime.store import StoreError
from journeydsl.runtime.workers import (
    SMALL_STREAM,
    WorkersError,
    cores,
    plan_layout,
    run_events,
    shard_of,
)

ROOT = Path(__file__).resolve().parents[2]
UNTIL = "2026-06-01T00:00:00Z"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The example journeys' bundle and their synth stream (every event drives a journey; some are bad)."""
    folder = tmp_path_factory.mktemp("workers")
    bundle, events = folder / "examples.jbundle", folder / "events.jsonl"
    runner = CliRunner()
    built = runner.invoke(main, ["build", str(ROOT / "journeys"), "-o", str(bundle)])
    assert built.exit_code == 0, built.output
    drawn = runner.invoke(main, ["synth", str(ROOT / "journeys"), "--customers", "300", "-o", str(events)])
    assert drawn.exit_code == 0, drawn.output
    with events.open("ab") as stream:  # a line that is not JSON and a blank one: dead-lettered once, skipped
        stream.write(b"{not json\n\n")
    return bundle, events


def _run(args: list[str]) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(main, ["run", *args])
    return result.exit_code, result.stdout_bytes, result.stderr


def _keys(output: bytes) -> list[str]:
    return sorted(json.loads(line)["key"] for line in output.splitlines())


def _lines(records: bytes | list[dict[str, Any]]) -> list[str]:
    if isinstance(records, bytes):
        return records.decode().splitlines()
    return [json.dumps(record, ensure_ascii=False) for record in records]


def assert_one_process_s(sharded: bytes | list[dict[str, Any]], single: bytes | list[dict[str, Any]]) -> None:
    """What `run --workers N` promises (workers.py): one process's records, and each customer's in one process's
    order; only how the customers of different shards interleave may differ."""
    ours, theirs = _lines(sharded), _lines(single)
    assert sorted(ours) == sorted(theirs)

    def by_customer(lines: list[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for line in lines:
            grouped.setdefault(json.loads(line).get("customer_id"), []).append(line)
        return grouped

    assert by_customer(ours) == by_customer(theirs)


def test_memory_records_dead_letters_and_summary_are_one_process_s(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, events = example
    outputs = []
    for count in (1, 2, 3):
        dead = tmp_path / f"dead{count}.jsonl"
        code, out, err = _run(
            [str(bundle), "--events", str(events), "--workers", str(count), "--until", UNTIL]
            + ["--dead-letter", str(dead), "--summary"]
        )
        assert code == 0, err
        outputs.append((out, dead.read_bytes(), err))
    single = outputs[0]
    assert single[0].count(b"\n") > 1000 and single[1].count(b"\n") > 5
    for out, dead_letters, summary in outputs[1:]:
        assert _keys(out) == _keys(single[0])
        assert_one_process_s(out, single[0])
        assert dead_letters == single[1]  # in line order, byte for byte
        assert summary == single[2]
    assert b'"reason":"not JSON' in single[1]


def test_the_output_goes_block_by_block_worker_by_worker(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order workers.py promises, exactly: for each BLOCK of input lines, the records made while reading them,
    worker 1's then worker 2's and so on; then the `--until` firings, a piece of each worker's in turn. The same
    bytes on every run with the same count. Built here from one engine fed line by line."""
    bundle, events = example
    monkeypatch.setattr(workers_module, "BLOCK", 50)
    engine = Engine.open(str(bundle), until=UNTIL, max_skew=86400.0)
    made: list[tuple[int, dict[str, Any]]] = []  # (line, record)
    for number, line in enumerate(events.read_bytes().splitlines(), start=1):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        made += [(number, record) for record in engine.process(event)]
    pieces = list(engine.advance_chunks(UNTIL))
    ending = [record for piece in pieces for record in piece]
    assert [record for _, record in made] + ending == run_events(bundle, events, workers=1, until=UNTIL).records
    for count in (2, 3):
        shard = {record["customer_id"]: shard_of(record["customer_id"], count) for _, record in made}
        last = max(number for number, _ in made)
        expected = [
            record
            for block in range(0, last, 50)
            for worker in range(count)
            for number, record in made
            if block < number <= block + 50 and shard[record["customer_id"]] == worker
        ]
        firing = [{r["customer_id"] for r in ending if shard[r["customer_id"]] == worker} for worker in range(count)]
        assert all(0 < len(customers) <= ADVANCE_CHUNK for customers in firing)  # one piece a worker here
        expected += [record for worker in range(count) for record in ending if shard[record["customer_id"]] == worker]
        first = run_events(bundle, events, workers=count, until=UNTIL)
        assert first.records == expected
        code, out, err = _run([str(bundle), "--events", str(events), "--workers", str(count), "--until", UNTIL])
        again = _run([str(bundle), "--events", str(events), "--workers", str(count), "--until", UNTIL])
        assert code == 0, err
        assert out == again[1] and [json.loads(line) for line in out.splitlines()] == expected


def test_sqlite_shards_give_one_process_s_records_run_after_run(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, events = example
    runs: dict[int, list[bytes]] = {}
    for count in (1, 2, 3):
        url = f"sqlite:///{tmp_path / f'store{count}.db'}"
        # The first run makes the store with its count; the reruns take the store's own count by default (they
        # skip the seen events; the seen ids were all kept, as the stream spans less than their retention).
        first = _run([str(bundle), "--events", str(events), "--store", url, "--workers", str(count), "--until", UNTIL])
        again = _run([str(bundle), "--events", str(events), "--store", url])
        assert first[0] == 0 and again[0] == 0, first[2] + again[2]
        runs[count] = [first[1], again[1]]
    assert runs[1][0].count(b"\n") > 1000
    for count in (2, 3):
        assert _keys(runs[count][0]) == _keys(runs[1][0])
        assert_one_process_s(runs[count][0], runs[1][0])
        assert_one_process_s(runs[count][1], runs[1][1])  # the default on a sharded store is its own count
    memory = _run([str(bundle), "--events", str(events), "--until", UNTIL])[1]
    assert_one_process_s(runs[3][0], memory)
    assert sorted(p.name for p in tmp_path.glob("store3.db*") if not p.name.endswith(".lock")) == [
        "store3.db.shard1-of-3",
        "store3.db.shard2-of-3",
        "store3.db.shard3-of-3",
        "store3.db.shards",
    ]


def test_the_python_api_takes_a_worker_count(example: tuple[Path, Path]) -> None:
    bundle, events = example
    code, out, _ = _run([str(bundle), "--events", str(events), "--workers", "1", "--until", UNTIL])
    assert code == 0
    expected = [json.loads(line) for line in out.splitlines()]
    outcomes = [api.run_events(bundle, events, workers=count, until=UNTIL) for count in (1, 2, 3)]
    assert outcomes[0].records == expected
    for outcome in outcomes:
        assert_one_process_s(outcome.records, expected)
        assert outcome.dead_letters == outcomes[0].dead_letters
        assert outcome.summary.lines() == outcomes[0].summary.lines()
    assert [o.workers for o in outcomes] == [1, 2, 3]
    assert outcomes[0].summary.records == len(expected)
    assert outcomes[0].dead_letters[-1]["raw"] == "{not json"
    assert sum(1 for d in outcomes[2].dead_letters if "raw" in d) == 1  # reported by exactly one worker


# --------------------------------------------------------------------------- drawn streams

_DIR = tempfile.TemporaryDirectory()
BUNDLE = build_bundle(Path(_DIR.name), [JOURNEY])
CUSTOMERS = st.sampled_from([f"c{n}" for n in range(8)])
TIMES = st.integers(min_value=0, max_value=30 * 86400).map(lambda s: 1767225600 + s)
ODD = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=3))


@st.composite
def lines(draw: Any) -> str:
    """One line of a stream: mostly events of the property test's journeys, out of order, some of them bad."""
    if draw(st.integers(0, 19)) == 0:
        odd: str = draw(st.sampled_from(["", "{bad", "[]", '{"customer_id": 5}']))
        return odd
    kind = draw(st.sampled_from(["quote", "quote", "signed", "stop", "noted", "bogus"]))
    data: dict[str, Any] = {}
    if kind == "quote":
        data = {"roof": draw(st.one_of(st.integers(-5, 80), ODD)), "cart": draw(st.sampled_from([None, "A", "B"]))}
    elif kind in ("signed", "noted"):
        data = {"amount": draw(st.one_of(st.integers(0, 50), ODD))}
    customer = draw(CUSTOMERS)
    event: dict[str, Any] = {
        # Seen ids are kept per shard: an id is unique to its customer here (repeats of it are drawn).
        "id": f"{customer}-e{draw(st.integers(0, 12))}",
        "type": kind,
        "customer_id": customer,
        "at": draw(st.one_of(TIMES.map(_stamp), st.sampled_from(["2026-13-01T00:00:00Z", "x"]))),
        "data": data,
    }
    if draw(st.booleans()):
        event["profile"] = {"consent_email": draw(st.booleans()), "segment": draw(st.sampled_from(["new", "vip"]))}
    return json.dumps(event)


def _stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(lines(), max_size=60),
    st.sampled_from([None, 86400.0, 6 * 3600.0]),
    st.sampled_from([None, "2026-01-20T00:00:00Z", "2026-03-01T00:00:00Z"]),
)
def test_drawn_streams_give_one_process_s_records(stream: list[str], skew: float | None, until: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.jsonl"
        path.write_text("\n".join(stream) + "\n", encoding="utf-8")
        single = run_events(BUNDLE, path, workers=1, max_skew=skew, until=until)
        for count in (2, 3):
            sharded = run_events(BUNDLE, path, workers=count, max_skew=skew, until=until)
            assert_one_process_s(sharded.records, single.records)
            assert sharded.dead_letters == single.dead_letters
            assert sharded.summary.lines() == single.summary.lines()


# --------------------------------------------------------------------------- layout and refusals


def test_a_customer_s_shard_is_a_stable_hash() -> None:
    assert shard_of("c0000001", 4) == zlib.crc32(b"c0000001") % 4
    assert {shard_of(f"c{n}", 3) for n in range(50)} == {0, 1, 2}
    assert shard_url("sqlite:///x/s.db?batch=5", 1, 4) == "sqlite:///x/s.db.shard2-of-4?batch=5"


def test_the_default_count(tmp_path: Path) -> None:
    assert plan_layout("memory://", None, 10).workers == 1
    assert plan_layout("memory://", None, SMALL_STREAM).workers == cores()
    assert plan_layout("memory://", 3, 10).workers == 3
    new = f"sqlite:///{tmp_path / 'new.db'}"
    assert plan_layout(new, None, SMALL_STREAM).workers == 1
    assert plan_layout("postgresql://u@h/db", None, SMALL_STREAM).workers == 1
    layout = plan_layout(new, 2, 0)
    assert layout.workers == 2 and layout.new_record == str(tmp_path / "new.db.shards")


def test_counts_a_store_cannot_take_are_refused(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, events = example
    code, _, err = _run([str(bundle), "--events", str(events), "--workers", "0"])
    assert code == 2 and "--workers" in err
    assert _run([str(bundle), "--events", str(events), "--workers", "129"])[0] == 2
    sharded = f"sqlite:///{tmp_path / 'sharded.db'}"
    assert _run([str(bundle), "--events", str(events), "--store", sharded, "--workers", "2"])[0] == 0
    for count in ("3", "1"):
        code, out, err = _run([str(bundle), "--events", str(events), "--store", sharded, "--workers", count])
        assert code == 2 and out == b""
        assert "split into 2 shards" in err and "--workers 2" in err
    single = f"sqlite:///{tmp_path / 'single.db'}"
    assert _run([str(bundle), "--events", str(events), "--store", single])[0] == 0
    code, _, err = _run([str(bundle), "--events", str(events), "--store", single, "--workers", "2"])
    assert code == 2 and "single-process run" in err
    code, _, err = _run([str(bundle), "--events", str(events), "--store", "postgresql://u@h/db", "--workers", "2"])
    assert code == 2 and "one owner at a time" in err
    code, _, err = _run([str(bundle), "--events", str(events), "--engine", "flink", "--workers", "2"])
    assert code == 2 and "--workers cannot be used with --engine flink" in err


def test_status_and_plan_read_every_shard_and_the_rest_refuse_the_named_path(
    example: tuple[Path, Path], tmp_path: Path
) -> None:
    """A customer lives in one shard: `status` and `plan --store` summed over the shards say what they say of the
    store of one process on the same events. Commands that read one store refuse the named path."""
    bundle, events = example
    store, single = tmp_path / "s.db", tmp_path / "one.db"
    assert _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{store}", "--workers", "2"])[0] == 0
    assert _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{single}"])[0] == 0
    runner = CliRunner()
    for command in (["status", "--format", "json"], ["status"], ["plan", str(bundle), "--format", "json"]):
        sharded = runner.invoke(main, [*command, "--store", f"sqlite:///{store}"])
        one = runner.invoke(main, [*command, "--store", f"sqlite:///{single}"])
        assert (sharded.exit_code, sharded.stdout) == (one.exit_code, one.stdout), command
    shown = json.loads(runner.invoke(main, ["status", "--format", "json", "--store", f"sqlite:///{store}"]).stdout)
    assert shown["customers"] > 0 and shown["steps"], "the example stream leaves customers in flight"
    assert in_flight_at(f"sqlite:///{store}") == in_flight_at(f"sqlite:///{single}")  # the Python API alike
    assert not store.exists()  # not made as a new, empty store
    result = runner.invoke(main, ["report", "--store", f"sqlite:///{store}"])
    assert result.exit_code == 1
    assert "split into 2 shards" in result.stderr and "shard1-of-2" in result.stderr
    assert "`status` and `plan --store` read every shard" in result.stderr
    shard = runner.invoke(main, ["status", "--store", f"sqlite:///{store}.shard1-of-2"])
    assert shard.exit_code == 0, shard.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a named pipe")
def test_every_worker_needs_to_read_the_events_file(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, _ = example
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    code, _, err = _run([str(bundle), "--events", str(fifo), "--workers", "2"])
    assert code == 2 and "not a regular file" in err


def test_a_worker_whose_shard_is_damaged_fails_the_run(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, events = example
    store = tmp_path / "s.db"
    assert _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{store}", "--workers", "2"])[0] == 0
    Path(f"{store}.shard2-of-2").write_bytes(b"this is not a database" * 100)
    code, _, err = _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{store}"])
    assert code == 1
    assert "error: worker 2 of 2:" in err and "Traceback" not in err


def test_a_worker_that_dies_fails_the_run_without_hanging(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, events = example
    real = workers_module.loads
    calls = [0]

    def dies_in_a_worker(line: bytes) -> Any:
        if os.getpid() != parent:  # each forked worker counts its own decodes: it dies part-way through
            calls[0] += 1
            if calls[0] == 40:
                os._exit(3)
        return real(line)

    parent = os.getpid()
    monkeypatch.setattr(workers_module, "loads", dies_in_a_worker)  # the forked workers inherit it
    with pytest.raises(WorkersError, match=r"worker \d of 2: the worker process exited with code 3"):
        run_events(bundle, events, workers=2)


def test_a_worker_s_error_is_reported_with_its_number(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle, events = example

    def fails(self: Any, *args: Any) -> Any:
        raise StoreError("the disk is on fire")

    monkeypatch.setattr(workers_module.Shard, "messages", fails)
    with pytest.raises(WorkersError, match=r"worker 1 of 2: the disk is on fire"):
        run_events(bundle, events, workers=2)
    code, out, err = _run([str(bundle), "--events", str(events), "--workers", "2"])
    assert code == 1 and out == b"" and "error: worker 1 of 2: the disk is on fire" in err


class _Finalized:
    """Garbage with a finalizer: a cycle, so only a collection frees it. Notes the process it is finalized in."""

    def __init__(self, notes: Path) -> None:
        self.notes = notes
        self.cycle = self

    def __del__(self) -> None:
        with self.notes.open("a") as notes:
            notes.write(f"{os.getpid()}\n")


def test_workers_do_not_run_the_finalizers_of_garbage_they_inherit(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Garbage of the calling process, not yet collected when the workers fork, is not finalized in a worker: its
    finalizer may talk over an inherited socket (py4j's, after a Flink job in the same process, hung a worker)."""
    bundle, events = example
    notes = tmp_path / "finalized"
    messages = workers_module.Shard.messages

    def collects_first(self: Any) -> Any:
        gc.collect()  # what any collection in the worker would do, at once
        return messages(self)

    monkeypatch.setattr(workers_module.Shard, "messages", collects_first)
    previous = gc.get_threshold()
    gc.collect()
    gc.set_threshold(10**9)  # no collection here before the fork: the garbage below is there when it happens
    try:
        _Finalized(notes)
        assert len(run_events(bundle, events, workers=2).records) > 0
    finally:
        gc.set_threshold(*previous)
        gc.collect()
    assert notes.read_text().split() == [str(os.getpid())]  # finalized once, here


def test_a_missing_shard_is_refused_not_started_again_empty(example: tuple[Path, Path], tmp_path: Path) -> None:
    bundle, events = example
    store = tmp_path / "s.db"
    assert _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{store}", "--workers", "3"])[0] == 0
    Path(f"{store}.shard2-of-3").unlink()
    code, out, err = _run([str(bundle), "--events", str(events), "--store", f"sqlite:///{store}"])
    assert code == 1 and out == b""
    assert "shard2-of-3 is missing" in err and "Traceback" not in err
    assert not Path(f"{store}.shard2-of-3").exists()


def test_records_through_a_small_ring_are_one_process_s(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ring of 8 KiB and blocks of 4 lines: blocks wrap at the ring's end, workers wait for the parent to make
    room, and a block larger than half the ring goes through the pipe; the records stay one process's."""
    bundle, events = example
    single = run_events(bundle, events, workers=1, until=UNTIL)
    monkeypatch.setattr(workers_module, "RING", 1 << 13)
    monkeypatch.setattr(workers_module, "BLOCK", 4)
    for count in (2, 3):
        sharded = run_events(bundle, events, workers=count, until=UNTIL)
        assert_one_process_s(sharded.records, single.records)
        assert sharded.dead_letters == single.dead_letters
