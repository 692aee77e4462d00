"""The runtime: runs compiled bundles on customer events (SPEC section 8).

It reads only the bundle format (docs/bundle-format.md) and imports nothing from the front end
(lark, yaml, graphviz, click, or journeydsl.syntax/check/compile/render).
"""

from __future__ import annotations

from journeydsl.runtime.engine import Engine, EngineError, Event, assign_bucket
from journeydsl.runtime.expr import ExprError, PlanError
from journeydsl.runtime.store import Store, StoreError, open_store
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.store_sqlite import SqliteStore

__all__ = [
    "Engine",
    "EngineError",
    "Event",
    "ExprError",
    "MemoryStore",
    "PlanError",
    "SqliteStore",
    "Store",
    "StoreError",
    "assign_bucket",
    "open_store",
]
