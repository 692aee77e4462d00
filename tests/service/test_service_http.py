"""`journeydsl serve` over HTTP, as a subprocess on a loopback port: events in (one object or NDJSON), the
answers for bad requests, the event clock, metrics, and a SIGTERM that commits and delivers everything."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from service_support import Served, make_bundle, metric, quote, wait_for

from journeydsl.cli import main


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    return make_bundle(root, 1, root / "solar-v1.jbundle")


def _run_records(tmp_path: Path, bundle: Path, events: list[dict[str, object]], *extra: str) -> list[dict[str, object]]:
    """What `journeydsl run` prints for the same events (the reference serve must match)."""
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(path), *extra])
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line]


def test_events_are_accepted_after_commit_and_delivered_as_run_prints_them(tmp_path: Path, bundle: Path) -> None:
    events = [quote(n) for n in range(5)]
    until = "2026-01-05T00:00:00Z"
    expected = _run_records(tmp_path, bundle, events, "--until", until)
    with Served(tmp_path, bundle, "--clock", "event", token=True) as served:
        status, body = served.post_events([events[0]], ndjson=False)
        assert (status, body) == (202, {"accepted": 1, "duplicates": 0, "dead_letters": []})
        # NDJSON: blank lines skipped, a line that is not JSON and an event the schema refuses are dead letters
        # with their line numbers; a repeated id is a duplicate; the rest is accepted.
        lines = (
            json.dumps(events[1])
            + "\n\n{not json\n"
            + json.dumps({**events[2], "type": "nope"})
            + "\n"
            + json.dumps(events[0])
            + "\n"
            + "\n".join(json.dumps(e) for e in events[2:])
            + "\n"
        ).encode()
        status, headers, raw = served.request("POST", "/v1/events", lines, {"Content-Type": "application/x-ndjson"})
        answer = json.loads(raw)
        assert status == 202, raw
        assert answer["accepted"] == 4 and answer["duplicates"] == 1
        assert [dead["line"] for dead in answer["dead_letters"]] == [3, 4]
        assert answer["dead_letters"][0]["reason"].startswith("not JSON")
        assert "nope" in answer["dead_letters"][1]["reason"]
        assert headers["content-type"] == "application/json"
        status, _, raw = served.request("POST", "/v1/clock", json.dumps({"until": until}).encode())
        assert status == 200 and json.loads(raw)["records"] == 5  # the 3-day timers fired: `lost`
        # Delivered (memory://: by the worker between groups) before any stop.
        wait_for(lambda: len(served.records()) == len(expected), what="every record delivered")
        text = served.metrics()
        assert metric(text, "journeydsl_events_total", outcome="accepted") == 5
        assert metric(text, "journeydsl_events_total", outcome="duplicate") == 1
        assert metric(text, "journeydsl_events_total", outcome="dead") == 2
        assert metric(text, "journeydsl_records_total", kind="enter", status="") == 5
        assert metric(text, "journeydsl_records_total", kind="send", status="sent") == 5
        assert metric(text, "journeydsl_records_total", kind="end", status="") == 5
        assert metric(text, "journeydsl_bundle_info", revision=_revision(bundle), source=str(bundle)) == 1
        assert "journeydsl_instances_active" in text
        assert served.stop() == 0
    got = served.records()
    assert got == expected
    assert {record["kind"] for record in got} >= {"enter", "send", "end"}
    assert any(entry["msg"] == "serving" for entry in served.logs())
    assert all({"ts", "level", "msg"} <= set(entry) for entry in served.logs())


def test_bad_requests_get_their_status(tmp_path: Path, bundle: Path) -> None:
    with Served(tmp_path, bundle, "--max-body", "2000", "--clock", "event", token=True) as served:
        event = json.dumps(quote(1)).encode()
        json_type = {"Content-Type": "application/json"}
        assert served.request("POST", "/v1/events", event, json_type, auth=False)[0] == 401
        wrong = {**json_type, "Authorization": "Bearer not-the-token"}
        status, headers, _ = served.request("POST", "/v1/events", event, wrong)
        assert status == 401 and headers["www-authenticate"].startswith("Bearer")
        assert served.request("POST", "/v1/clock", b'{"until": 0}', json_type, auth=False)[0] == 401
        status, _, raw = served.request("POST", "/v1/events", b"{nope", json_type)
        assert status == 400 and "not JSON" in json.loads(raw)["error"]
        assert served.request("POST", "/v1/events", event, {"Content-Type": "text/csv"})[0] == 415
        assert served.request("POST", "/v1/events", b"[" + b" " * 3000 + b"]", json_type)[0] == 413

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 500  # no Content-Length: refused while it streams in

        headers = {**json_type, "Authorization": f"Bearer {served.token}"}
        response = httpx.post(served.base + "/v1/events", content=chunks(), headers=headers, timeout=30)
        assert response.status_code == 413
        for body in (b"{nope", b"[1]", b'{"until": "yesterday"}', b'{"until": true}'):
            assert served.request("POST", "/v1/clock", body, json_type)[0] == 400, body
        # A JSON value that is not an event is the engine's dead letter, not a 400.
        status, answer = served.post_events([[1, 2]], ndjson=False)
        assert status == 202 and answer["accepted"] == 0 and len(answer["dead_letters"]) == 1
        status, headers, raw = served.request("GET", "/v1/events")
        assert status == 405 and "POST" in headers["allow"] and json.loads(raw)["error"] == "Method Not Allowed"
        status, _, raw = served.request("GET", "/nowhere")
        assert status == 404 and json.loads(raw) == {"error": "Not Found"}
        assert served.request("GET", "/healthz", auth=False)[0] == 200
        text = served.metrics()
        assert metric(text, "journeydsl_requests_rejected_total", reason="unauthorized") == 3
        assert metric(text, "journeydsl_requests_rejected_total", reason="too_large") == 2
        assert served.stop() == 0


def test_wall_clock_refuses_the_clock_endpoint_and_fires_due_timers(tmp_path: Path, bundle: Path) -> None:
    # Dated in the past: under the wall clock the 3-day timers are long due, so the next tick fires them.
    with Served(tmp_path, bundle, "--max-skew", "none") as served:
        status, _, raw = served.request("POST", "/v1/clock", b'{"until": "2026-01-05T00:00:00Z"}')
        assert status == 409 and "--clock event" in json.loads(raw)["error"]
        assert served.post_events([quote(n) for n in range(3)])[0] == 202
        wait_for(lambda: sum(r["kind"] == "end" for r in served.records()) == 3, what="the timers on the wall clock")
        assert metric(served.metrics(), "journeydsl_timer_lag_seconds") >= 0
        assert served.stop(signal.SIGINT) == 0
    kinds = [record["kind"] for record in served.records()]
    assert kinds.count("enter") == 3 and kinds.count("end") == 3


def _revision(bundle: Path) -> str:
    from journeydsl.runtime.bundle import load_bundle

    return load_bundle(str(bundle)).revision
