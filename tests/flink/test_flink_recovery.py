"""Checkpoints and recovery (issue 16, item 4): a TaskManager killed in the middle of a 100,000-event job.

The job runs on the local cluster from the wheel (parallelism 2, a checkpoint every 2 s to a local folder) into the
service's PostgreSQL outbox. Once about a third of the records are in, the TaskManager is SIGKILLed and a new one
started: Flink restarts the job from its last completed checkpoint and replays the events since then. The records
replayed carry the keys they had (the step core is deterministic), so `INSERT ... ON CONFLICT (key) DO NOTHING`
adds nothing twice, and the buffer the sink keeps in keyed state loses nothing. Then the outbox equals, key by key,
what `journeydsl run --max-skew none --until` gives on the same events (the engine on memory://, uninterrupted),
with no key twice and each customer's records in their order (by `seq`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from journeydsl.compile import compile_project
from journeydsl.compile.bundle import write_bundle
from journeydsl.flink.cluster import LocalCluster, Submission, job_failure, job_state, submit, wait_for_job
from journeydsl.flink.job import JobSpec, build_job, file_source
from journeydsl.flink.sinks import outbox_sink, prepare_outbox
from journeydsl.project import load_project
from journeydsl.runtime import Engine, MemoryStore
from journeydsl.runtime.bundle import load_bundle
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.testing.synth import generate_events

ROOT = Path(__file__).resolve().parents[2]
UNTIL = 1798675200.0  # 2026-12-31T00:00:00Z: both sides fire the timers due up to it
CUSTOMERS = 33_334  # about 100,000 events (three a customer)
JOB_TIMEOUT = 600.0  # the whole job, restart included, on a loaded 2-core machine

# PyFlink's gateway JVM (a subprocess of this one, started on first use) lives as long as the test process: Python
# warns about it, and about its pipes, at teardown.
pytestmark = [
    pytest.mark.filterwarnings("ignore:subprocess .* is still running:ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("flink-recovery") / "cluster")
    local.start(slots=2)
    try:
        yield local
    finally:
        local.stop()


def run_records(bundle_path: Path, lines: list[str]) -> dict[str, str]:
    """What `journeydsl run --max-skew none --until` prints (the engine on memory://): key -> JSON line, in order."""
    engine = Engine.open(str(bundle_path), store=MemoryStore(keep_log=False), until=UNTIL)
    records: dict[str, str] = {}
    for line in lines:
        for record in engine.process(loads(line)):
            records[str(record["key"])] = dumps(record).decode()
        engine.dead_letters.clear()
    for record in engine.advance(UNTIL):
        records[str(record["key"])] = dumps(record).decode()
    return records


def outbox_rows(url: str, schema: str) -> list[tuple[int, str, bytes]]:
    with psycopg.connect(url) as db:
        return [
            (int(seq), str(key), bytes(record))
            for seq, key, record in db.execute(f"SELECT seq, key, record FROM {schema}.outbox ORDER BY seq")
        ]


def outbox_count(url: str, schema: str) -> int:
    with psycopg.connect(url) as db:
        row = db.execute(f"SELECT count(*) FROM {schema}.outbox").fetchone()
    return int(row[0]) if row else 0


def test_a_killed_taskmanager_restarts_from_the_last_checkpoint_and_the_outbox_equals_an_uninterrupted_run(
    cluster: LocalCluster, postgres_url: str, tmp_path: Path
) -> None:
    project = load_project([ROOT / "journeys"], templates_dir=ROOT / "templates")
    bundle_path = tmp_path / "journeys.jbundle"
    write_bundle(compile_project(project, ["journeys"]), bundle_path)
    assert load_bundle(bundle_path) is not None
    lines = [dumps(event).decode() for event in generate_events(ROOT / "journeys", CUSTOMERS, seed=7)]
    assert len(lines) >= 100_000
    events = tmp_path / "events" / "events.jsonl"
    events.parent.mkdir()
    events.write_text("\n".join(lines) + "\n")
    expected = run_records(bundle_path, lines)

    url = f"{postgres_url}?schema=flink_recovery"
    prepare_outbox(url)
    spec = JobSpec.load(str(bundle_path), until=UNTIL)

    def build(env: Any) -> None:
        outbox_sink(build_job(env, file_source(str(events)), spec).records, url)

    checkpoints = tmp_path / "checkpoints"
    info = cluster.info()
    assert info is not None
    submission = Submission(
        info.address,
        parallelism=2,
        checkpoint_dir=str(checkpoints),
        checkpoint_interval=2.0,
        restart_delay=1.0,
    )
    job = submit(submission, build)
    address = submission.address

    # Kill the TaskManager once a third of the records are in (and at least one checkpoint completed).
    deadline = time.monotonic() + JOB_TIMEOUT
    while outbox_count(postgres_url, "flink_recovery") < len(expected) // 3:
        assert job_state(address, job) in ("INITIALIZING", "CREATED", "RUNNING"), job_failure(address, job)
        assert time.monotonic() < deadline, "the job wrote too little before the deadline"
        time.sleep(0.5)
    assert list(checkpoints.rglob("chk-*")), "no checkpoint completed before the kill"
    before_kill = outbox_count(postgres_url, "flink_recovery")
    cluster.kill_taskmanager()
    cluster.start_taskmanager()

    state = wait_for_job(address, job, max(1.0, deadline - time.monotonic()))
    assert state == "FINISHED", job_failure(address, job)
    assert before_kill < len(expected), "the job was over before the kill: nothing was recovered"
    # The job did fail over (its exception history holds the lost TaskManager), and came back from a checkpoint.
    history = httpx.get(f"http://{address}/jobs/{job}/exceptions", timeout=10).json()["exceptionHistory"]["entries"]
    assert history, "the job never noticed the TaskManager was gone"

    rows = outbox_rows(postgres_url, "flink_recovery")
    got = {key: record.decode() for _seq, key, record in rows}
    assert len(rows) == len(got), "a key was written twice"
    assert got.keys() == expected.keys()
    assert got == expected
    # Each customer's records are in the outbox in the order the driver gave them.
    order: dict[str, list[str]] = {}
    for _seq, key, record in rows:
        order.setdefault(str(loads(record)["customer_id"]), []).append(key)
    expected_order: dict[str, list[str]] = {}
    for key, line in expected.items():
        expected_order.setdefault(str(loads(line)["customer_id"]), []).append(key)
    assert order == expected_order
