"""The per-instance state record: a plain list (small in memory, JSON as it is), read by index.

A list of 14 slots costs about a third of a dict with the same fields, which matters with hundreds of
thousands of active instances; the names below keep the engine readable. They are `Final`, so the compiled
build (docs/decisions.md) reads them as constants instead of looking them up in the module.
"""

from __future__ import annotations

from typing import Any, Final

JOURNEY: Final = 0
VERSION: Final = 1
KEY: Final = 2  # the instance key as text, or None
NUMBER: Final = 3  # the customer's entry count into this journey (slot)
ACTIVE: Final = 4  # 1 while running, 0 once ended
STEP: Final = 5  # the current (or last) step id
ENTERED: Final = 6  # entry time, epoch seconds
TIMER: Final = 7  # the due time of the pending timer, or None
SEQ: Final = 8  # the next record sequence number
EVENT: Final = 9  # the current event (the one `event.*` reads), None once ended
VARIANT: Final = 10  # the latest experiment variant (journey.variant), or None
VARIANTS: Final = 11  # {experiment: variant} or None
GOALS: Final = 12  # [goal names counted] or None
SINCE: Final = 13  # when the instance reached its current step (a wait takes only events from then on)
SLOTS: Final = 14

Instance = list[Any]


def new_instance(journey: str, version: int, key: str | None, number: int, event: dict[str, Any]) -> Instance:
    """An instance entered on `event`: its entry time is the event's `at` (epoch seconds), the same object, which
    the compiled build (docs/decisions.md) would otherwise box a second time."""
    at = event["at"]
    return [journey, version, key, number, 1, None, at, None, 0, event, None, None, None, at]


def upgrade(inst: Instance) -> None:
    """An instance written before SINCE existed: its step is taken to have begun at entry (the old behaviour)."""
    if len(inst) == SLOTS - 1:
        inst.append(inst[ENTERED])


def key_part(text: str) -> str:
    """`text` as one part of an instance id or record key: `%`, `/` and `:` (the separators) percent-encoded, so
    that no two customers or instance keys give the same key. Ids without them stay as they are."""
    if "/" in text or ":" in text or "%" in text:
        return text.replace("%", "%25").replace("/", "%2F").replace(":", "%3A")
    return text


def instance_id(customer_id: str, inst: Instance) -> str:
    """`customer/journey/N`, or `customer/journey/KEY/N` with an instance key (customer and key by `key_part`);
    derived, not stored (memory)."""
    if inst[KEY] is None:
        return f"{key_part(customer_id)}/{inst[JOURNEY]}/{inst[NUMBER]}"
    return f"{key_part(customer_id)}/{inst[JOURNEY]}/{key_part(inst[KEY])}/{inst[NUMBER]}"
