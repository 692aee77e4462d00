"""The runtime: runs compiled bundles on customer events (SPEC section 8).

It reads only the bundle format (docs/bundle-format.md) and imports nothing from the front end
(lark, yaml, graphviz, click, or journeydsl.syntax/check/compile/render).
"""

from __future__ import annotations

from importlib.machinery import EXTENSION_SUFFIXES

from journeydsl.runtime import engine as _engine
from journeydsl.runtime.engine import Engine, EngineError, Event, assign_bucket
from journeydsl.runtime.expr import ExprError, PlanError
from journeydsl.runtime.store import Store, StoreError
from journeydsl.runtime.store_memory import MemoryStore
from journeydsl.runtime.store_sqlite import SqliteStore
from journeydsl.runtime.stores import open_store

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
    "compiled",
    "open_store",
]


def compiled() -> bool:
    """Whether the engine runs compiled by mypyc (a wheel built with `make compiled`) or as plain Python."""
    return str(_engine.__file__).endswith(tuple(EXTENSION_SUFFIXES))
