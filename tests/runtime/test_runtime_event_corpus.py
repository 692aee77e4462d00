"""The seeded corpus of malformed events (tests/fuzz_corpus/events): each line is processed or dead-lettered on
its own, on every store, and a valid event after them all is still processed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from runtime_support import build_bundle
from test_runtime_hardening import JOURNEY

from journeydsl.cli import main
from journeydsl.compile import write_bundle

CORPUS = Path(__file__).parent.parent / "fuzz_corpus" / "events"


@pytest.mark.parametrize("corpus", sorted(CORPUS.glob("*.jsonl")), ids=lambda path: path.name)
@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_every_corpus_line_is_processed_or_a_dead_letter(tmp_path: Path, corpus: Path, store: str) -> None:
    bundle = write_bundle(build_bundle(tmp_path / "src", [JOURNEY]), tmp_path / "b.jbundle")
    url = f"sqlite:///{tmp_path / 'state.db'}" if store == "sqlite" else store
    dead = tmp_path / "dead.jsonl"
    arguments = ["run", str(bundle), "--events", str(corpus), "--store", url, "--dead-letter", str(dead)]
    result = CliRunner().invoke(main, [*arguments, "--until", "2026-02-01T00:00:00Z"])
    assert result.exit_code == 0, result.output
    assert result.exception is None
    records = [json.loads(line) for line in result.stdout.splitlines()]
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    lines = corpus.read_text(encoding="utf-8").splitlines()
    dead_lines = {letter["line"] for letter in letters}
    assert all(letter["reason"] for letter in letters)
    assert len(dead_lines) == len(letters)  # one dead letter per bad line, never two
    # the first and last lines are valid: c1 enters first, and c2 still enters after every bad line
    assert 1 not in dead_lines and len(lines) not in dead_lines
    assert [r["customer_id"] for r in records if r["kind"] == "enter"] == ["c1", "c2"]
    assert len(dead_lines) >= len(lines) - 6  # a handful of corpus lines are valid events of customer c1
