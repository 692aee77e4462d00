"""The end of `make demo` (issue 15): `serve` on SQLite, events posted over HTTP, the delivered records printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from journeydsl.compile import build
from journeydsl.service.demo import main
from journeydsl.testing.synth import generate_events

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_serves_posts_and_prints_what_it_delivered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "journeys.jbundle"
    build([ROOT / "journeys"], bundle, templates_dir=ROOT / "templates")
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in generate_events(ROOT / "journeys", 5, seed=3)))
    assert main([str(bundle), str(events), str(tmp_path / "serve"), "--events", "8"]) == 0
    printed = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in printed if line.startswith("{")]
    delivered = (tmp_path / "serve" / "delivered.jsonl").read_text().splitlines()
    assert records and len(records) == len(delivered)
    assert {r["kind"] for r in records} >= {"enter", "send"}
    assert "serve stopped on SIGTERM (exit 0)" in printed
    assert any("(while serving)" in line for line in printed)  # `status` reads the store serve owns


def test_the_demo_says_what_went_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    assert main([str(tmp_path / "missing.jbundle"), str(empty), str(tmp_path / "serve")]) == 1
    assert "holds no events" in capsys.readouterr().err
