"""`run --engine flink` gives `run --engine local --max-skew none`'s records, key by key (issue 16, "Done when").

Inputs: the example journeys' synthetic stream and every runtime data case (tests/runtime/cases), each through its
own bundle. The local side is the real `run` command; the Flink side is one job holding a pipeline per input (one
start-up for all of them), at parallelism 1 and 2, and once more through the `run --engine flink` command itself.
Dead letters are compared too (their reasons, as a multiset). Bad input (no PyFlink, no Java, clashing options,
a bad parallelism) is refused before any JVM starts.
"""

from __future__ import annotations

import math
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from runtime_support import PAST_TIMER_JOURNEY, build_bundle

from journeydsl.cli.run import run_command
from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.timeparse import parse_time
from journeydsl.testing.synth import generate_events

ROOT = Path(__file__).resolve().parents[2]
Local = dict[str, tuple[dict[str, str], Counter[str]]]  # input name -> (records by key, dead-letter reasons)
CASES = sorted((ROOT / "tests" / "runtime" / "cases").glob("*.yaml"))


@dataclass(frozen=True)
class Input:
    name: str
    files: dict[str, bytes]  # the bundle
    bundle: Path  # the same bundle as a folder, for the command
    events: Path
    until: str | None


def _bundle_folder(files: dict[str, bytes], folder: Path) -> Path:
    for name, blob in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    return folder


def _case_lines(case: dict[str, Any]) -> tuple[list[bytes], str | None]:
    """A case's events as JSON lines (as test_runtime_cases builds them), in time order; `advance` items become
    the run's --until (the latest of them and of the events), `reopen` is left out (one bundle per run)."""
    profiles = {str(k): v for k, v in (case.get("profile") or {}).items()}
    patched: set[str] = set()
    timed: list[tuple[float, bytes]] = []  # (time to sort by, line)
    advances: list[float] = []
    latest = -math.inf
    for number, item in enumerate(case.get("events", []), start=1):
        if "advance" in item:
            advances.append(parse_time(str(item["advance"])))
            continue
        if "reopen" in item:
            continue
        if "raw" in item:
            timed.append((latest, dumps(item["raw"])))
            continue
        customer = str(item.get("customer_id", "c1"))
        event: dict[str, Any] = {
            "id": str(item.get("id", f"e{number}")),
            "type": item["type"],
            "customer_id": customer,
            "at": item["at"],
            "data": item.get("data", {}),
        }
        patch = dict(profiles.get(customer, {})) if customer not in patched else {}
        patched.add(customer)
        patch.update(item.get("profile", {}))
        if patch:
            event["profile"] = patch
        try:
            latest = parse_time(str(item["at"]))
        except ValueError:
            pass  # a bad time: a dead letter on both sides, kept where it is
        timed.append((latest, dumps(event)))
    # In time order (stable): an event dated before an earlier one of ANOTHER customer is where a keyed job and
    # `run` part ways by design (docs/flink-job.md, "Late events"), so the comparison takes the cases sorted.
    timed.sort(key=lambda pair: pair[0])
    lines = [line for _, line in timed]
    times = [t for t, _ in timed if t != -math.inf]
    until = max(advances + times) if advances else None
    return lines, (None if until is None else str(until))


