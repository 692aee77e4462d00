"""Hypothesis: for random journeys and random edits, a build with `--keep` never orphans an instance in flight,
and the kept plans are the previous bundle's bytes (issue 14)."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.test_plan_roundtrip import _generated, _lowerable, bundled
from journeydsl import ir
from journeydsl.compile.keep import keep_versions, plan_path
from journeydsl.compile.plan import build_index
from journeydsl.runtime.bundle import INDEX, MANIFEST, canonical_json, load_bundle, manifest_revision, sha256_hex
from journeydsl.runtime.inflight import InFlight, StepInFlight
from journeydsl.runtime.rollout import ORPHANED, plan_rollout


def _files(plans: list[dict[str, Any]]) -> dict[str, bytes]:
    """An unsigned bundle of `plans`, as the compiler lays one out."""
    files = {plan_path(p["journey"], p["version"]): canonical_json(p) for p in plans}
    files[INDEX] = canonical_json(build_index(plans))
    journeys = [{"id": p["journey"], "version": p["version"], "source": "j.journey"} for p in plans]
    manifest: dict[str, Any] = {
        "format": 1,
        "compiler": "test",
        "journeys": sorted(journeys, key=lambda e: (e["id"], e["version"])),
        "created_from": [],
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    manifest["revision"] = manifest_revision(manifest)
    files[MANIFEST] = canonical_json(manifest)
    return files


def _plan(journey: ir.Journey, version: int) -> dict[str, Any]:
    # No migrations: the version is set after _lowerable fitted them to another (test_keep_migrations.py has them).
    lowered = dataclasses.replace(_lowerable(journey), name="j", version=version, uses=None, migrations=())
    return bundled(lowered, None)


def _loadable(plan: dict[str, Any]) -> bool:
    return all(step["flow"]["kind"] != "experiment" or step["flow"]["variants"] for step in plan["steps"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    old=st.lists(_generated.journeys, min_size=1, max_size=3),
    edited=_generated.journeys,
    carried_by_sources=st.booleans(),
)
def test_a_build_with_keep_never_orphans(old: list[ir.Journey], edited: ir.Journey, carried_by_sources: bool) -> None:
    previous_plans = [_plan(journey, number) for number, journey in enumerate(old, start=1)]
    newest = _plan(edited, len(old) + 1)
    sources = [newest, previous_plans[-1]] if carried_by_sources else [newest]
    if not all(map(_loadable, [*previous_plans, newest])):
        return
    previous = load_bundle(_files(previous_plans))
    kept_files, kept = keep_versions(_files(sources), previous)
    kept_bundle = load_bundle(kept_files)  # a valid bundle, hashes and all
    assert set(previous.plans) <= set(kept_bundle.plans)
    assert kept_bundle.index["latest"] == {"j": len(old) + 1}
    for journey, version in kept:
        path = plan_path(journey, version)
        assert kept_files[path] == previous.files[path]  # byte for byte
    in_flight = InFlight(
        tuple(StepInFlight("j", v, str(p["steps"][0]["name"]), 1, 0) for v, p in enumerate(previous_plans, 1)), 1
    )
    rollout = plan_rollout(dict(kept_bundle.plans), dict(previous.plans), in_flight)
    assert not [v for v in rollout.versions if v.fate == ORPHANED] and rollout.orphans == 0
