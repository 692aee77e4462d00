"""Where the report's inputs come from: a store URL (transitions, action records) and the plans.

The store keeps what happened, the bundle keeps what the journeys are (step order, channel
costs, experiments). The plans are found, in this order (docs/decisions.md):
1. `--bundle B` (a .jbundle file or a bundle directory);
2. the store, when it offers `plans()` (a store that records the bundle it ran);
3. the only `*.jbundle` beside a `sqlite:///` store's file (the layout `make demo` writes);
otherwise the report still gives every count, with costs and ROI unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeydsl.analytics.report import PlanKey
from journeydsl.runtime.plan_format import PlanJson


class SourceError(Exception):
    """A store or bundle that cannot be read; the message is meant for the user."""


@dataclass
class ReportInput:
    transitions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    plans: dict[PlanKey, PlanJson] = field(default_factory=dict)
    plans_from: str | None = None  # where the plans came from, for the report's header


def open_for_report(store_url: str) -> Any:
    """The store, opened as report and overlay read it; SourceError for a missing, foreign or unreadable one."""
    from journeydsl.runtime.shards import SHARDS_SUFFIX
    from journeydsl.runtime.store import StoreError
    from journeydsl.runtime.stores import open_store

    if store_url.startswith("sqlite:///"):
        path = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0])
        # Opening would create an empty store: say what is wrong instead (the store refuses a sharded one's path).
        if not path.exists() and not Path(f"{path}{SHARDS_SUFFIX}").exists():
            raise SourceError(f"no store at {path} (run events into it first with `journeydsl run`)")
    try:
        store = open_store(store_url)
    except StoreError as err:
        raise SourceError(str(err)) from err
    except Exception as err:  # e.g. sqlite3.DatabaseError on a file that is not a store
        raise SourceError(f"cannot open the store {store_url}: {err}") from err
    return store


def read_store(store_url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    from journeydsl.runtime.store import StoreError

    store = open_for_report(store_url)
    try:
        return list(store.transitions()), list(store.actions()), store
    except StoreError as err:  # a damaged log is found while it is read
        raise SourceError(str(err)) from err
    finally:
        store.close()


def load_plans(bundle: str | Path | Mapping[str, bytes]) -> dict[PlanKey, PlanJson]:
    from journeydsl.runtime.bundle import BundleError, load_bundle

    try:
        loaded = load_bundle(bundle)
    except BundleError as err:
        raise SourceError(f"cannot read the bundle: {err}") from err
    except OSError as err:
        raise SourceError(f"cannot read the bundle {bundle}: {err.strerror or err}") from err
    return {(str(journey), int(version)): loaded.plan(journey, version) for journey, version in loaded.plans}


def bundle_beside(store_url: str) -> Path | None:
    if not store_url.startswith("sqlite:///"):
        return None
    folder = Path(store_url.removeprefix("sqlite:///").split("?", 1)[0]).parent
    bundles = sorted(folder.glob("*.jbundle"))
    return bundles[0] if len(bundles) == 1 else None


def plans_for(store_url: str, store: Any, bundle: str | Path | None) -> tuple[dict[PlanKey, PlanJson], str | None]:
    """The plans to report with, and where they came from (None: not found)."""
    if bundle is not None:
        return load_plans(bundle), str(bundle)
    offered = getattr(store, "plans", None)
    if callable(offered):
        plans = offered()
        if plans:  # the plans of the bundles the store ran, each checked when its bundle loaded
            return {(str(k[0]), int(k[1])): v for k, v in plans.items()}, "the store"
    beside = bundle_beside(store_url)
    if beside is not None:
        try:
            return load_plans(beside), f"{beside} (beside the store)"
        except SourceError:
            pass  # a stray file next to the store must not break the report; costs stay unknown
    return {}, None


def gather(store_url: str, bundle: str | Path | None = None) -> ReportInput:
    transitions, actions, store = read_store(store_url)
    found = ReportInput(transitions, actions)
    found.plans, found.plans_from = plans_for(store_url, store, bundle)
    return found


@dataclass
class StoreReport:
    report: dict[str, Any]
    plans: dict[PlanKey, PlanJson]
    plans_from: str | None


def gather_report(store_url: str, bundle: str | Path | None = None) -> StoreReport:
    """`journeydsl report`: the report from the store's aggregates (report_from_store), not from every record."""
    from journeydsl.analytics.report import report_from_store
    from journeydsl.runtime.store import StoreError

    store = open_for_report(store_url)
    try:
        plans, plans_from = plans_for(store_url, store, bundle)
        return StoreReport(report_from_store(store, plans), plans, plans_from)
    except StoreError as err:  # a damaged table is found while it is read
        raise SourceError(str(err)) from err
    finally:
        store.close()


def expectations_from_store(store_url: str, bundle: str | Path | None = None) -> dict[str, Any]:
    """Expected against actual for every journey version of a store (`journeydsl report`'s `expectations`,
    with `source`: the store and where the plans came from). Raises analytics.source.SourceError for a store or
    bundle that cannot be read."""
    found = gather_report(store_url, bundle)
    return {"source": {"store": store_url, "plans_from": found.plans_from}, **found.report["expectations"]}
