"""The memory store's timer index (buckets of due times under a heap of bucket numbers) against a model: every
customer's current due time, popped in (due time, customer id) order, whatever the order of saves, pops and peeks.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.runtime import MemoryStore
from journeydsl.runtime.store_memory import DUE_BUCKET

IDS = st.sampled_from(["a", "b", "c", "d", "e", "Z", "é", "a2"])
# Due times within a few buckets, on and around their edges, ties included, far ahead and far behind too.
TIMES = st.one_of(
    st.sampled_from([0.0, 1.0, DUE_BUCKET - 0.5, DUE_BUCKET, DUE_BUCKET + 1, 3 * DUE_BUCKET, -DUE_BUCKET, 1e12]),
    st.floats(min_value=-2 * DUE_BUCKET, max_value=5 * DUE_BUCKET, allow_nan=False),
)
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("save"), IDS, st.one_of(st.none(), TIMES)),
        st.tuples(st.just("pop"), st.one_of(TIMES, st.just(math.inf))),
        st.tuples(st.just("peek")),
    ),
    max_size=80,
)


def model_pop(due: dict[str, float], upto: float) -> tuple[float, str] | None:
    found = min(((when, cid) for cid, when in due.items() if when <= upto), default=None)
    if found is not None:
        del due[found[1]]
    return found


@settings(max_examples=400, deadline=None)
@given(OPS)
def test_the_timer_index_pops_what_a_model_pops(ops: list[tuple[Any, ...]]) -> None:
    store = MemoryStore(keep_log=False)
    model: dict[str, float] = {}
    for op in ops:
        if op[0] == "save":
            _, cid, due = op
            store.save(cid, {"p": {}, "i": {}, "c": {}}, due, False)
            if due is None:
                model.pop(cid, None)
            else:
                model[cid] = due
        elif op[0] == "pop":
            assert store.pop_due(op[1]) == model_pop(model, op[1])
        else:
            # A lower bound of the earliest due time (stale entries may lie below it), inf when nothing is left.
            earliest = min(model.values(), default=math.inf)
            assert store.peek_due() <= earliest
            if not model:
                assert store.pop_due(math.inf) is None
    drained = []
    while (due := store.pop_due(math.inf)) is not None:
        drained.append(due)
    assert drained == sorted((when, cid) for cid, when in model.items())
    assert store.peek_due() == math.inf


def test_a_timer_set_while_its_bucket_is_read_comes_in_order() -> None:
    store = MemoryStore(keep_log=False)
    for number, cid in enumerate(["a", "b", "c"]):
        store.save(cid, {}, 10.0 * (number + 1), False)
    assert store.pop_due(10.0) == (10.0, "a")
    store.save("d", {}, 15.0, False)  # into the open bucket, between b and c
    store.save("e", {}, 5.0, False)  # before everything left
    assert [store.pop_due(100.0) for _ in range(5)] == [(5.0, "e"), (15.0, "d"), (20.0, "b"), (30.0, "c"), None]