# A timer set in the past (`at` before the event that sets it) fires at the stream's clock in `run`: the example
# stream has such timers only at larger sizes (service_move's `at coalesce(profile.move_date, now) + 2d`).
PAST_EVENTS = [
    {
        "id": "m1",
        "type": "moved",
        "customer_id": "c1",
        "at": "2026-03-10T00:00:00Z",
        "data": {"date": "2026-03-01T00:00:00Z"},
    },
    {
        "id": "m2",
        "type": "moved",
        "customer_id": "c2",
        "at": "2026-03-10T00:00:00Z",
        "data": {"date": "2026-03-12T00:00:00Z"},
    },
    {"id": "p1", "type": "ping", "customer_id": "c3", "at": "2026-03-11T00:00:00Z", "data": {}},
    {
        "id": "m3",
        "type": "moved",
        "customer_id": "c4",
        "at": "2026-03-20T00:00:00Z",
        "data": {"date": "2026-03-02T00:00:00Z"},
    },
    {"id": "p2", "type": "ping", "customer_id": "c3", "at": "2026-03-21T00:00:00Z", "data": {}},
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Input]:
    root = tmp_path_factory.mktemp("inputs")
    project = load_project([ROOT / "journeys"], templates_dir=ROOT / "templates")
    example = compile_project(project, ["journeys"])
    events = root / "example.jsonl"
    events.write_bytes(b"".join(dumps(e) + b"\n" for e in generate_events(ROOT / "journeys", 40, seed=5)))
    made = [Input("example", example, _bundle_folder(example, root / "example"), events, None)]
    past = build_bundle(root / "build" / "past", [PAST_TIMER_JOURNEY])
    events = root / "past.jsonl"
    events.write_bytes(b"".join(dumps(e) + b"\n" for e in PAST_EVENTS))
    made.append(Input("past_timer", past, _bundle_folder(past, root / "past_timer"), events, None))
    for path in CASES:
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        files = build_bundle(root / "build" / path.stem, [case["journey"]], case.get("templates"))
        lines, until = _case_lines(case)
        events = root / f"{path.stem}.jsonl"
        events.write_bytes(b"".join(line + b"\n" for line in lines))
        made.append(Input(path.stem, files, _bundle_folder(files, root / path.stem), events, until))
    return made


def _keyed(lines: Iterable[str]) -> dict[str, str]:
    records: dict[str, str] = {}
    for line in lines:
        key = loads(line)["key"]
        assert key not in records, f"two records with key {key}"
        records[key] = line
    return records


def _reasons(lines: Iterable[str]) -> Counter[str]:
    return Counter(str(loads(line)["reason"]) for line in lines)


