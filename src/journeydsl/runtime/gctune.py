"""Garbage-collector and allocator settings for long runs (`journeydsl run`, the benchmark).

The engine's state is many small long-lived dicts and lists with no reference cycles, and every
event allocates a few hundred more short-lived objects; with CPython's default thresholds the
collector keeps re-scanning the growing state. Raising the thresholds cut the engine's CPU time by
about a quarter on the example workload. A library must not change a process-wide setting behind
its caller's back, so `Engine` never calls this; the CLI and the benchmark do.

glibc's malloc gives the top of its heap back to the system as soon as 128 KiB of it is free (and
raises that bar only after large blocks were freed), and a run frees such a top all the time: each
batch of encoded records, orjson's growing buffers, rendered bodies. Every page it gave back faults
again when touched: on the example journeys' stream about 46,000 of the run's 61,000 page faults, a
fifth of its CPU time (docs/performance.md, "Issue 18, item 4"). A fixed trim threshold keeps up to
TRIM_THRESHOLD of free heap; the peak resident size is what it was (it counts the pages once).
Setting it also fixes at 128 KiB the bar above which a block gets a mapping of its own, so that bar is raised
too (MMAP_THRESHOLD): `run --workers` moves every record through blocks of a few hundred KiB (pipe messages,
merged batches), and its parent faulted 60,000 fresh pages on the 220,000-event stream, 0.15 s of a core.

At exit the interpreter collects once more, over every object left: the whole engine state (7% of the
run's CPU time on that stream). By then the records are written and the stores closed, and the state
holds no cycles to break, so `relax_gc` freezes what exists at exit: the collection passes it over.
Freeing the state object by object when `run` returns costs as much again (0.2 s of 4.3 s on the
220,000-event stream, 123,000 customers): `leave_to_exit` keeps it for the system to take back at
once when the process ends, as `run --workers`' workers do with `os._exit`.
"""

from __future__ import annotations

import atexit
import gc

THRESHOLDS = (100_000, 50, 1000)
# mallopt(3) parameters and the values set: keep up to 64 MiB of free heap top, grow the heap 16 MiB at a time,
# give a block a mapping of its own only from 32 MiB (the most glibc takes on 64-bit).
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
TRIM_THRESHOLD = 64 << 20
TOP_PAD = 16 << 20
MMAP_THRESHOLD = 32 << 20


def relax_gc() -> tuple[int, int, int]:
    """Raise the collector's thresholds, and glibc malloc's trim threshold where there is one, and leave what
    exists at exit out of the last collection; returns the collector's previous thresholds."""
    previous = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    relax_malloc()
    atexit.unregister(gc.freeze)  # once, however often it is called
    atexit.register(gc.freeze)
    return previous


def relax_malloc() -> bool:
    """glibc malloc: keep freed heap instead of giving it back at once (see the module's docstring). False where
    the C library has no `mallopt` (musl, macOS, Windows) or refuses: nothing changes there."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (AttributeError, OSError, TypeError):  # no such symbol, or no C library to open by that name
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD), (M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return all([bool(mallopt(option, value)) for option, value in settings])


# What `leave_to_exit` keeps: itself and one value. A cycle, so that clearing this module at exit does not free it;
# and, once `relax_gc` has frozen the collector at exit, the last collection does not break it.
_LEFT: list[object] = []


def leave_to_exit(value: object) -> None:
    """Keep `value`, which the process no longer needs, until the process ends, and do not free it then: the system
    takes its pages back at once (see the module's docstring). Only after `relax_gc`: without its freeze the last
    collection frees the value object by object. Only the latest value is kept: a process that calls `run` again
    and again (the tests) frees each one when the next comes."""
    _LEFT[:] = [_LEFT, value]
