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


POLICY_FILE = """schema customer {
  channel email { cost 0.002 }
  policy {
    cap email 3 per 7d across journeys
    priority journeys [welcome, win_back]
  }
}

journey welcome { uses customer cap email 1 per 7d }
"""


def test_the_index_sees_the_policys_channels_and_journeys() -> None:
    """A rename of the channel or of a journey then reaches the policy too."""
    from journeydsl.lsp.index import CHANNEL, JOURNEY, build_index
    from journeydsl.syntax import parse_dsl

    source, diagnostics = parse_dsl(POLICY_FILE, "c.journey")
    assert diagnostics == []
    index = build_index([source], {"c.journey": POLICY_FILE})
    channel = index.at("c.journey", 4, 9)
    assert channel is not None and (channel.kind, channel.key) == (CHANNEL, ("customer", "email"))
    spans = {(s.span.line, s.span.col, s.span.end_col) for s in index.references(channel)}
    assert spans == {(2, 11, 16), (4, 9, 14), (9, 37, 42)}  # the channel, the shared cap, the journey's cap
    journey = index.at("c.journey", 5, 24)
    assert journey is not None and (journey.kind, journey.key) == (JOURNEY, ("welcome",))
    assert {(s.span.line, s.span.col) for s in index.references(journey)} == {(5, 24), (9, 9)}
