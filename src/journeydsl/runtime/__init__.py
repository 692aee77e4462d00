"""The runtime: runs compiled bundles on customer events.

It reads only the bundle format (docs/bundle-format.md) and imports nothing from the front end
(lark, yaml, graphviz, click, or journeydsl.syntax/check/compile/render).
"""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from journeydsl.runtime.core import Core, EngineError, Event, StepResult, Timer, assign_bucket, step
    from journeydsl.runtime.engine import Engine
    from journeydsl.runtime.expr import ExprError, PlanError
    from journeydsl.runtime.store import Store, StoreError
    from journeydsl.runtime.store_memory import MemoryStore
    from journeydsl.runtime.store_sqlite import SqliteStore
    from journeydsl.runtime.stores import open_store

# name -> the module that defines it, imported on first use: the front end reads the plan format's limits from
# `runtime.plan_format`, and importing the package must not load the engine, the stores and Jinja for that.
_EXPORTS = {
    "Engine": "engine",
    "Core": "core",
    "EngineError": "core",
    "Event": "core",
    "StepResult": "core",
    "Timer": "core",
    "assign_bucket": "core",
    "step": "core",
    "ExprError": "expr",
    "PlanError": "expr",
    "Store": "store",
    "StoreError": "store",
    "MemoryStore": "store_memory",
    "SqliteStore": "store_sqlite",
    "open_store": "stores",
}

__all__ = [
    "Core",
    "Engine",
    "EngineError",
    "Event",
    "ExprError",
    "MemoryStore",
    "PlanError",
    "SqliteStore",
    "StepResult",
    "Store",
    "StoreError",
    "Timer",
    "assign_bucket",
    "compiled",
    "open_store",
    "step",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def compiled() -> bool:
    """Whether the engine runs compiled by mypyc (a wheel built with `make compiled`) or as plain Python."""
    engine = importlib.import_module(f"{__name__}.engine")
    return str(engine.__file__).endswith(tuple(EXTENSION_SUFFIXES))
