"""Hypothesis strategies for the runtime's records (as the stores log them), shared by the tests that fold them
into aggregates: the stores' aggregate tables (tests/runtime) and the report read from them (tests/analytics).
Values include the odd ones a record may carry (a boolean value, an empty goal, a status no sink gives)."""

from __future__ import annotations

from hypothesis import strategies as st

TEXT = st.sampled_from(["a", "b", "won", ""])
RECORDS = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["enter", "exit", "end", "goal", "send", "call", "set", "emit"]),
        "journey": st.sampled_from(["j", "k"]),
        "version": st.sampled_from([1, 2]),
        "customer_id": st.sampled_from(["c1", "c2", "c3"]),
    },
    optional={
        "instance": st.sampled_from(["c1/j/1", "c2/j/1", "c2/k/1", ""]),
        "outcome": st.one_of(st.none(), TEXT, st.integers(0, 3)),
        "goal": TEXT,
        "value": st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from([0.1, 2.5, 1e-3]), TEXT),
        "channel": st.sampled_from(["email", "sms"]),
        "status": st.sampled_from(["sent", "delayed", "suppressed", "bounced"]),
        "cost": st.one_of(st.none(), st.booleans(), st.sampled_from([0.002, 0.04, 1, 0])),
    },
)
