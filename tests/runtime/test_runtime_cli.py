"""`journeydsl run`: records on standard output, dead letters, --until, --summary, durable restarts, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.compile import generate_keypair, sign_files, write_bundle

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool }
  event quote { roof: number }
  event signed { amount: number }
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version 1
  owner "o@x"
  uses s
  entry on quote
  goal signed on signed within 30d value event.amount
  stage request {
    step hello { send email hello with { roof: event.roof } -> waiting }
    step waiting { wait { on signed -> won  after 3d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


def _event(number: int, kind: str, customer: str, at: str, **data: object) -> str:
    return json.dumps({"id": f"e{number}", "type": kind, "customer_id": customer, "at": at, "data": data})


EVENTS = "\n".join(
    [
        json.dumps(
            {
                "id": "e1",
                "type": "quote",
                "customer_id": "c1",
                "at": "2026-01-01T10:00:00Z",
                "data": {"roof": 50},
                "profile": {"consent_email": True},
            }
        ),
        _event(2, "quote", "c2", "2026-01-01T10:00:00Z", roof=20),
        "{not json",
        _event(4, "quote", "c3", "2026-01-01T10:00:00Z", roof="big"),
        "",  # blank lines (empty or white space only) are skipped, not dead letters
        "  \t",
        _event(5, "signed", "c1", "2026-01-02T10:00:00Z", amount=900),
        "",
    ]
)


def _setup(tmp_path: Path, sign: bool = False) -> tuple[Path, Path, Path | None]:
    files = build_bundle(tmp_path / "src", [JOURNEY])
    public = None
    if sign:
        private_pem, public_pem = generate_keypair()
        files = sign_files(files, private_pem)
        public = tmp_path / "k.pub"
        public.write_bytes(public_pem)
    bundle = write_bundle(files, tmp_path / "b.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_text(EVENTS, encoding="utf-8")
    return bundle, events, public


def _records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_run_prints_records_and_dead_letters(tmp_path: Path) -> None:
    bundle, events, _ = _setup(tmp_path)
    dead = tmp_path / "dead.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "run",
            str(bundle),
            "--events",
            str(events),
            "--until",
            "2026-02-01T00:00:00Z",
            "--dead-letter",
            str(dead),
            "--summary",
        ],
    )
    assert result.exit_code == 0, result.output
    records = _records(result.stdout)
    kinds = [(r["customer_id"], r["kind"], r.get("status") or r.get("outcome") or r.get("goal")) for r in records]
    assert kinds == [
        ("c1", "enter", None),
        ("c1", "send", "sent"),
        ("c2", "enter", None),
        ("c2", "send", "suppressed"),
        ("c1", "end", "converted"),
        ("c1", "goal", "signed"),
        ("c2", "end", "lost"),
    ]
    assert records[-1]["at"] == "2026-01-04T10:00:00Z"
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(d["line"], d["reason"][:8]) for d in letters] == [(3, "not JSON"), (4, "data.roo")]
    assert "dead letters" in result.stderr and "sends    email sent" in result.stderr


def test_run_without_until_fires_nothing_past_the_last_event(tmp_path: Path) -> None:
    bundle, events, _ = _setup(tmp_path)
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events)])
    assert result.exit_code == 0
    assert ("c2", "end") not in [(r["customer_id"], r["kind"]) for r in _records(result.stdout)]
    assert "line 3: dead letter: not JSON" in result.stderr


def test_durable_restart_skips_seen_events(tmp_path: Path) -> None:
    bundle, events, _ = _setup(tmp_path)
    store = f"sqlite:///{tmp_path / 'state.db'}"
    first = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--store", store])
    assert first.exit_code == 0
    assert len(_records(first.stdout)) == 6
    more = tmp_path / "more.jsonl"
    more.write_text(EVENTS + "\n" + _event(9, "quote", "c9", "2026-01-05T10:00:00Z", roof=1), encoding="utf-8")
    # c9 comes 3 days after the stream's clock: beyond the default skew of 1 day, so the run allows a week.
    arguments = ["run", str(bundle), "--events", str(more), "--store", store, "--batch", "2", "--max-skew", "7d"]
    second = CliRunner().invoke(main, arguments)
    assert second.exit_code == 0
    again = _records(second.stdout)
    # c2's timeout fired before c9's later event; nothing seen before is redone.
    assert [(r["customer_id"], r["kind"]) for r in again] == [("c2", "end"), ("c9", "enter"), ("c9", "send")]


def test_refuses_tampered_bundle_and_wrong_key(tmp_path: Path) -> None:
    bundle, events, public = _setup(tmp_path, sign=True)
    assert public is not None
    ok = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--public-key", str(public)])
    assert ok.exit_code == 0
    _, other_public = generate_keypair()
    other = tmp_path / "other.pub"
    other.write_bytes(other_public)
    wrong = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--public-key", str(other)])
    assert wrong.exit_code == 1 and "refusing bundle" in wrong.stderr
    folder = tmp_path / "dir"
    write_bundle(build_bundle(tmp_path / "src2", [JOURNEY]), folder)
    plan = next(folder.glob("journeys/*/*/plan.json"))
    plan.write_text(plan.read_text().replace("converted", "hacked"))
    tampered = CliRunner().invoke(main, ["run", str(folder), "--events", str(events)])
    assert tampered.exit_code == 1 and "sha256 mismatch" in tampered.stderr


def test_unusable_store_is_a_clear_error(tmp_path: Path) -> None:
    bundle, events, _ = _setup(tmp_path)
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--store", f"sqlite:///{folder}"])
    assert result.exit_code == 1 and "cannot open SQLite store" in result.stderr
    wrong = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--store", "redis://x"])
    assert wrong.exit_code == 1 and "unknown store URL" in wrong.stderr
    bad_until = CliRunner().invoke(main, ["run", str(bundle), "--events", str(events), "--until", "soon"])
    assert bad_until.exit_code == 2
