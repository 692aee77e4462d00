"""The editor knows issue 19's words: a schema's `policy` and a goal's `expect`, in the DSL and the YAML form."""

from __future__ import annotations

from journeydsl.lsp.completion import _keywords, dsl_keywords


def test_dsl_completion_offers_the_policy_words() -> None:
    words = set(dsl_keywords())
    assert {"policy", "across", "journeys", "priority", "settle", "conflict", "expect"} <= words
    labels = {item.label for item in _keywords("customer.journey")}
    assert {"policy", "settle", "expect"} <= labels


def test_yaml_completion_offers_the_policy_keys() -> None:
    labels = {item.label for item in _keywords("customer.journey.yaml")}
    assert {"policy", "caps", "priority", "settle", "conflict", "journeys", "experiences"} <= labels
