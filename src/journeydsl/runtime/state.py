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


# --------------------------------------------------------------------------- the contact policy's part of "c"
# A customer's cap counts ("c") hold, besides each journey's `journey|channel` send times, what a schema's contact
# policy keeps (issue 19) under keys that begin with "@" (no journey name does): the shared sends of a capped
# channel, `@schema|channel` -> [[time, journey], ...] in time order, and the sends still waiting for their
# competitors, OFFERS -> [offer, ...]. Kept in "c" so that every store holds them as it holds the cap counts.

OFFERS: Final = "@offers"
OFFER_DUE: Final = 0  # when the offer is decided: its send time + the policy's settle (a timer of the customer)
OFFER_AT: Final = 1  # the send time (the record's `at`)
OFFER_RANK: Final = 2  # the journey's place in the policy's priority
OFFER_JOURNEY: Final = 3
OFFER_SCHEMA: Final = 4
OFFER_CHANNEL: Final = 5
OFFER_CAP: Final = 6  # the journey's own cap slot the send was counted in, or None
OFFER_RECORD: Final = 7  # the record the send gives if it wins (its key fixed when the step ran)
OFFER_SLOTS: Final = 8

Offer = list[Any]


def policy_state_problem(key: str, value: Any) -> str | None:
    """What is wrong with a policy entry ("@…") of a customer's cap counts, or None (for the stores' checks)."""
    if type(value) is not list:
        return f"has {key!r} of type {type(value).__name__}, not a list"
    if key == OFFERS:
        for offer in value:
            if not (
                type(offer) is list
                and len(offer) == OFFER_SLOTS
                and type(offer[OFFER_DUE]) in _NUMBERS
                and type(offer[OFFER_AT]) in _NUMBERS
                and type(offer[OFFER_RANK]) is int
                and all(type(offer[i]) is str for i in (OFFER_JOURNEY, OFFER_SCHEMA, OFFER_CHANNEL))
                and (offer[OFFER_CAP] is None or type(offer[OFFER_CAP]) is str)
                and type(offer[OFFER_RECORD]) is dict
            ):
                return (
                    f"has a waiting send in {key!r} that is not [due, at, rank, journey, schema, channel, cap, record]"
                )
        return None
    for pair in value:
        if not (type(pair) is list and len(pair) == 2 and type(pair[0]) in _NUMBERS and type(pair[1]) is str):
            return f"has shared sends {key!r} that are not [time, journey] pairs"
    return None


_NUMBERS: Final = (int, float)


def next_due(customer: dict[str, Any]) -> float | None:
    """The customer's earliest pending timer (what a store indexes it by), or None: an instance's timer, or the
    moment the earliest send waiting under a contact policy is decided."""
    due: float | None = None
    for inst in customer["i"].values():
        timer = inst[TIMER]
        if timer is not None and inst[ACTIVE] and (due is None or timer < due):
            due = timer
    offers = customer["c"].get(OFFERS)
    if offers:
        for offer in offers:
            settles = offer[OFFER_DUE]
            if due is None or settles < due:
                due = settles
    return due
