"""Helpers of the contact policy tests (issue 19): journeys that compete for one customer's shared cap, compiled
into a real bundle (the files `journeydsl build` writes) with the schema's policy given as IR, and the drivers of
the step core that must agree on them (the engine over each store, the Flink job's keyed driver)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from journeydsl.compile import compile_project
from journeydsl.flink.job import JobSpec, run_without_flink
from journeydsl.ir import ContactPolicy, Duration, Journey, Priority, Quiet, Schema, SharedCap
from journeydsl.project import load_project
from journeydsl.runtime import Engine
from journeydsl.runtime.jsonio import dumps, loads
from journeydsl.runtime.timeparse import format_time

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

# Three journeys that each send one email when a `visit` with their number comes (`reentry always`: again on each).
# `slow` sends from a timer, so that a send made by a timer competes as well; `nudge` sends a push too (a channel
# the policy does not cap) and has its own cap on email.
COMPETING = """
schema shop {
  profile { email: string  ok: bool?  tz: string? }
  event visit { n: number }
  event tick {}
  channel email { cost 1 requires profile.ok }
  channel push { cost 0 }
}
journey promo {
  version 1
  owner "o@x"
  uses shop
  entry on visit where event.n == 1
  reentry always
  stage main {
    step hello { send email promo_mail -> done }
    step done { end done }
  }
}
journey winback {
  version 1
  owner "o@x"
  uses shop
  experience rescue
  entry on visit where event.n == 2
  reentry always
  stage main {
    step hello { send email winback_mail -> done }
    step done { end done }
  }
}
journey nudge {
  version 1
  owner "o@x"
  uses shop
  entry on visit where event.n == 3
  reentry always
  cap email 1 per 7d
  stage main {
    step hello {
      send push nudge_push
      send email nudge_mail
      -> done
    }
    step done { end done }
  }
}
journey slow {
  version 1
  owner "o@x"
  uses shop
  entry on visit where event.n == 4
  reentry always
  stage main {
    step waiting { wait { after 10s -> hello } }
    step hello { send email slow_mail -> done }
    step done { end done }
  }
}
"""

TEMPLATES = ("email/promo_mail", "email/winback_mail", "email/nudge_mail", "email/slow_mail", "push/nudge_push")


def policy(
    max_sends: int = 1,
    per: str = "7d",
    priority: tuple[str, ...] | None = ("winback", "promo"),
    kind: str = "journeys",
    quiet: tuple[str, str] | None = None,
    settle: str | None = "1m",
    conflict: str = "suppress",
) -> ContactPolicy:
    """`cap email MAX per PER across journeys`, with the rest of a policy as given."""
    per_d = Duration(int(per[:-1]), per[-1])
    settle_d = None if settle is None else Duration(int(settle[:-1]), settle[-1])
    return ContactPolicy(
        caps=(SharedCap("email", max_sends, per_d),),
        priority=None if priority is None else Priority(kind, priority),
        quiet=None if quiet is None else Quiet(*quiet),
        settle=settle_d,
        conflict=conflict,
    )


def policy_bundle(
    root: Path, contact: ContactPolicy | None, text: str = COMPETING, written: bool = False
) -> dict[str, bytes]:
    """The bundle files of `text` with its schema's policy set to `contact` in the IR (or, `written`, the
    `policy { … }` the text has): compiled by the real compiler, so plan.json carries what the lowering writes."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "shop.journey").write_text(text, encoding="utf-8")
    for name in TEMPLATES:
        target = root / "templates" / "messages" / f"{name}.j2"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"{name} for {{{{ profile.email }}}}", encoding="utf-8")
    project = load_project([root / "shop.journey"], templates_dir=root / "templates")
    assert not project.has_errors, [d.message for d in project.diagnostics]
    schema_for = project.schema_for

    def with_policy(journey: Journey) -> Schema | None:
        schema = schema_for(journey)
        return None if schema is None else dataclasses.replace(schema, policy=contact)

    if not written:
        project.schema_for = with_policy  # type: ignore[method-assign]
    files: dict[str, bytes] = compile_project(project, [str(root / "shop.journey")])
    return files


def visit(event_id: str, n: int, at: float, customer: str = "c1", **profile: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id,
        "type": "visit",
        "customer_id": customer,
        "at": format_time(at),
        "data": {"n": n},
    }
    event["profile"] = {"email": f"{customer}@x", "ok": True, **profile}
    return event


def engine_records(
    files: dict[str, bytes], events: Iterable[dict[str, Any]], until: float, store: str = "memory://"
) -> list[dict[str, Any]]:
    """The records `journeydsl run --until` gives: the engine over `store`, then every timer up to `until`."""
    engine = Engine.open(files, store=store)
    try:
        out: list[dict[str, Any]] = []
        for event in events:
            out += engine.process(event)
        out += engine.advance(until)
        assert not engine.dead_letters, engine.dead_letters
        return out
    finally:
        engine.close()


def keyed_records(files: dict[str, bytes], events: Iterable[dict[str, Any]], until: float) -> list[dict[str, Any]]:
    """The records of the Flink job's keyed driver (each customer's own timers and clock), without Flink."""
    lines, dead = run_without_flink(JobSpec(bundle=files, until=until), [dumps(e).decode() for e in events])
    assert not dead, dead
    return [loads(line) for line in lines]


def by_key(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for record in records:
        assert record["key"] not in found, record
        found[record["key"]] = record
    return found


def email_sends(records: Iterable[dict[str, Any]]) -> dict[str, tuple[str, str | None]]:
    """journey -> (status, held_by) of its email sends (one per journey in these tests)."""
    return {
        r["journey"]: (r["status"], r.get("held_by"))
        for r in records
        if r["kind"] == "send" and r["channel"] == "email"
    }
