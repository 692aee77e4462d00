"""Expected versus actual: wildcard paths, ordered sends, goals, variants, outcomes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from journeydsl.testing.matching import (
    Observed,
    check_goals,
    check_outcome,
    check_path,
    check_sends,
    check_sets,
    check_variant,
    compare,
    parting,
    path_matches,
)
from journeydsl.testing.scenario import Expectations, GoalExpect, SendExpect, SetExpect


@pytest.mark.parametrize(
    ("pattern", "actual", "ok"),
    [
        (["a", "b", "c"], ["a", "b", "c"], True),
        (["a", "*", "c"], ["a", "c"], True),  # "*" may match no step
        (["a", "*", "c"], ["a", "x", "y", "c"], True),
        (["*"], [], True),
        (["*", "*"], ["a"], True),
        (["a", "*"], ["a", "b", "c"], True),
        (["a", "b"], ["a", "b", "c"], False),  # the whole path must match
        (["a", "*", "c"], ["a", "x", "y"], False),
        (["b"], ["a"], False),
        ([], [], True),
    ],
)
def test_path_wildcards(pattern: list[str], actual: list[str], ok: bool) -> None:
    assert path_matches(pattern, actual) is ok


def _regex_match(pattern: list[str], actual: list[str]) -> bool:
    """An independent oracle: steps as single letters, `*` as `.*`."""
    import re

    return re.fullmatch("".join(".*" if p == "*" else re.escape(p) for p in pattern), "".join(actual)) is not None


@given(
    st.lists(st.sampled_from(["a", "b", "c", "*"]), max_size=6),
    st.lists(st.sampled_from(["a", "b", "c"]), max_size=7),
)
def test_path_matching_agrees_with_regular_expressions(pattern: list[str], actual: list[str]) -> None:
    assert path_matches(pattern, actual) is _regex_match(pattern, actual)


def test_parting_names_the_last_shared_step_and_what_was_wanted() -> None:
    assert parting(["a", "b", "c"], ["a", "b", "x"]) == (2, ["c"])
    assert parting(["a", "*", "c", "d"], ["a", "q", "c", "e"]) == (3, ["d"])
    assert parting(["a"], ["a", "b"]) == (1, [])


def test_path_failure_message_is_readable() -> None:
    mismatch = check_path(["welcome", "size_roof", "offer_full"], ["welcome", "size_roof", "offer_small"])
    assert mismatch is not None
    assert mismatch.summary == "the paths part after `size_roof`: expected `offer_full`, got `offer_small`"
    assert mismatch.lines == [
        "- expected: welcome -> size_roof -> offer_full",
        "+ actual:   welcome -> size_roof -> offer_small",
    ]
    assert mismatch.parting_step == "size_roof"


def test_path_of_a_journey_never_entered() -> None:
    mismatch = check_path(["welcome", "*"], [])
    assert mismatch is not None
    assert mismatch.summary == "the journey was not entered (expected a path starting with `welcome`)"


def test_path_that_ends_early() -> None:
    mismatch = check_path(["a", "*", "z"], ["a", "b"])
    assert mismatch is not None
    assert mismatch.summary == "the paths part after `b`: expected `z`, got the end of the path"


SENDS = [
    {"channel": "email", "template": "welcome", "status": "sent"},
    {"channel": "email", "template": "offer_full", "status": "sent"},
    {"channel": "sms", "template": "nudge_urgent", "status": "suppressed", "reason": "consent"},
]


def test_sends_are_an_ordered_subsequence() -> None:
    assert check_sends([SendExpect("email", "welcome"), SendExpect("sms", None, "suppressed")], SENDS) is None
    out_of_order = check_sends([SendExpect("email", "offer_full"), SendExpect("email", "welcome")], SENDS)
    assert out_of_order is not None
    assert out_of_order.lines == [
        "+ email welcome (sent)",
        "  email offer_full (sent)",
        "+ sms nudge_urgent (suppressed: consent)",
        "- email welcome",
    ]


def test_send_status_matters_when_given() -> None:
    mismatch = check_sends([SendExpect("sms", "nudge_urgent", "sent")], SENDS)
    assert mismatch is not None
    assert mismatch.summary == "expected sends not found in order: sms nudge_urgent (sent)"


def test_empty_sends_means_none() -> None:
    assert check_sends([], []) is None
    mismatch = check_sends([], SENDS[:1])
    assert mismatch is not None and mismatch.summary == "expected no sends, got 1"


def test_sets_with_and_without_values() -> None:
    actual = [{"field": "segment", "value": "active"}]
    assert check_sets([SetExpect("segment")], actual) is None
    assert check_sets([SetExpect("segment", "active", True)], actual) is None
    assert check_sets([SetExpect("segment", "vip", True)], actual) is not None


def test_goals_are_compared_as_a_set_with_values() -> None:
    actual = [{"goal": "signed", "value": 12000}]
    assert check_goals([GoalExpect("signed")], actual) is None
    assert check_goals([GoalExpect("signed", 12000.0)], actual) is None
    wrong = check_goals([GoalExpect("signed", 10.0)], actual)
    assert wrong is not None and wrong.lines == ["- signed (value 10)", "+ signed (value 12000)"]
    missing = check_goals([], actual)
    assert missing is not None and missing.lines == ["+ signed (reached, not expected)"]


def test_variant_and_outcome() -> None:
    assert check_variant({"nudge_copy": "friendly"}, {"nudge_copy": "friendly"}) is None
    wrong = check_variant({"nudge_copy": "friendly"}, {})
    assert wrong is not None
    assert "the experiment step was not reached" in wrong.summary
    assert check_outcome("exit:unsubscribed", "exit:unsubscribed", "x") is None
    late = check_outcome("converted", None, "await_signature")
    assert late is not None
    assert late.summary == "expected outcome `converted`, got no outcome yet (still running, at `await_signature`)"


def test_compare_checks_only_the_keys_given() -> None:
    observed = Observed(path=["a", "b"], outcome="lost")
    assert compare(Expectations(), observed) == []
    found = compare(Expectations(path=("a", "c"), outcome="won"), observed)
    assert [m.key for m in found] == ["path", "outcome"]
