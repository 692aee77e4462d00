"""`render --overlay` reads the store's transition aggregates: the same counts as the loop over every transition
(analytics.overlay_counts_by_version), drawn into the DOT, and a store that cannot be read is a DiagramError."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from journeydsl.analytics import overlay_counts_by_version
from journeydsl.analytics.overlay import overlay_counts_from_store, render_overlays
from journeydsl.analytics.source import SourceError
from journeydsl.compile import compile_project
from journeydsl.project import load_project
from journeydsl.render import DiagramError
from journeydsl.runtime import Engine
from journeydsl.runtime.bundle import load_bundle

FIXTURE = Path(__file__).parents[1] / "testing" / "fixtures" / "solar"


def run_into(url: str, customers: int) -> list[object]:
    project = load_project([FIXTURE / "journeys"], templates_dir=FIXTURE / "templates")
    engine = Engine.open(load_bundle(compile_project(project, ["journeys"])), store=url)
    for n in range(customers):
        cid = f"c{n}"
        profile = {"segment": "new", "consent_email": True, "consent_sms": n % 2 == 0, "ltv": 0}
        engine.process({"id": f"{cid}-q", "type": "quote_requested", "customer_id": cid,
                        "at": f"2026-01-{1 + n % 20:02d}T10:00:00Z", "profile": profile,
                        "data": {"roof_area_m2": (8, 20, 60)[n % 3], "zip": "28001"}})  # fmt: skip
    engine.advance("2026-03-01T00:00:00Z")
    engine.close()
    return list(project.journeys())


def test_overlay_counts_equal_the_loop_over_transitions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}?batch=5"
    run_into(url, 60)
    counts = overlay_counts_from_store(url)
    assert counts == overlay_counts_by_version(url)
    ((steps, edges),) = counts.values()
    assert edges[("ENTRY", "welcome")] == 60 == steps["welcome"]


def test_the_diagram_carries_the_store_s_counts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    journeys = run_into(url, 30)
    (written,) = render_overlays(journeys, tmp_path / "out", "dot", url)  # type: ignore[arg-type]
    assert "30" in written.read_text(encoding="utf-8")


def test_a_missing_or_damaged_store_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no store at"):
        overlay_counts_from_store(f"sqlite:///{tmp_path / 'none.db'}")
    url = f"sqlite:///{tmp_path / 's.db'}"
    journeys = run_into(url, 3)
    with sqlite3.connect(tmp_path / "s.db") as db:
        db.execute("UPDATE agg_edges SET n = 'x'")
    db.close()
    with pytest.raises(DiagramError, match="--overlay: cannot read SQLite store .*agg_edges holds a row"):
        render_overlays(journeys, tmp_path / "out", "dot", url)  # type: ignore[arg-type]
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SourceError):
        overlay_counts_from_store(f"sqlite:///{tmp_path / 'junk.db'}")
