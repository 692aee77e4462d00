"""bench.analytics: the store it builds, the figures and verdict it prints, and its options."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench.analytics import build, instance_records, main

from journeydsl.analytics import overlay_from_transitions
from journeydsl.analytics.overlay import overlay_counts_from_store
from journeydsl.analytics.report import build_report
from journeydsl.runtime.stores import open_store


def test_the_store_holds_what_it_says_and_its_aggregates_equal_the_loops(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    records, transitions, _ = build(path, 2000)
    store = open_store(f"sqlite:///{path}", mode="read")
    actions, moves = list(store.actions()), list(store.transitions())
    assert (len(actions), len(moves)) == (records, transitions)
    assert records >= 2000
    report = {(j["journey"], j["version"]): j for j in build_report(moves, actions)["journeys"]}
    aggregates = store.record_aggregates()
    entries = {(r.journey, r.version): r.count for r in aggregates.counts if r.kind == "enter"}
    assert entries == {key: journey["entries"] for key, journey in report.items()}
    # Journey versions without a goal are left out of `converted` (0).
    assert aggregates.converted == {key: j["converted"] for key, j in report.items() if j["converted"]}
    store.close()
    expected = {
        (journey, version): overlay_from_transitions([m for m in moves if m["version"] == version])[journey]
        for journey, version in report
    }
    assert overlay_counts_from_store(f"sqlite:///{path}") == expected


def test_instances_vary_in_journey_version_outcome_and_status() -> None:
    kinds = {r["kind"] for n in range(12) for r in instance_records(n)[0]}
    assert kinds == {"enter", "send", "goal", "end", "exit"}
    assert {r.get("status") for n in range(3) for r in instance_records(n)[0]} >= {"sent", "delayed", "suppressed"}


def test_main_prints_figures_verdict_and_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    main(["--records", "3000", "--rounds", "1", "--loops", "--store", str(tmp_path / "s.db")])
    out = capsys.readouterr().out
    assert re.search(r"store: 3,00\d records, [\d,]+ transitions, built in", out)
    assert re.search(r"plain GROUP BY .*: \d+\.\d+ s", out)
    assert re.search(r"report aggregates: \d+\.\d+ s, \d+\.\d+x the plain GROUP BY  \((within|OVER) the target", out)
    assert re.search(r"overlay counts: \d+\.\d+ s, \d+\.\d+x", out)
    assert "report loops (before):" in out
    assert re.search(r"verdict: (PASS|FAIL) \(best of 1 rounds, wall time\)", out)
    assert "command: python -m bench.analytics --records 3000 --rounds 1 --loops --store" in out
    assert (tmp_path / "s.db").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--records", "0"], "expected a number of at least 1, not 0"),
        (["--records", "many"], "expected a whole number, not 'many'"),
        (["--rounds", "-1"], "expected a number of at least 1, not -1"),
    ],
)
def test_bad_options_are_one_line_errors(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_existing_store_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "s.db").write_bytes(b"")
    with pytest.raises(SystemExit):
        main(["--store", str(tmp_path / "s.db")])
    assert "exists already: give a new file" in capsys.readouterr().err
