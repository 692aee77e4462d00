"""`serve` on PostgreSQL: the engine's store and the relay's own deliver-mode store (rows claimed with SKIP LOCKED)
in one process, records as `run` prints them, a second `serve` refused while the first owns the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_support import Served, make_bundle, metric, quote, wait_for

from journeydsl.cli import main


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    return make_bundle(root, 1, root / "solar-v1.jbundle")


def test_serve_on_postgresql(tmp_path: Path, bundle: Path, postgres_url: str) -> None:
    store = f"{postgres_url}?schema=serve_test"
    events = [quote(n) for n in range(20)]
    with Served(tmp_path, bundle, "--clock", "event", store=store) as served:
        second = CliRunner().invoke(
            main, ["serve", str(bundle), "--store", store, "--insecure", "--listen", "127.0.0.1:0"]
        )
        assert second.exit_code == 1 and "Traceback" not in second.stderr, second.stderr
        status, answer = served.post_events(events[:10])
        assert (status, answer["accepted"]) == (202, 10)
        assert served.post_events(events)[1] == {"accepted": 10, "duplicates": 10, "dead_letters": []}
        status, _, raw = served.request("POST", "/v1/clock", b'{"until": "2026-01-05T00:00:00Z"}')
        assert status == 200 and json.loads(raw)["records"] == 20  # a `lost` end per customer
        wait_for(lambda: len(served.records()) == 60, what="every record delivered")
        assert metric(served.metrics(), "journeydsl_events_total", outcome="duplicate") == 10
        assert served.stop() == 0
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    expected = CliRunner().invoke(main, ["run", str(bundle), "--events", str(path), "--until", "2026-01-05T00:00:00Z"])
    assert served.records() == [json.loads(line) for line in expected.stdout.splitlines()]
