"""`journeydsl run`'s bytes on two small fixed streams of the example journeys, against committed sha256 sums.

The speed work on the per-event path (issue 18) must not change a record: not a key's order in a record, not a
time's text, not which event is a dead letter. The scenario cases check what records say; this checks that the
whole output stays byte for byte what it was, on the plain and the compiled build alike (`make test-compiled`
runs tests/runtime against build/compiled).

tests/runtime/golden/synth.jsonl: `journeydsl synth journeys/ --customers 100 --seed 11 --bad-rate 0.05` (every
event drives a journey; 5% bad on purpose: dead letters). stream.jsonl: `bench.workload.stream_events(40, 0.6)`
(journey events among page views and app opens, some with a profile patch).

With `--workers 2` the records are the same and each customer's in the same order, but the output goes block by
block, worker by worker (runtime/workers.py): its own sums, and its sorted lines are one process's.

A change that alters the records on purpose (or changes journeys/, which the bundle is built from) updates the sums:
`JOURNEYDSL_REGOLD=1 pytest tests/runtime/test_run_golden.py` prints the new ones; say why in the commit.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.cli import main

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
UNTIL = "2026-12-31T00:00:00Z"  # past every timer the streams set: the end of every journey is in the output

# (stream, workers) -> (sha256 of the records, sha256 of the dead letters file, records, dead letters)
EXPECTED: dict[tuple[str, int], tuple[str, str, int, int]] = {
    ("synth", 1): (
        "35ea08f6cb4a6c3fbe54cfd53ad579f9ff4b6c2d55d6c2e1ddd24f2cf792ab17",
        "11f66e246cc8c49a1cd25885ab83026a249668aabb1ab3de2e1346d69f286b9b",
        1183,
        18,
    ),
    ("stream", 1): (
        "1f48d960c52c68552eba0b0a256f65559ba7093d82e4471f50316bce5a2954dd",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",  # no dead letter: sha256 of nothing
        521,
        0,
    ),
    ("synth", 2): (
        "c4e1e5e583b9c20f0e334cbb4d67b7765145b581c5da121f68d06ae6451360b3",
        "11f66e246cc8c49a1cd25885ab83026a249668aabb1ab3de2e1346d69f286b9b",
        1183,
        18,
    ),
    ("stream", 2): (
        "c42ada15d01947600665de60df87780d20a0e48df49c3d3e397f1596a7310031",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        521,
        0,
    ),
}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "journeys.jbundle"
    result = CliRunner().invoke(main, ["build", str(ROOT / "journeys"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _run(bundle: Path, events: Path, dead: Path, workers: int) -> bytes:
    args = ["run", str(bundle), "--events", str(events), "--until", UNTIL, "--max-skew", "30d"]
    args += ["--workers", str(workers), "--dead-letter", str(dead)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", ["stream", "synth"])
@pytest.mark.parametrize("workers", [1, 2])
def test_run_output_is_byte_identical_to_the_golden_sums(bundle: Path, tmp_path: Path, name: str, workers: int) -> None:
    dead = tmp_path / "dead.jsonl"
    records = _run(bundle, GOLDEN / f"{name}.jsonl", dead, workers)
    dead_bytes = dead.read_bytes()
    found = (_sha(records), _sha(dead_bytes), records.count(b"\n"), dead_bytes.count(b"\n"))
    if os.environ.get("JOURNEYDSL_REGOLD"):
        print(f"\n    {(name, workers)!r}: {found!r},")
        return
    want = EXPECTED[name, workers]
    # Counts first: a lost or extra record says more than two different sums.
    assert (found[2], found[3]) == (want[2], want[3]), f"{name}: (records, dead letters)"
    assert found[0] == want[0], f"{name}: the records changed (sha256 of standard output)"
    assert found[1] == want[1], f"{name}: the dead letters changed (sha256 of --dead-letter)"


@pytest.mark.parametrize("name", ["stream", "synth"])
def test_two_workers_give_one_process_s_lines(bundle: Path, tmp_path: Path, name: str) -> None:
    one = _run(bundle, GOLDEN / f"{name}.jsonl", tmp_path / "dead1.jsonl", 1)
    two = _run(bundle, GOLDEN / f"{name}.jsonl", tmp_path / "dead2.jsonl", 2)
    assert two != one  # the two workers' records interleave block by block (else the sums above say nothing new)
    assert sorted(two.splitlines()) == sorted(one.splitlines())


def test_the_golden_streams_exercise_what_they_are_for(bundle: Path, tmp_path: Path) -> None:
    """A golden sum over an empty or trivial output would guard nothing: the streams give sends with rendered
    bodies, timers, dead letters and profile patches."""
    dead = tmp_path / "dead.jsonl"
    synth = _run(bundle, GOLDEN / "synth.jsonl", dead, 1)
    assert b'"kind":"send"' in synth and b'"body":' in synth and b'"status":"delayed"' in synth
    assert b'"kind":"end"' in synth and b'"kind":"goal"' in synth
    assert dead.read_bytes().count(b"\n") > 0
    stream = (GOLDEN / "stream.jsonl").read_bytes()
    assert b'"type":"page_viewed"' in stream and b'"profile":' in stream
