"""The table of stores by URL scheme, and `open_store`.

Where it sits: above store.py and every concrete store. store.py defines the interface and the registry the
concrete stores fill (`Store.schemes`); this module knows which module holds the store of each scheme and imports
it only when a URL asks for it, so `journeydsl run` on memory:// never loads sqlite3, and store.py imports no
concrete store (they import it); psycopg loads only for a postgresql:// URL. A new store is one new module plus
one line in STORE_MODULES.
"""

from __future__ import annotations

import importlib

from journeydsl.runtime.store import STORES, OpenMode, Store, StoreError

# scheme -> the module whose Store subclass names that scheme in `schemes`
STORE_MODULES: dict[str, str] = {
    "memory": "journeydsl.runtime.store_memory",
    "sqlite": "journeydsl.runtime.store_sqlite",
    "postgresql": "journeydsl.runtime.store_postgres",
    "postgres": "journeydsl.runtime.store_postgres",
}


def store_class(scheme: str) -> type[Store]:
    """The Store subclass that opens URLs of `scheme` (importing its module); StoreError for an unknown scheme."""
    module = STORE_MODULES.get(scheme)
    if module is None:
        raise StoreError(f"unknown store scheme {scheme!r} (known: {', '.join(STORE_MODULES)})")
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is None or module.startswith(err.name):
            raise  # the store module itself is missing: a broken install, not a missing driver
        # A driver a store needs (psycopg for postgresql://) is an optional install: say which, not a traceback.
        raise StoreError(
            f"the {scheme}:// store needs the Python package {err.name!r}, which is not installed here"
        ) from None
    found = STORES.get(scheme)
    if found is None:  # the table and the module disagree: a bug here, not a bad URL
        raise LookupError(f"{module} defines no Store with the scheme {scheme!r}")
    return found


def open_store(url: str | Store, batch: int | None = None, *, mode: OpenMode = "auto", wait: float = 0.0) -> Store:
    """`memory://`, `sqlite:///PATH[?batch=N&synchronous=normal|full]`,
    `postgresql://USER@HOST:PORT/DB[?batch=N&schema=NAME&cache=N&seen_retention=DURATION]` (store_postgres), or an
    already open Store.

    `mode` and `wait` apply to a durable store: see `OpenMode`; with mode "write", `wait` is how many seconds to
    wait for another process to release the store (`math.inf`: without bound) before raising StoreBusyError."""
    if isinstance(url, Store):
        return url
    scheme, colon, _ = url.partition(":")
    if not colon or scheme not in STORE_MODULES:
        raise StoreError(f"unknown store URL {url!r}: the known schemes are {', '.join(STORE_MODULES)}")
    return store_class(scheme).from_url(url, batch=batch, mode=mode, wait=wait)
