"""The per-instance state record: a plain list (small in memory, JSON as it is), read by index.

A list of 14 slots costs about a third of a dict with the same fields, which matters with hundreds of
thousands of active instances; the names below keep the engine readable.
"""

from __future__ import annotations

from typing import Any

ID = 0  # "customer/journey[/key]/N"
JOURNEY = 1
VERSION = 2
KEY = 3  # the instance key as text, or None
NUMBER = 4  # the customer's entry count into this journey (slot)
ACTIVE = 5  # 1 while running, 0 once ended
STEP = 6  # the current (or last) step id
ENTERED = 7  # entry time, epoch seconds
TIMER = 8  # the due time of the pending timer, or None
SEQ = 9  # the next record sequence number
EVENT = 10  # the current event (the one `event.*` reads), None once ended
VARIANT = 11  # the latest experiment variant (journey.variant), or None
VARIANTS = 12  # {experiment: variant} or None
GOALS = 13  # [goal names counted] or None

Instance = list[Any]


def new_instance(ident: str, journey: str, version: int, key: str | None, number: int, entered: float,
                 event: dict[str, Any]) -> Instance:
    return [ident, journey, version, key, number, 1, None, entered, None, 0, event, None, None, None]
