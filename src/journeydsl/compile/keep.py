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
from typing import Any

from journeydsl.compile.plan import build_index
from journeydsl.runtime.bundle import INDEX, MANIFEST, SIGNATURES, Bundle, canonical_json, manifest_revision, sha256_hex


class KeepError(Exception):
    """PREVIOUS cannot be carried over (it holds a newer version than the sources)."""


def plan_path(journey: str, version: int) -> str:
    return f"journeys/{journey}/{version}/plan.json"


def keep_versions(files: dict[str, bytes], previous: Bundle) -> tuple[dict[str, bytes], list[tuple[str, int]]]:
    """`files` (a compiled, unsigned bundle) with PREVIOUS's versions the sources lack; and which were kept."""
    manifest: dict[str, Any] = json.loads(files[MANIFEST])
    built = {(str(entry["id"]), int(entry["version"])) for entry in manifest["journeys"]}
    latest: dict[str, int] = {}
    for journey, version in built:
        latest[journey] = max(version, latest.get(journey, version))
    carried = sorted(key for key in previous.plans if key not in built)
    newer = [f"{j} v{v} (the sources hold v{latest[j]})" for j, v in carried if j in latest and v > latest[j]]
    if newer:
        raise KeepError(f"the previous bundle holds newer versions than the sources: {', '.join(newer)}")
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
