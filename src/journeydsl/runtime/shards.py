"""The layout of a SQLite store that `run --workers N` split into shards (runtime/workers.py makes it): one file
per shard beside the named path, and the shard count in `PATH.shards`. Apart from the workers, so the SQLite store
can refuse its named path without importing the sharded run."""

from __future__ import annotations

import os
from pathlib import Path

from journeydsl.runtime.jsonio import DecodeError, dumps, loads
from journeydsl.runtime.store import StoreError

SHARDS_SUFFIX = ".shards"  # next to a sharded SQLite store's named path: its shard count


def shard_url(url: str, index: int, shards: int) -> str:
    """The URL of shard `index` (0-based) of `shards`: the named file with `.shardI-of-N` appended, same query."""
    base, question, query = url.partition("?")
    return f"{base}.shard{index + 1}-of-{shards}{question}{query}"


def shard_urls(url: str) -> tuple[str, ...]:
    """The URLs of every shard of the store at `url` when it is a sharded SQLite store, else `url` alone."""
    if not url.startswith("sqlite:///"):
        return (url,)
    path = url.removeprefix("sqlite:///").partition("?")[0]  # as store_sqlite.parse_url takes it; it checks the rest
    count = recorded_shards(path) if path else None
    if count is None:
        return (url,)
    return tuple(shard_url(url, index, count) for index in range(count))


def recorded_shards(path: str) -> int | None:
    """The shard count a sharded SQLite store at `path` records, or None when it is not sharded; StoreError when
    the record is unreadable."""
    record = Path(path + SHARDS_SUFFIX)
    try:
        text = record.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise StoreError(f"cannot read {record}: {err.strerror or err}") from err
    try:
        value = loads(text)
        count = value["shards"] if type(value) is dict else None
    except (DecodeError, KeyError):
        count = None
    if type(count) is not int or count < 2:
        raise StoreError(f'{record} does not record a shard count ({{"shards": N}} with N >= 2): it is damaged')
    return count


def sharded_store_error(path: str, shards: int) -> str:
    """What to say when a command opens the named path of a sharded store as one store."""
    return (
        f"the store {path} is split into {shards} shards by `journeydsl run --workers {shards}` "
        f"({path}.shard1-of-{shards} ... {path}.shard{shards}-of-{shards}): `run` takes it with --workers {shards}, "
        f"`status` and `plan --store` read every shard; report, replay and serve read one store at a time, so name "
        f"one shard, e.g. sqlite:///{path}.shard1-of-{shards}"
    )


def write_record(path: str, shards: int) -> None:
    """Record a new sharded store's shard count (written whole, then renamed into place)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.tmp")
    try:
        partial.write_bytes(dumps({"shards": shards}) + b"\n")
        os.replace(partial, target)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise StoreError(f"cannot write {target}: {err.strerror or err}") from err
