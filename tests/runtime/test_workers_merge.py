"""The parent's merge of `run --workers` (workers.Merger): whatever chunks the workers send their entries in, and
whatever they say they have sent through, the batches it hands out are one process's order, each entry once."""

from __future__ import annotations

import heapq
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.runtime.workers import DEAD, KEY, LINE_DONE, OWN, TIMERS, Entry, Key, Merger


@st.composite
def streams(draw: Any) -> list[list[Entry]]:
    """Each worker's entries in its own key order: the timers it fires at a line (several firings of one customer
    at one due time among them), then the line's own records and dead letters when it owns the line; and the
    firings of the final --until advance, one line past the last."""
    workers = draw(st.integers(1, 4))
    lines = draw(st.integers(0, 30))
    out: list[list[Entry]] = [[] for _ in range(workers)]
    for line in range(1, lines + 2):
        owner = draw(st.integers(0, workers - 1))
        for worker in range(workers):
            firings = draw(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2)), max_size=3))
            for due, customer in sorted(firings):  # a customer belongs to one worker: its id says which
                out[worker].append((line, TIMERS, float(due), f"w{worker}c{customer}", f"t{line}.{worker}".encode()))
        if line <= lines:
            if draw(st.booleans()):
                out[owner].append((line, OWN, 0.0, "", f"o{line}".encode()))
            if draw(st.integers(0, 4)) == 0:
                out[owner].append((line, DEAD, 0.0, "", ("reason", None, None, b"line")))
    return out


def chunked(entries: list[Entry], cuts: list[int], line_ends: list[bool]) -> list[tuple[Key, list[Entry], int]]:
    """A worker's entries as the chunks it sends, with the key each says it has sent through: its last entry's,
    or its last line's end once nothing more of that line can come (the next entry is on a later line)."""
    chunks: list[tuple[Key, list[Entry], int]] = []
    start = 0
    for cut, line_end in zip(sorted(set(cuts)), line_ends, strict=False):
        piece = entries[start:cut]
        if not piece:
            continue
        through: Key = KEY(piece[-1])
        if line_end and (cut == len(entries) or entries[cut][0] > piece[-1][0]):
            through = (piece[-1][0], LINE_DONE, 0.0, "")
        chunks.append((through, piece, sum(1 for e in piece if e[1] == DEAD)))
        start = cut
    rest = entries[start:]
    if rest:
        chunks.append((KEY(rest[-1]), rest, sum(1 for e in rest if e[1] == DEAD)))
    return chunks


@settings(max_examples=200, deadline=None)
@given(streams(), st.data())
def test_the_merge_is_one_process_s_order_whatever_the_chunks(workers: list[list[Entry]], data: Any) -> None:
    sent = []
    for entries in workers:
        cuts = data.draw(st.lists(st.integers(0, len(entries)), max_size=6))
        ends = data.draw(st.lists(st.booleans(), min_size=len(cuts), max_size=len(cuts)))
        sent.append(chunked(entries, cuts, ends))
    merger = Merger(len(workers))
    merged: list[Entry] = []
    position = [0] * len(workers)
    while (lagging := merger.lagging()) is not None:
        if position[lagging] < len(sent[lagging]):
            merger.add(lagging, *sent[lagging][position[lagging]])
            position[lagging] += 1
        else:
            merger.finish(lagging)
        batch = merger.take()
        assert batch == sorted(batch, key=KEY)
        merged += batch
    # heapq.merge keeps each worker's entries with equal keys in the order it made them (a sorted() of all would
    # too, as no two workers make the same key).
    assert merged == list(heapq.merge(*workers, key=KEY))
    assert merger.dead == sum(1 for entry in merged if entry[1] == DEAD)  # counted in; the run counts them out
    assert all(not buffer for buffer in merger.buffers)


def test_nothing_past_a_lagging_worker_s_horizon_is_handed_out() -> None:
    merger = Merger(2)
    merger.add(0, (5, LINE_DONE, 0.0, ""), [(3, OWN, 0.0, "", b"a"), (5, TIMERS, 1.0, "c", b"b")])
    assert merger.take() == [] and merger.lagging() == 1  # worker 1 has said nothing yet: line 3 may be its
    merger.add(1, (4, TIMERS, 2.0, "d"), [(3, TIMERS, 0.0, "d", b"c"), (4, TIMERS, 2.0, "d", b"d")])
    assert [entry[4] for entry in merger.take()] == [b"c", b"a", b"d"]
    assert merger.lagging() == 1
    merger.finish(1)
    assert [entry[4] for entry in merger.take()] == [b"b"]
    assert merger.lagging() == 0
    merger.finish(0)
    assert merger.lagging() is None and merger.take() == []
