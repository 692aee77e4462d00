"""Live changes through the CLI: `status` shows what a store has in flight, and `run` refuses a bundle that
would orphan instances in flight (or, allowed, ends them with `end` records that say why)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.compile import write_bundle

JOURNEY = """
schema s {
  profile { email: string  consent_email: bool }
  event quote { roof: number }
  event signed { amount: number }
  channel email { cost 0.002 requires profile.consent_email }
}
journey solar {
  version VERSION
  owner "o@x"
  uses s
  entry on quote
  stage request {
    step hello { send email hello -> waiting }
    step waiting { wait { on signed -> won  after 3d -> lost } }
    step won { end converted }
    step lost { end lost }
  }
}
"""


def _bundle(tmp_path: Path, version: int) -> Path:
    files = build_bundle(tmp_path / f"v{version}", [JOURNEY.replace("VERSION", str(version))])
    return write_bundle(files, tmp_path / f"solar-v{version}.jbundle")


def _events(path: Path, customers: range, day: int) -> Path:
    lines = [
        json.dumps(
            {
                "id": f"q{n}",
                "type": "quote",
                "customer_id": f"c{n}",
                "at": f"2026-01-{day:02d}T10:00:{n:02d}Z",
                "data": {"roof": 5},
                "profile": {"consent_email": True, "email": "x@y"},
            }
        )
        for n in customers
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _invoke(*arguments: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(arguments))
    return result.exit_code, result.stdout, result.stderr


def test_status_shows_what_is_in_flight(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    code, _, _ = _invoke(
        "run", str(_bundle(tmp_path, 1)), "--events", str(_events(tmp_path / "a.jsonl", range(3), 1)), "--store", store
    )
    assert code == 0
    code, text, _ = _invoke("status", "--store", store)
    assert code == 0
    assert "solar v1: 3 active" in text and "waiting" in text and "(3 waiting on a timer)" in text
    code, out, _ = _invoke("status", "--store", store, "--format", "json")
    found = json.loads(out)
    assert found["versions"] == [{"journey": "solar", "version": 1, "active": 3}]
    assert found["steps"] == [{"journey": "solar", "version": 1, "step": "waiting", "active": 3, "timers": 3}]
    code, _, err = _invoke("status", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert code == 1 and "no store at" in err


def test_run_refuses_a_bundle_that_would_orphan_customers(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    first = _events(tmp_path / "a.jsonl", range(4), 1)
    second = _events(tmp_path / "b.jsonl", range(4, 6), 1)
    assert _invoke("run", str(_bundle(tmp_path, 1)), "--events", str(first), "--store", store)[0] == 0
    v2 = _bundle(tmp_path, 2)
    code, out, err = _invoke("run", str(v2), "--events", str(second), "--store", store)
    assert code == 1 and out == ""
    assert "lacks versions that instances in the store are on: solar v1 (4 in flight)" in err
    assert "Traceback" not in err
    _, text, _ = _invoke("status", "--store", store)
    assert "solar v1: 4 active" in text  # nothing changed
    code, out, err = _invoke("run", str(v2), "--events", str(second), "--store", store, "--allow-orphans")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    ended = [r for r in records if r["kind"] == "end"]
    assert len(ended) == 4 and {r["outcome"] for r in ended} == {"orphaned"}
    assert all(r["version"] == 1 and "not in the bundle" in r["reason"] for r in ended)
    assert {r["customer_id"] for r in records if r["kind"] == "enter"} == {"c4", "c5"}
    _, text, _ = _invoke("status", "--store", store)
    assert "solar v2: 2 active" in text and "solar v1" not in text
    # going back to v1 now is a rollback: refused unless asked for
    code, _, err = _invoke("run", str(_bundle(tmp_path, 1)), "--events", str(second), "--store", store)
    assert code == 1 and "rolls back solar v1 (the store ran v2)" in err


def test_plan_says_what_a_new_bundle_does_to_the_instances_in_flight(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    v1 = _bundle(tmp_path, 1)
    assert (
        _invoke("run", str(v1), "--events", str(_events(tmp_path / "a.jsonl", range(3), 1)), "--store", store)[0] == 0
    )
    renamed = JOURNEY.replace("VERSION", "2").replace("waiting", "pending")
    v2 = write_bundle(build_bundle(tmp_path / "v2", [renamed]), tmp_path / "solar-v2.jbundle")
    code, text, _ = _invoke("plan", str(v2), "--store", store)
    assert code == 1
    assert "solar v1 (3 in flight): ORPHANED" in text
    assert "solar: latest v1 -> v2" in text and "step waiting: renamed -> pending (3 on it)" in text
    assert "3 instance(s) would be orphaned" in text
    code, out, _ = _invoke("plan", str(v2), "--store", store, "--format", "json")
    found = json.loads(out)
    assert code == 1 and found["orphaned"] == 3
    assert found["versions"] == [{"journey": "solar", "version": 1, "fate": "orphaned", "customers": 3}]
    (journey,) = found["journeys"]
    assert journey["steps"] == [{"step": "waiting", "change": "renamed", "customers": 3, "renamed_to": "pending"}]
    code, text, _ = _invoke("plan", str(v2), "--old", str(v1))
    assert code == 1 and "solar v1: ORPHANED" in text and "step waiting: renamed -> pending" in text
    code, text, _ = _invoke("plan", str(v1), "--store", store)
    assert code == 0 and "solar v1 (3 in flight): kept on its version" in text
    code, _, err = _invoke("plan", str(v1))
    assert code == 2 and "--store" in err


def _project(folder: Path, version: int, waiting: str) -> Path:
    (folder / "templates" / "messages" / "email").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "messages" / "email" / "hello.j2").write_text("hello {{ profile.email }}", "utf-8")
    text = JOURNEY.replace("VERSION", str(version)).replace("waiting", waiting)
    (folder / "solar.journey").write_text(text, encoding="utf-8")
    return folder


def test_a_kept_version_lets_every_customer_finish_on_the_version_it_entered(tmp_path: Path) -> None:
    """The story of issue 14: half the events on v1, an edit to v2, the second half on the same store."""
    store = f"sqlite:///{tmp_path / 'state.db'}"
    source = _project(tmp_path / "src", 1, "waiting")
    v1, v2, v2_kept = tmp_path / "v1.jbundle", tmp_path / "v2.jbundle", tmp_path / "v2-kept.jbundle"
    templates = str(source / "templates")
    assert _invoke("build", str(source), "-o", str(v1), "--templates", templates)[0] == 0
    assert (
        _invoke("run", str(v1), "--events", str(_events(tmp_path / "a.jsonl", range(3), 1)), "--store", store)[0] == 0
    )
    _project(source, 2, "pending")  # the team edits the journey in place: version 2
    assert _invoke("build", str(source), "-o", str(v2), "--templates", templates)[0] == 0
    assert _invoke("plan", str(v2), "--store", store)[0] == 1
    second = _events(tmp_path / "b.jsonl", range(3, 5), 1)
    code, _, err = _invoke("run", str(v2), "--events", str(second), "--store", store)
    assert code == 1 and "solar v1 (3 in flight)" in err
    code, out, _ = _invoke("build", str(source), "-o", str(v2_kept), "--templates", templates, "--keep", str(v1))
    assert code == 0 and "kept      solar v1" in out
    code, out, _ = _invoke("verify", str(v2_kept))
    assert code == 0 and "solar  v1, v2 (latest)" in out
    assert _invoke("plan", str(v2_kept), "--store", store)[0] == 0
    code, out, err = _invoke(
        "run", str(v2_kept), "--events", str(second), "--store", store, "--until", "2026-01-09T00:00:00Z"
    )
    assert code == 0, err
    ends = {
        r["customer_id"]: (r["version"], r["step"]) for r in map(json.loads, out.splitlines()) if r["kind"] == "end"
    }
    assert ends == {"c0": (1, "lost"), "c1": (1, "lost"), "c2": (1, "lost"), "c3": (2, "lost"), "c4": (2, "lost")}
    # byte-identical: the kept plan is the one v1 held
    from journeydsl.runtime.bundle import load_bundle

    assert (
        load_bundle(str(v2_kept)).files["journeys/solar/1/plan.json"]
        == load_bundle(str(v1)).files["journeys/solar/1/plan.json"]
    )
    # PREVIOUS may not hold a newer version than the sources
    code, _, err = _invoke(
        "build",
        str(_project(tmp_path / "old", 1, "waiting")),
        "-o",
        str(tmp_path / "x.jbundle"),
        "--templates",
        templates,
        "--keep",
        str(v2),
    )
    assert code == 1 and "newer versions than the sources: solar v2" in err


def test_replay_shows_where_a_new_bundle_would_treat_customers_in_flight_differently(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'state.db'}"
    v1 = _bundle(tmp_path, 1)
    events = _events(tmp_path / "a.jsonl", range(3), 1)
    assert _invoke("run", str(v1), "--events", str(events), "--store", store)[0] == 0
    code, text, _ = _invoke("replay", str(v1), "--store", store, "--events", str(events))
    assert code == 0 and "3 customer(s) in flight compared" in text and "treated the same" in text
    welcome = JOURNEY.replace("VERSION", "2").replace("send email hello", "send email welcome")
    v2 = write_bundle(build_bundle(tmp_path / "v2", [welcome]), tmp_path / "welcome.jbundle")
    code, text, _ = _invoke("replay", str(v2), "--store", store, "--events", str(events))
    assert code == 1 and "3 customer(s) would be treated differently" in text
    assert "c0: record 2 differs" in text and "template=hello" in text and "template=welcome" in text
    code, out, _ = _invoke("replay", str(v2), "--store", store, "--events", str(events), "--format", "json")
    found = json.loads(out)
    assert code == 1 and [d["customer_id"] for d in found["divergences"]] == ["c0", "c1", "c2"]
    assert found["divergences"][0]["got"]["template"] == "hello"
    assert found["divergences"][0]["replayed"]["template"] == "welcome"
    # without --events: the history the store kept of every event that changed a customer
    code, text, _ = _invoke("replay", str(v2), "--store", store)
    assert code == 1 and "replayed 3 event(s)" in text and "3 customer(s) would be treated differently" in text
    code, text, _ = _invoke("replay", str(v1), "--store", store)
    assert code == 0 and "treated the same" in text


def test_build_takes_a_journey_version_from_git(tmp_path: Path) -> None:
    import subprocess

    source = _project(tmp_path / "src", 1, "waiting")
    # the schema in a file of its own: the file taken from git holds only the journey's old version
    text = (source / "solar.journey").read_text(encoding="utf-8")
    schema_end = text.index("journey solar")
    (source / "schema.journey").write_text(text[:schema_end], encoding="utf-8")
    (source / "solar.journey").write_text(text[schema_end:], encoding="utf-8")
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=source, check=True)
    subprocess.run([*git, "add", "-A"], cwd=source, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=source, check=True)
    _project(source, 2, "pending")  # the working tree moves on to version 2
    text = (source / "solar.journey").read_text(encoding="utf-8")
    (source / "solar.journey").write_text(text[text.index("journey solar") :], encoding="utf-8")
    out = tmp_path / "both.jbundle"
    journey = str(source / "solar.journey")
    templates = str(source / "templates")
    schema = str(source / "schema.journey")
    code, text, err = _invoke("build", schema, journey, f"{journey}@HEAD", "-o", str(out), "--templates", templates)
    assert code == 0, err
    code, text, _ = _invoke("verify", str(out))
    assert "solar  v1, v2 (latest)" in text
    code, _, err = _invoke("build", journey, f"{journey}@--output={tmp_path / 'p'}", "-o", str(tmp_path / "x.jbundle"))
    assert code == 1 and "cannot start with `-`" in err and not (tmp_path / "p").exists()


def test_replay_refuses_a_damaged_history(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "state.db"
    v1 = _bundle(tmp_path, 1)
    assert (
        _invoke(
            "run", str(v1), "--events", str(_events(tmp_path / "a.jsonl", range(2), 1)), "--store", f"sqlite:///{path}"
        )[0]
        == 0
    )
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO event_batches (events) VALUES (?)", (b"[1, 2]\n",))
    code, _, err = _invoke("replay", str(v1), "--store", f"sqlite:///{path}")
    assert code == 1 and "event_batches row" in err and "Traceback" not in err