def run_cli(*args: str) -> Any:
    return CliRunner().invoke(run_command, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def local(inputs: list[Input], tmp_path_factory: pytest.TempPathFactory) -> Local:
    """Each input through `run --engine local --max-skew none`: records by key, dead-letter reasons."""
    folder = tmp_path_factory.mktemp("local")
    results = {}
    for item in inputs:
        dead = folder / f"{item.name}.dead.jsonl"
        args = [str(item.bundle), "--events", str(item.events), "--max-skew", "none", "--dead-letter", str(dead)]
        result = run_cli(*args, *(["--until", item.until] if item.until else []))
        assert result.exit_code == 0, result.output
        results[item.name] = (_keyed(result.stdout.splitlines()), _reasons(dead.read_text().splitlines()))
    return results


def test_the_inputs_are_worth_comparing(local: Local) -> None:
    assert len(local) == len(CASES) + 2
    assert len(local["example"][0]) > 200  # sends, waits that time out, goals, ends
    late = [loads(line) for line in local["past_timer"][0].values() if loads(line)["kind"] == "send"]
    assert sorted((r["customer_id"], r["at"]) for r in late) == [
        ("c1", "2026-03-10T00:00:00Z"),  # set in the past: fired at the clock
        ("c2", "2026-03-13T00:00:00Z"),
        ("c4", "2026-03-20T00:00:00Z"),
    ]
    assert sum(len(records) for records, _ in local.values()) > 400
    assert sum(sum(dead.values()) for _, dead in local.values()) > 10  # dead_letters.yaml, expr_errors, ...


@pytest.mark.flink
@pytest.mark.parametrize("parallelism", [1, 2])
def test_one_flink_job_gives_runs_records_key_by_key(
    flink: None, inputs: list[Input], local: Local, parallelism: int
) -> None:
    from journeydsl.flink.job import JobSpec
    from journeydsl.flink.local import DEAD, Pipeline, final_clock, run_pipelines

    pipelines = []
    for index, item in enumerate(inputs):
        spec = JobSpec(
            bundle=item.files, until=None if item.until is None else parse_time(item.until), name=f"p{index}"
        )
        if item.until is None:
            spec = JobSpec(bundle=item.files, until=final_clock(item.events, spec), name=spec.name)
        pipelines.append(Pipeline(item.events, spec))
    records: dict[int, list[str]] = {index: [] for index in range(len(inputs))}
    dead: dict[int, list[str]] = {index: [] for index in range(len(inputs))}
    for index, kind, text in run_pipelines(pipelines, parallelism):
        (dead if kind == DEAD else records)[index].append(text)
    for index, item in enumerate(inputs):
        want_records, want_dead = local[item.name]
        got = _keyed(records[index])
        assert got.keys() == want_records.keys(), (item.name, sorted(got.keys() ^ want_records.keys())[:5])
        for key, line in want_records.items():
            assert got[key] == line, (item.name, key)
        assert _reasons(dead[index]) == want_dead, item.name


@pytest.mark.flink
def test_run_engine_flink_prints_the_records_and_writes_dead_letters(
    flink: None, inputs: list[Input], local: Local, tmp_path: Path
) -> None:
    example = inputs[0]
    dead = tmp_path / "dead.jsonl"
    result = run_cli(
        str(example.bundle),
        "--events",
        str(example.events),
        "--engine",
        "flink",
        "--parallelism",
        "2",
        "--dead-letter",
        str(dead),
        "--summary",
    )
    assert result.exit_code == 0, result.stderr
    want_records, want_dead = local["example"]
    assert _keyed(result.stdout.splitlines()) == want_records
    assert _reasons(dead.read_text().splitlines()) == want_dead
    summary = {line.rsplit("  ", 1)[0].strip(): line.rsplit("  ", 1)[1] for line in result.stderr.splitlines()}
    assert summary["records"] == str(len(want_records))
    assert summary["dead letters"] == str(sum(want_dead.values()))


# --------------------------------------------------------------------------- bad input, before any JVM


@pytest.fixture
def example_args(inputs: list[Input]) -> list[str]:
    return [str(inputs[0].bundle), "--events", str(inputs[0].events)]


def test_without_pyflink_the_flink_engine_says_what_to_install(
    example_args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyflink", None)  # `import pyflink` now raises ImportError
    result = run_cli(*example_args, "--engine", "flink")
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --engine flink needs the flink extra: pip install 'journeydsl[flink]'"
    assert result.stdout == ""


def test_without_java_the_flink_engine_names_it(
    example_args: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-jdk"))
    result = run_cli(*example_args, "--engine", "flink")
    assert result.exit_code == 1
    assert "needs a Java 17 runtime" in result.stderr and "JAVA_HOME/bin/java" in result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--store", "sqlite:///x.db"], "--store cannot be used with --engine flink"),
        (["--max-skew", "1d"], "--max-skew cannot be used with --engine flink"),
        (["--batch", "5"], "--batch cannot be used with --engine flink"),
        (["--wait"], "--wait cannot be used with --engine flink"),
        (["--allow-orphans"], "--allow-orphans cannot be used with --engine flink"),
        (["--allow-rollback"], "--allow-rollback cannot be used with --engine flink"),
        (["--parallelism", "0"], "--parallelism"),
        (["--parallelism", "129"], "--parallelism"),
        (["--parallelism", "two"], "--parallelism"),
        (["--until", "next tuesday"], "--until"),
        (["--engine", "spark"], "--engine"),
    ],
)
def test_options_that_clash_with_flink_are_usage_errors(
    example_args: list[str], extra: list[str], message: str
) -> None:
    engine = [] if "--engine" in extra else ["--engine", "flink"]
    result = run_cli(*example_args, *engine, *extra)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert result.stdout == ""


def test_parallelism_needs_the_flink_engine(example_args: list[str]) -> None:
    result = run_cli(*example_args, "--parallelism", "2")
    assert result.exit_code == 2
    assert "--parallelism needs --engine flink" in result.stderr


def test_a_refused_bundle_is_an_error_before_flink_starts(example_args: list[str], tmp_path: Path) -> None:
    key = tmp_path / "key.pub"
    key.write_text("not a key")
    result = run_cli(*example_args, "--engine", "flink", "--public-key", str(key))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: refusing bundle") and "Traceback" not in result.stderr


@pytest.mark.flink
def test_a_job_that_fails_is_an_error_with_its_root_cause(flink: None, inputs: list[Input]) -> None:
    """A task that cannot open (here: a bundle every task refuses, signed by no key given) fails the job; the
    error is Flink's innermost cause, one line, not a Java stack."""
    from journeydsl.flink.job import JobSpec
    from journeydsl.flink.local import FlinkRunError, Pipeline, run_pipelines

    refused = JobSpec(bundle=inputs[0].files, public_key=b"k" * 32)  # the client's own check skipped
    with pytest.raises(FlinkRunError) as failed:
        list(run_pipelines([Pipeline(inputs[0].events, refused)], 1))
    message = str(failed.value)
    assert "BundleError" in message and "\n" not in message
