"""Carrying journey versions over from a previous bundle (compiler layer: bundle entries in, bundle entries out).

`journeydsl build journeys/ --keep PREVIOUS.jbundle` adds to what the sources compile every journey version of
PREVIOUS that the sources no longer hold, so that customers still on those versions finish on them: the plan
file is copied byte for byte (its hash in the manifest is the same), with its manifest entry (source path and
source hash as PREVIOUS recorded them) and the message templates PREVIOUS holds that the sources do not. A
template both hold is taken from the sources: templates are shared by path, so an older version renders with
the current text of a template it shares (docs/decisions.md). The sources decide each journey's latest version:
PREVIOUS may not hold a newer version of a journey than the sources (that build would be a rollback in
disguise).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from journeydsl.compile.plan import build_index
from journeydsl.runtime.bundle import INDEX, MANIFEST, SIGNATURES, Bundle, canonical_json, manifest_revision, sha256_hex
from journeydsl.runtime.rollout import latest_versions


class KeepError(Exception):
    """PREVIOUS cannot be carried over (it holds a newer version than the sources, or a migration into a newer
    version does not fit the old version's plan)."""


def plan_path(journey: str, version: int) -> str:
    return f"journeys/{journey}/{version}/plan.json"


def migration_problems(new_plan: Mapping[str, Any], old_plan: Mapping[str, Any]) -> list[str]:
    """What is wrong with `new_plan`'s migration from `old_plan`'s version, checked against that plan: sources and
    kept steps it does not have, and its steps where instances wait (`wait`, `sleep`) that are neither moved nor
    kept. The checker says the same (JD112, JD113) when the project holds the old version's source; a bundle's plan
    is the proof when it does not. Empty when `new_plan` does not migrate from that version."""
    old_version = old_plan["version"]
    where = f"{new_plan['journey']} v{new_plan['version']} (migrate from {old_version})"
    old_steps = [step["name"] for step in old_plan["steps"]]
    problems: list[str] = []
    for migration in new_plan.get("migrations") or []:
        if migration["from"] != old_version:
            continue
        named = [*migration["moves"], *migration["keep"]]
        for name in dict.fromkeys(named):
            if name not in old_steps:
                problems.append(f"{where}: `{name}` is not a step of v{old_version}")
        for step in old_plan["steps"]:
            if step["flow"]["kind"] in WAITING_KINDS and step["name"] not in named:
                waiting = f"`{step['name']}` of v{old_version}"
                problems.append(f"{where}: instances can wait at {waiting}, which is neither moved nor kept")
    return problems


# Flow kinds where an instance stays between events: the steps a migration must move or keep.
WAITING_KINDS = ("wait", "sleep")


def keep_versions(files: dict[str, bytes], previous: Bundle) -> tuple[dict[str, bytes], list[tuple[str, int]]]:
    """`files` (a compiled, unsigned bundle) with PREVIOUS's versions the sources lack; and which were kept.

    Every migration of the result whose old version the result holds (from PREVIOUS or the sources) must fit that
    version's plan (`migration_problems`); KeepError lists what does not."""
    manifest: dict[str, Any] = json.loads(files[MANIFEST])
    built = {(str(entry["id"]), int(entry["version"])) for entry in manifest["journeys"]}
    latest = latest_versions(built)
    carried = sorted(key for key in previous.plans if key not in built)
    newer = [f"{j} v{v} (the sources hold v{latest[j]})" for j, v in carried if j in latest and v > latest[j]]
    if newer:
        raise KeepError(f"the previous bundle holds newer versions than the sources: {', '.join(newer)}")
    final: dict[tuple[str, int], Mapping[str, Any]] = {key: json.loads(files[plan_path(*key)]) for key in built}
    final.update({key: previous.plans[key] for key in carried})
    problems = [
        problem
        for (journey, version) in sorted(built)
        for migration in final[(journey, version)].get("migrations") or []
        if (journey, migration["from"]) in final
        for problem in migration_problems(final[(journey, version)], final[(journey, migration["from"])])
    ]
    if problems:
        raise KeepError("a migration does not fit the version it comes from:\n  " + "\n  ".join(problems))
    if not carried:
        return files, []
    out = {name: data for name, data in files.items() if name not in (MANIFEST, SIGNATURES)}
    recorded = {(str(e["id"]), int(e["version"])): e for e in previous.manifest.get("journeys") or []}
    journeys = list(manifest["journeys"])
    for journey, version in carried:
        out[plan_path(journey, version)] = previous.files[plan_path(journey, version)]
        journeys.append(recorded.get((journey, version), {"id": journey, "version": version}))
    for name, data in previous.files.items():
        if name.startswith("templates/") and name not in out:
            out[name] = data
    plans = [json.loads(out[plan_path(j, v)]) for j, v in sorted({*built, *carried})]
    out[INDEX] = canonical_json(build_index(plans))
    manifest["journeys"] = sorted(journeys, key=lambda e: (e["id"], e["version"]))
    manifest["files"] = {name: sha256_hex(data) for name, data in sorted(out.items())}
    manifest["revision"] = manifest_revision(manifest)
    out[MANIFEST] = canonical_json(manifest)
    return dict(sorted(out.items())), carried
