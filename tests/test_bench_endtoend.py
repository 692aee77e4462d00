"""bench/endtoend.py's judged per-core workload (issue 18) on a tiny input: `run` memory:// against json.loads on
one journey's stream, each build's ratio against its target and its records' sha256, which builds share."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench import endtoend

from journeydsl.runtime import compiled


def test_the_judged_workload_runs_on_a_tiny_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(endtoend, "ROUNDS", 1)
    endtoend.judged_runs(tmp_path, 30)
    out = capsys.readouterr().out
    assert "FAILED" not in out and "DIFFER" not in out
    assert re.search(r"judged per-core workload \(issue 18\): solar_events\(30\), [\d,]+ events of one journey", out)
    runs = 2 if compiled() else 1  # the compiled build in front measures the plain one beside it
    digests = re.findall(r"records sha256 ([0-9a-f]{64})", out)
    assert len(digests) == runs and len(set(digests)) == 1
    assert out.count("/ json.loads: ") == runs
    assert "target >= 0.25" in out
    assert not list(tmp_path.glob("solar.jsonl"))  # the stream file is removed once measured
