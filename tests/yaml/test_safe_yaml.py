"""One safe YAML for journey files and scenario files (syntax/safe_yaml.py, issue 13 item 5).

The same hostile text gets the same refusal from both readers: unsafe tags and merge keys (JD005), more than
MAX_ALIASES aliases (JD005), aliases that expand too far (JD005), nesting beyond MAX_YAML_NESTING (JD011),
malformed values under a standard tag (never a traceback), and YAML syntax errors (JD003), on libyaml's composer
and on PyYAML's pure-Python one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from journeydsl.diagnostics import Diagnostic, Sink
from journeydsl.syntax import safe_yaml
from journeydsl.syntax.limits import MAX_YAML_NESTING
from journeydsl.syntax.safe_yaml import MAX_ALIASES, Budget, ExpansionLimit, compose
from journeydsl.syntax.yaml_loader import load_yaml
from journeydsl.testing.scenario import parse_scenarios

# Every test runs on both composers (tests/yaml/conftest.py).
pytestmark = pytest.mark.usefixtures("composer")


def _journey(body: str) -> list[Diagnostic]:
    return load_yaml(f"journey: j\nversion: 1\n{body}", "j.journey.yaml")[1]


def _scenario(body: str) -> list[Diagnostic]:
    return parse_scenarios(f"journey: j\nscenarios: []\n{body}", "j.scenario.yaml")[1]


def _aliases(count: int) -> str:
    return "x: &a [1]\ny: [" + ", ".join(["*a"] * count) + "]\n"


def _laughs() -> str:
    """Few aliases (60), but they stand for a million nodes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


HOSTILE = [
    ("tag", "x: !!python/object/apply:os.system [ls]\n", "JD005", "the YAML tag `tag:yaml.org,2002:python"),
    ("custom tag", "x: !secret s\n", "JD005", "the YAML tag `!secret` is not allowed"),
    ("merge key", "base: &b {k: 1}\nx: {<<: *b}\n", "JD005", "merge keys (`<<`) are not supported"),
    ("aliases", _aliases(MAX_ALIASES + 1), "JD005", f"more than {MAX_ALIASES} alias references in one document"),
    ("nesting", "x: " + "[" * (MAX_YAML_NESTING + 5) + "]" * (MAX_YAML_NESTING + 5) + "\n", "JD011", "mappings"),
    ("nesting far", "x: " + "[" * 5000 + "]" * 5000 + "\n", "JD011", "mappings and lists nest more than 64"),
    ("syntax", "x: [1, 2\n", "JD003", "YAML syntax error: "),
    ("character", 'x: "a\x00b"\n', "JD003", "YAML syntax error: unacceptable character #x0000"),
]


@pytest.mark.parametrize(("text", "code", "message"), [case[1:] for case in HOSTILE], ids=[c[0] for c in HOSTILE])
@pytest.mark.parametrize("read", [_journey, _scenario], ids=["journey", "scenario"])
def test_both_readers_refuse_the_same_way(
    read: Callable[[str], list[Diagnostic]], text: str, code: str, message: str
) -> None:
    found = [(d.code.code, d.message) for d in read(text)]
    assert any(c == code and m.startswith(message) for c, m in found), found


def test_aliases_that_expand_too_far_stop_the_scenario_reader_too() -> None:
    """As in a journey file (tests/yaml/test_yaml_safety.py): the budget is the document's, not a fixed count."""
    profile = _laughs().replace("\n", "\n      ")
    text = f"journey: j\nscenarios:\n  - name: a\n    events: []\n    profile:\n      {profile}"
    found = [d for d in parse_scenarios(text, "s.yaml")[1] if d.code.code == "JD005"]
    assert [d.message for d in found] == ["the document's aliases expand into too many nodes"]


def test_a_document_with_an_unsafe_tag_is_not_read_at_all() -> None:
    source, diagnostics = load_yaml("journey: j\ntitle: !!python/name:os.system x\n", "j.journey.yaml")
    assert [d.code.code for d in diagnostics] == ["JD005"]
    assert source.journeys == ()


def test_malformed_values_under_standard_tags_are_diagnostics() -> None:
    for body in ("x: !!bool maybe\n", "x: !!timestamp soon\n", "x: !!int many\n"):
        sink = Sink()
        (document,) = compose(body, "t.yaml", sink)
        with pytest.raises(ValueError):
            safe_yaml.scalar_value(document.root.value[0][1])
    variant = "{name: a, control: !!bool maybe, weight: 10, next: s}"
    _, diagnostics = load_yaml(
        f"journey: j\nstages:\n  r:\n    s:\n      experiment: {{name: e, variants: [{variant}]}}\n", "j.journey.yaml"
    )
    assert any(d.code.code == "JD004" and "true or false" in d.message for d in diagnostics)
    text = (
        "journey: j\nscenarios:\n  - name: !!timestamp soon\n    events: []\n  - name: !!bool maybe\n    events: []\n"
    )
    found = [(d.code.code, d.message) for d in parse_scenarios(text, "s.yaml")[1]]
    assert ("JD702", "malformed value 'soon': `soon` is not a valid timestamp") in found
    assert ("JD702", "malformed value 'maybe': `maybe` is not a valid bool") in found


def test_a_scenario_file_holds_one_document() -> None:
    _, diagnostics = parse_scenarios("journey: j\nscenarios: []\n---\njourney: k\n", "s.yaml")
    [found] = diagnostics
    assert found.code.code == "JD003" and found.span is not None and found.span.line == 3
    assert found.message.startswith("YAML syntax error: but found another document")


def test_the_budget_counts_visits() -> None:
    sink = Sink()
    (document,) = compose("a: &a [1, 2]\nb: *a\n", "t.yaml", sink)
    assert document.distinct == 6  # the alias shares its three nodes
    budget: Budget = document.budget()
    assert budget.left == safe_yaml.MAX_EXPANSION_FACTOR * 6 + safe_yaml.MAX_EXPANSION_FLOOR
    budget.spend(budget.left)
    with pytest.raises(ExpansionLimit):
        budget.spend()
