"""`journeydsl flink local-cluster` and `journeydsl flink submit` (issue 16, item 3), through the real command line.

One local cluster from the wheel for the module (started and stopped by the commands themselves): every endpoint it
listens on is on loopback; a submitted job reads a folder of JSONL events and writes either the service's PostgreSQL
outbox, which `journeydsl deliver` then relays unchanged, or JSONL part files with the dead letters beside them.
Both equal, key by key, the job's per-customer driver run without Flink. Bad options and unreachable clusters are
one-line errors, never tracebacks.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from journeydsl.compile import compile_project
from journeydsl.compile.bundle import write_bundle
from journeydsl.flink.cluster import LocalCluster, overview
from journeydsl.flink.job import JobSpec, run_without_flink
from journeydsl.project import load_project
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.testing.synth import generate_events

ROOT = Path(__file__).resolve().parents[2]
JOURNEYDSL = str(Path(sys.executable).with_name("journeydsl"))
UNTIL = "2026-12-31T00:00:00Z"
UNTIL_EPOCH = 1798675200.0
COMMAND_TIMEOUT = 300  # seconds for one command (a submit waits for its job)


def journeydsl(*args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([JOURNEYDSL, *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle of the example journeys and a folder holding their synthetic events (with bad lines among them)."""
    folder = tmp_path_factory.mktemp("flink-cli")
    project = load_project([ROOT / "journeys"], templates_dir=ROOT / "templates")
    write_bundle(compile_project(project, ["journeys"]), folder / "journeys.jbundle")
    (folder / "events").mkdir()
    lines = [dumps(event).decode() for event in generate_events(ROOT / "journeys", 300, seed=5)]
    lines += ["not json", '{"id": "x1", "type": "no_such_event", "customer_id": "c", "at": "2026-02-01T00:00:00Z"}']
    (folder / "events" / "events.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def cluster(workspace: Path) -> Iterator[Path]:
    """The folder of a local cluster started with `journeydsl flink local-cluster start`."""
    home = workspace / "cluster"
    started = journeydsl("flink", "local-cluster", "start", "--dir", str(home), "--slots", "2")
    assert started.returncode == 0, started.stderr
    try:
        yield home
    finally:
        stopped = journeydsl("flink", "local-cluster", "stop", "--dir", str(home))
        assert stopped.returncode == 0, stopped.stderr
        assert not LocalCluster(home).pids()


def reference(workspace: Path) -> tuple[dict[str, str], list[str]]:
    """The job's records (key -> line) and dead letters without Flink (`run_without_flink`), over the events."""
    spec = JobSpec.load(str(workspace / "journeys.jbundle"), until=UNTIL_EPOCH)
    records, dead = run_without_flink(spec, (workspace / "events" / "events.jsonl").read_text().splitlines())
    return {str(loads(line)["key"]): line for line in records}, dead


def listening_addresses(pids: list[int]) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) of the TCP sockets these processes listen on."""
    inodes: set[str] = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1].rpartition(":")[0])
    return found


def test_the_local_cluster_listens_on_loopback_only_and_reports_its_status(cluster: Path) -> None:
    local = LocalCluster(cluster)
    info = local.info()
    assert info is not None
    seen = overview(info.address)
    assert seen is not None and seen["taskmanagers"] == 1 and seen["slots-total"] == 2
    status = journeydsl("flink", "local-cluster", "status", "--dir", str(cluster))
    assert status.returncode == 0 and info.address in status.stdout and "slots 2/2" in status.stdout
    addresses = listening_addresses(local.pids())
    assert addresses, "the cluster's JVMs listen on nothing"
    loopback = {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1, as IPv4 and IPv4-mapped IPv6
    assert addresses <= loopback, addresses
    again = journeydsl("flink", "local-cluster", "start", "--dir", str(cluster))
    assert again.returncode == 1 and "already running" in again.stderr


def test_submit_into_the_postgresql_outbox_which_deliver_relays_unchanged(
    cluster: Path, workspace: Path, postgres_url: str
) -> None:
    url = f"{postgres_url}?schema=flink_cli"
    submitted = journeydsl(
        "flink", "submit", str(workspace / "journeys.jbundle"), "--source", str(workspace / "events"),
        "--sink", url, "--dir", str(cluster), "--parallelism", "2", "--until", UNTIL,
        "--checkpoint-dir", str(workspace / "checkpoints"), "--checkpoint-interval", "1s",
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    assert "finished" in submitted.stderr
    expected, _dead = reference(workspace)
    with psycopg.connect(postgres_url) as db:
        rows = db.execute("SELECT key, record FROM flink_cli.outbox ORDER BY seq").fetchall()
    assert {key: bytes(record).decode() for key, record in rows} == expected
    assert len(rows) == len(expected)

    delivered = journeydsl("deliver", "--store", url, "--once", "--clock", "event")
    assert delivered.returncode == 0, delivered.stderr
    assert delivered.stdout.splitlines() == [bytes(record).decode() for _key, record in rows]

    # The same job again (a re-run after a failure, say) adds nothing: every key is already there.
    again = journeydsl(
        "flink", "submit", str(workspace / "journeys.jbundle"), "--source", str(workspace / "events"),
        "--sink", url, "--dir", str(cluster), "--until", UNTIL,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    with psycopg.connect(postgres_url) as db:
        count = db.execute("SELECT count(*) FROM flink_cli.outbox").fetchone()
    assert count is not None and count[0] == len(expected)


def test_submit_into_jsonl_files_with_the_dead_letters_beside_them(cluster: Path, workspace: Path) -> None:
    out = workspace / "out"
    submitted = journeydsl(
        "flink", "submit", str(workspace / "journeys.jbundle"), "--source", str(workspace / "events"),
        "--sink", str(out), "--dir", str(cluster), "--until", UNTIL,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stderr
    records = [line for path in sorted(out.glob("records-*.jsonl")) for line in path.read_text().splitlines()]
    expected, expected_dead = reference(workspace)
    assert {str(loads(line)["key"]): line for line in records} == expected
    dead = [line for path in sorted(out.glob("dead-letters-*.jsonl")) for line in path.read_text().splitlines()]
    assert sorted(dead) == sorted(expected_dead)
    reasons = [str(loads(line)["reason"]) for line in dead]
    assert any(reason.startswith("not JSON") for reason in reasons)
    assert any("unknown event type 'no_such_event'" in reason for reason in reasons)


def test_an_unreachable_outbox_is_refused_before_the_job_is_submitted(cluster: Path, workspace: Path) -> None:
    bad_sink = "postgresql://journeydsl@127.0.0.1:1/nothing?connect_timeout=2"
    failed = journeydsl(
        "flink", "submit", str(workspace / "journeys.jbundle"), "--source", str(workspace / "events"),
        "--sink", bad_sink, "--dir", str(cluster),
    )  # fmt: skip
    assert failed.returncode == 1
    assert "cannot connect to the PostgreSQL store" in failed.stderr and "Traceback" not in failed.stderr


def _busy_port() -> tuple[socket.socket, int]:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    return holder, int(holder.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (["--sink", "s3://bucket/x"], "a postgresql:// URL or a folder", 2),
        (["--source", "/no/such/folder"], "no such folder or file", 2),
        (["-m", "localhost"], "HOST:PORT", 2),
        (["--checkpoint-interval", "soon"], "a positive duration", 2),
        (["--until", "tomorrow"], "--until", 2),
        (["--jar", "/no/such.jar"], "no such jar", 2),
        (["--source", "kafka://broker:9092"], "kafka://BROKER", 2),
        (["-m", "127.0.0.1:{free}"], "no Flink cluster answers at 127.0.0.1:", 1),
    ],
)
def test_bad_submit_options_are_one_line_errors(workspace: Path, args: list[str], message: str, code: int) -> None:
    holder, port = _busy_port()
    holder.close()  # a port nothing listens on
    defaults = {"--source": str(workspace / "events"), "--sink": str(workspace / "unused"), "-m": f"127.0.0.1:{port}"}
    given = dict(zip(args[::2], (value.format(free=port) for value in args[1::2]), strict=True))
    options = [item for name, value in {**defaults, **given}.items() for item in (name, value)]
    result = journeydsl("flink", "submit", str(workspace / "journeys.jbundle"), *options, timeout=120)
    assert result.returncode == code, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_bundle_that_is_not_one_is_refused(workspace: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake.jbundle"
    fake.write_text("not a bundle")
    result = journeydsl(
        "flink", "submit", str(fake), "--source", str(workspace / "events"), "--sink", str(tmp_path / "out"),
        "-m", "127.0.0.1:1",
    )  # fmt: skip
    assert result.returncode == 1 and "refusing bundle" in result.stderr and "Traceback" not in result.stderr


def test_local_cluster_errors(tmp_path: Path) -> None:
    holder, port = _busy_port()
    with holder:
        busy = journeydsl("flink", "local-cluster", "start", "--dir", str(tmp_path / "c"), "--port", str(port))
    assert busy.returncode == 1 and f"port {port} on 127.0.0.1 is in use" in busy.stderr
    status = journeydsl("flink", "local-cluster", "status", "--dir", str(tmp_path / "none"))
    assert status.returncode == 1 and "no Flink cluster" in status.stderr
    stop = journeydsl("flink", "local-cluster", "stop", "--dir", str(tmp_path / "none"))
    assert stop.returncode == 0 and "was running" in stop.stderr
    no_cluster = journeydsl(
        "flink", "submit", "x.jbundle", "--source", str(tmp_path), "--sink", str(tmp_path), "--dir", str(tmp_path)
    )
    assert no_cluster.returncode in (1, 2) and "Traceback" not in no_cluster.stderr


def test_a_stale_pid_file_never_names_another_process(tmp_path: Path) -> None:
    # A pid file left by a crash, whose number now belongs to something else (here: this test process).
    local = LocalCluster(tmp_path / "c")
    (local.home / "run").mkdir(parents=True)
    (local.home / "run" / "flink-x-taskexecutor.pid").write_text(f"{os.getpid()}\n")
    assert local.pids() == []
    assert local.stop() is False


def test_without_java_the_commands_say_what_to_install(tmp_path: Path) -> None:
    env = {**os.environ, "JAVA_HOME": str(tmp_path / "no-java")}
    result = subprocess.run(
        [JOURNEYDSL, "flink", "local-cluster", "start", "--dir", str(tmp_path / "c")],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1 and "Java 17" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "c" / "run").exists() or not LocalCluster(tmp_path / "c").pids()
