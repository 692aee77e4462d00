"""Where the Flink job's records go: the service's PostgreSQL outbox, or JSONL files in a folder.

PostgreSQL outbox (`outbox_sink`): the rows `serve` writes (`runtime/store_postgres.py`: `seq`, `key`, `record`
as the JSON line `run` prints), so `journeydsl deliver --store postgresql://...` relays them unchanged. Rows go in
with `INSERT ... ON CONFLICT (key) DO NOTHING`: after a recovery Flink replays the events since the last
checkpoint and the step core gives the same records with the same keys, which then add nothing.

At least once, batched, with no checkpoint hook: PyFlink's Python functions get no call when a checkpoint is taken,
so a buffer in the function's memory would be lost if a checkpoint completed while it held records (they are
before the barrier: never replayed). The buffer is Flink keyed state instead (`ListState`, keyed by a bucket of the
customer id), checkpointed with everything else: a record is in the buffer or in PostgreSQL at every checkpoint.
A bucket is written (one INSERT, its records in order) when it holds `batch` records, at the next watermark (so
the end of a bounded input, the final watermark, writes everything), or `flush_after` seconds after its first
record on the wall clock (live input whose watermark stalls). A customer's records stay in one bucket, in order,
so the outbox keeps each customer's order (`seq` from a sequence, in the order of the batch).

The outbox gets two things the service's schema does not have (created here, idempotently, under an advisory lock
so parallel sinks do not race): a unique index on `key` (what ON CONFLICT needs) and the sequence `outbox_seq` for
`seq`, started past the largest `seq` already there.

JSONL files (`jsonl_sink`): Flink's FileSink, part files `records-*.jsonl` in a folder, committed on checkpoints
(exactly once: a file appears only once the records in it are covered by a completed checkpoint; the final
checkpoint at the end of a bounded input commits the rest). It needs checkpointing enabled.

Where it sits: the flink layer; the PostgreSQL side reuses the runtime's store (its URL rules, schema, connection).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Final

import psycopg
from pyflink.common import Types  # type: ignore[import-untyped]
from pyflink.common.serialization import Encoder  # type: ignore[import-untyped]
from pyflink.datastream import KeyedProcessFunction, RuntimeContext  # type: ignore[import-untyped]
from pyflink.datastream.connectors.file_system import (  # type: ignore[import-untyped]
    BucketAssigner,
    FileSink,
    OutputFileConfig,
    RollingPolicy,
)
from pyflink.datastream.state import ListStateDescriptor  # type: ignore[import-untyped]

from journeydsl.runtime.jsonio import loads
from journeydsl.runtime.store import StoreError
from journeydsl.runtime.store_postgres import PostgresStore, connect, lock_key, parse_url

DEFAULT_BATCH: Final = 500  # records per INSERT at most
DEFAULT_FLUSH_AFTER: Final = 1.0  # seconds a record may wait on the wall clock when the watermark stalls
DEFAULT_BUCKETS: Final = 64  # buffer keys: enough to spread over the job's parallelism, few enough to fill batches
SEQUENCE: Final = "outbox_seq"

# Rows of one batch in order: the sequence is drawn in the ordinality's order (the select list is evaluated after
# the sort), so a customer's records get increasing `seq`, the order relays claim them in.
INSERT: Final = (
    f"INSERT INTO outbox (seq, key, record) SELECT nextval('{SEQUENCE}'), u.key, u.record"
    " FROM unnest(%s::text[], %s::bytea[]) WITH ORDINALITY AS u(key, record, n) ORDER BY u.n"
    " ON CONFLICT (key) DO NOTHING"
)
SETUP: Final = (
    "CREATE UNIQUE INDEX IF NOT EXISTS outbox_key ON outbox (key)",
    f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
    # Past the rows already there (a schema `serve` wrote before, or an earlier job), never backwards.
    f"SELECT setval('{SEQUENCE}', greatest((SELECT coalesce(max(seq), 0) FROM outbox),"
    f" (SELECT last_value FROM {SEQUENCE}), 1))",
)


def prepare_outbox(url: str) -> str:
    """Create (or migrate) the store's schema and the outbox's key index and sequence; the store's display name.

    The store is opened in mode "write", so a schema another process owns (a `serve` running on it) is refused
    with StoreBusyError: the job and `serve` would both write `seq`. StoreError for a bad URL or server."""
    store = PostgresStore.from_url(url, mode="write")
    name = store.name
    store.close()
    settings = parse_url(url)
    db = connect(settings)
    try:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(settings.schema) ^ 1,))
            for statement in SETUP:
                db.execute(statement)
    except psycopg.IntegrityError:
        raise StoreError(
            f"the outbox of {name} holds two records with one key: the Flink sink needs keys to be unique"
        ) from None
    except psycopg.Error as err:
        raise StoreError(f"cannot prepare the outbox of {name}: {err}") from None
    finally:
        db.close()
    return name


def bucket(line: str, buckets: int = DEFAULT_BUCKETS) -> int:
    """The buffer key of a record line: a stable hash of its customer id, so a customer's records keep their order."""
    customer = loads(line).get("customer_id")
    return zlib.crc32(str(customer).encode()) % buckets


