"""Garbage-collector settings for long runs (`journeydsl run`, the benchmark).

The engine's state is many small long-lived dicts and lists with no reference cycles, and every
event allocates a few hundred more short-lived objects; with CPython's default thresholds the
collector keeps re-scanning the growing state. Raising the thresholds cut the engine's CPU time by
about a quarter on the example workload. A library must not change a process-wide setting behind
its caller's back, so `Engine` never calls this; the CLI and the benchmark do.
"""

from __future__ import annotations

import gc

THRESHOLDS = (100_000, 50, 1000)


def relax_gc() -> tuple[int, int, int]:
    """Raise the collector's thresholds; returns the previous ones."""
    previous = gc.get_threshold()
    gc.set_threshold(*THRESHOLDS)
    return previous
