"""Journey analytics: reach, goals, cost, ROI and experiment significance from a store (SPEC 8.5)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from journeydsl.analytics.report import build_report, instance_of
from journeydsl.analytics.stats import ZTest, two_proportion_z_test

__all__ = [
    "ENTRY_NODE",
    "ZTest",
    "build_report",
    "overlay_counts",
    "overlay_counts_by_version",
    "overlay_from_transitions",
    "two_proportion_z_test",
]

# The diagram's entry-policy node (journeydsl.render.graph.ENTRY_ID): entries are edges from it.
ENTRY_NODE = "ENTRY"

StepCounts = dict[str, int]
EdgeCounts = dict[tuple[str, str], int]


def overlay_from_transitions(transitions: Iterable[Mapping[str, Any]]) -> dict[str, tuple[StepCounts, EdgeCounts]]:
    """Per journey (all versions together): distinct instances that reached each step, and how often
    each `(from, to)` transition was taken (entries count as `(ENTRY_NODE, entry step)`)."""
    reach: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    edges: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for row in transitions:
        journey, to_step = str(row.get("journey")), row.get("to_step")
        if to_step is None:
            continue
        reach[journey][str(to_step)].add(instance_of(row))
        from_step = row.get("from_step")
        edges[journey][(str(from_step) if from_step is not None else ENTRY_NODE, str(to_step))] += 1
    return {
        journey: ({step: len(ids) for step, ids in reach[journey].items()}, dict(edges[journey]))
        for journey in sorted(reach)
    }


def overlay_counts(store_url: str) -> dict[str, tuple[StepCounts, EdgeCounts]]:
    """`{journey: (step_counts, edge_counts)}` for `render --overlay STORE`."""
    from journeydsl.analytics.source import read_store

    transitions, _, _ = read_store(store_url)
    return overlay_from_transitions(transitions)


def overlay_counts_by_version(store_url: str) -> dict[tuple[str, int], tuple[StepCounts, EdgeCounts]]:
    """The same per `(journey, version)`, for diagrams of one version (`<journey>@<version>`)."""
    from journeydsl.analytics.source import read_store

    transitions, _, _ = read_store(store_url)
    by_version: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
    for row in transitions:
        by_version[(str(row.get("journey")), int(row.get("version") or 0))].append(row)
    return {key: overlay_from_transitions(rows)[key[0]] for key, rows in sorted(by_version.items())}