class OutboxWriter(KeyedProcessFunction):  # type: ignore[misc]  # PyFlink ships no type hints
    """Keyed by bucket: buffers record lines in ListState and writes a bucket's lines in one INSERT."""

    def __init__(self, url: str, batch: int = DEFAULT_BATCH, flush_after: float = DEFAULT_FLUSH_AFTER) -> None:
        self._url = url
        self._batch = batch
        self._flush_after_ms = max(1, int(flush_after * 1000))
        self._db: psycopg.Connection[Any] | None = None
        self._buffer: Any = None
        # Records per bucket since its last write, in memory only: after a restore the count starts again at 0
        # while the state holds what was restored (a larger batch, never a lost record).
        self._counts: dict[int, int] = {}

    def open(self, runtime_context: RuntimeContext) -> None:
        self._db = connect(parse_url(self._url))
        self._buffer = runtime_context.get_list_state(ListStateDescriptor("outbox", Types.STRING()))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def process_element(self, value: str, ctx: Any) -> Iterator[Any]:
        key = int(ctx.get_current_key())
        self._buffer.add(value)
        count = self._counts.get(key, 0) + 1
        if count >= self._batch:
            self._write(key)
        else:
            self._counts[key] = count
            if count == 1:
                timers = ctx.timer_service()
                timers.register_event_time_timer(timers.current_watermark() + 1)
                timers.register_processing_time_timer(timers.current_processing_time() + self._flush_after_ms)
        return iter(())

    def on_timer(self, timestamp: int, ctx: Any) -> Iterator[Any]:
        self._write(int(ctx.get_current_key()))
        return iter(())

    def _write(self, key: int) -> None:
        lines = list(self._buffer.get() or ())
        self._counts.pop(key, None)
        if not lines:
            return
        keys = [str(loads(line).get("key")) for line in lines]
        assert self._db is not None
        # Autocommit: the INSERT is its own transaction, committed before the state forgets the lines. A failure
        # raises: Flink restarts the job from its last checkpoint, and the lines are written again then.
        self._db.execute(INSERT, (keys, [line.encode() for line in lines]))
        self._buffer.clear()


def outbox_sink(
    records: Any,
    url: str,
    *,
    batch: int = DEFAULT_BATCH,
    flush_after: float = DEFAULT_FLUSH_AFTER,
    buckets: int = DEFAULT_BUCKETS,
    name: str = "journeydsl",
) -> Any:
    """Write a stream of record lines to the PostgreSQL outbox at `url` (call `prepare_outbox(url)` first)."""
    if batch < 1 or buckets < 1:
        raise ValueError(f"batch and buckets must be at least 1, not {batch} and {buckets}")
    return (
        records.key_by(lambda line: bucket(line, buckets), key_type=Types.INT())
        .process(OutboxWriter(url, batch, flush_after))
        .name(f"{name}: PostgreSQL outbox")
        .uid(f"{name}-outbox")
    )


def jsonl_sink(records: Any, directory: str, *, prefix: str = "records", name: str = "journeydsl") -> Any:
    """Write a stream of JSON lines to part files `{prefix}-*.jsonl` under `directory` (committed on checkpoints)."""
    sink = (
        FileSink.for_row_format(directory, Encoder.simple_string_encoder("UTF-8"))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())  # files in the folder, not dated subfolders
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix(prefix).with_part_suffix(".jsonl").build())
        .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy())
        .build()
    )
    return records.sink_to(sink).name(f"{name}: {prefix} files").uid(f"{name}-{prefix}-files")
