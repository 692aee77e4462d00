"""bench.service on a tiny workload: its pieces measure what they claim (not how fast: no timed assertions).

`run` and `serve` give the same records for the same events, the 202 answers must add up to the events posted,
a `serve` that cannot start or does not answer 202 is a clear error, PostgreSQL's own CPU is counted and every
run's schema is dropped, the clients split the stream by customer, and bad arguments are refused.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from bench.endtoend import write_jsonl
from bench.service import (
    PostgresCpu,
    RunMeasure,
    Serve,
    ServeMeasure,
    Stores,
    main,
    parse_args,
    partition,
    post_events,
)
from bench.workload import JOURNEYS, bundle_files, example_events

from journeydsl.compile.bundle import write_bundle
from journeydsl.runtime.jsonio import loads


@dataclass(frozen=True)
class Workload:
    folder: Path
    bundle: Path
    events_file: Path
    one_event: Path
    lines: list[bytes]


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> Workload:
    folder = tmp_path_factory.mktemp("bench-service")
    events = example_events(16, seed=3)
    # One event of no declared type, so that dead letters are counted too (synth draws few in so small a stream).
    events.append({"id": "bad-1", "type": "no_such_event", "customer_id": "c1", "at": events[-1]["at"], "data": {}})
    lines = write_jsonl(events, folder / "events.jsonl")
    (folder / "one.jsonl").write_bytes(lines[0])
    bundle = write_bundle(bundle_files([JOURNEYS]), folder / "journeys.jbundle")
    return Workload(folder, bundle, folder / "events.jsonl", folder / "one.jsonl", lines)


def test_partition_keeps_each_customer_in_one_client_in_order(workload: Workload) -> None:
    parts = partition(workload.lines, 2)
    assert all(parts) and sorted(line for part in parts for line in part) == sorted(workload.lines)
    owner: dict[str, int] = {}
    for index, part in enumerate(parts):
        for line in part:
            customer = loads(line).get("customer_id")
            if isinstance(customer, str):
                assert owner.setdefault(customer, index) == index, f"{customer} is in both parts"
    order = {line: position for position, line in enumerate(workload.lines)}
    assert all([order[line] for line in part] == sorted(order[line] for line in part) for part in parts)


def test_run_and_serve_give_the_same_records_on_sqlite(workload: Workload) -> None:
    stores = Stores(workload.folder)
    run = RunMeasure.start(workload.bundle, workload.events_file, workload.one_event, "sqlite", 1000, stores)
    ran, _ = run()
    served, meter = ServeMeasure(workload.bundle, workload.lines, "sqlite", 1000, 20, 1, stores)()
    assert ran.events == served.events == len(workload.lines)
    assert ran.records == served.records > 0
    assert ran.dead_letters == served.dead_letters >= 1
    assert served.server_cpu is None and served.cpu >= 0 and served.wall > 0  # CPU ticks are 10 ms
    assert meter.cpu == served.total_cpu
    assert not list(workload.folder.glob("bench-*.db*")), "each run's store is removed"


def test_two_clients_answers_add_up(workload: Workload) -> None:
    measure = ServeMeasure(workload.bundle, workload.lines, "sqlite", 1000, 7, 2, Stores(workload.folder))
    figure, _ = measure()
    (tally,) = measure.tallies
    assert tally.events == figure.events == len(workload.lines)
    assert tally.requests >= len(workload.lines) // 7
    assert tally.accepted > 0 and tally.duplicates == 0
    assert "CPU by thread HTTP " in figure.note and ", engine " in figure.note and ", relay " in figure.note


def test_answers_that_do_not_add_up_are_an_error(workload: Workload) -> None:
    # serve skips blank NDJSON lines: they are posted, never answered for.
    lines = [*workload.lines[:10], b"\n"]
    measure = ServeMeasure(workload.bundle, lines, "sqlite", 1000, 50, 1, Stores(workload.folder))
    with pytest.raises(RuntimeError, match=r"add up to 10 events .* not the 11 posted"):
        measure()


def test_a_serve_that_cannot_start_says_why(workload: Workload) -> None:
    with pytest.raises(RuntimeError, match=r"serve exited 2 at start-up: .*missing\.jbundle"):
        with Serve(workload.folder / "missing.jbundle", "memory://", workload.folder):
            pass


def test_an_answer_other_than_202_is_an_error(workload: Workload) -> None:
    with Serve(workload.bundle, "memory://", workload.folder, options=("--max-body", "2000")) as serve:
        with pytest.raises(RuntimeError, match="answered 413"):
            post_events(serve.port, workload.lines, 40, 2)
        assert post_events(serve.port, workload.lines[:3], 1, 1).events == 3, "small bodies still go in"
        assert serve.stop() > 0, "serve delivered records to its standard output"
    assert serve.status == 0


def test_postgresql_cpu_counts_the_servers_work(postgres_url: str) -> None:
    cpu = PostgresCpu(postgres_url)
    before = cpu.seconds()
    with psycopg.connect(postgres_url) as connection:  # a backend that works, then goes (its time is reaped)
        connection.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
    after = cpu.seconds()
    assert before is not None and after is not None
    assert after - before > 0.05


def test_postgresql_runs_agree_with_sqlite_and_drop_their_schema(workload: Workload, postgres_url: str) -> None:
    stores = Stores(workload.folder, postgres_url, PostgresCpu(postgres_url))
    run = RunMeasure.start(workload.bundle, workload.events_file, workload.one_event, "postgresql", 1000, stores)
    ran, _ = run()
    served, _ = ServeMeasure(workload.bundle, workload.lines, "postgresql", 1000, 20, 1, stores)()
    on_sqlite, _ = RunMeasure.start(
        workload.bundle, workload.events_file, workload.one_event, "sqlite", 1000, Stores(workload.folder)
    )()
    assert ran.server_cpu is not None and served.server_cpu is not None  # measured (tiny here: ticks are 10 ms)
    assert ran.records == served.records == on_sqlite.records > 0
    with psycopg.connect(postgres_url) as connection:
        left = connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'jdbench%'").fetchall()
    assert left == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--customers", "0"], "expected a number >= 1, not 0"),
        (["--batch-lines", "many"], "expected a whole number, not 'many'"),
        (["--clients", "1,x"], "expected a whole number, not 'x'"),
        (["--clients", ","], "--clients takes numbers"),
        (["--postgres-url", "sqlite:///x.db"], "--postgres-url: expected a postgresql:// URL"),
        (["--postgres-url", "postgresql://nobody@127.0.0.1:1/db"], "--postgres-url: cannot connect: "),
    ],
)
def test_bad_arguments_are_refused(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_main_prints_every_figure_and_ratio(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--customers", "8", "--rounds", "1", "--clients", "1", "--batch-lines", "10", "--postgres-url", postgres_url])
    out = capsys.readouterr().out
    assert "FAILED" not in out
    lines: dict[str, list[str]] = defaultdict(list)
    for line in out.splitlines():
        lines[line.strip().split(" ", 1)[0]].append(line)
    labels = ("run, sqlite ", "run, postgresql ", "serve, sqlite, 1 client ", "serve, postgresql, 1 client ")
    assert all(any(line.strip().startswith(label) for line in out.splitlines()) for label in labels)
    ratios = lines["ratio"]
    assert len(ratios) == 4 and all("no target" in line for line in ratios)
    assert any("run postgresql / run sqlite" in line for line in ratios)


def test_a_postgres_url_with_its_own_schema_is_refused(postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--postgres-url", f"{postgres_url}?schema=mine"])
    assert "leave out ?schema=" in capsys.readouterr().err


def test_without_postgresql_the_sqlite_figures_are_still_given(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.service as service

    pg = service.pg_server()

    def unavailable() -> None:
        raise pg.PostgresUnavailable("no initdb here")

    monkeypatch.setattr(pg, "find_binaries", unavailable)
    main(["--customers", "8", "--rounds", "1", "--clients", "1", "--batch-lines", "10"])
    out = capsys.readouterr().out
    assert "no PostgreSQL figures: no initdb here" in out
    assert "ratio serve, sqlite, 1 client / run, sqlite:" in out
    assert "no ratio against run, postgresql: not measured" in out
    assert "FAILED" not in out


def test_a_port_taken_before_serve_binds_it_is_tried_again(workload: Workload, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import bench.service as service

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        ports = iter([busy, service.pg_server().free_port()])
        monkeypatch.setattr(service, "free_port", lambda: next(ports))
        with Serve(workload.bundle, "memory://", workload.folder) as serve:
            assert serve.port != busy
            assert post_events(serve.port, workload.lines[:5], 5, 1).events == 5
        assert serve.status == 0
