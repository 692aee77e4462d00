"""The YAML loader is safe on hostile and broken input: no object tags, bounded aliases, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from journeydsl.diagnostics import Diagnostic
from journeydsl.syntax.safe_yaml import MAX_ALIASES
from journeydsl.syntax.yaml_loader import load_yaml

HERE = Path(__file__).parent
SPEC_YAML = (HERE / "spec_example.journey.yaml").read_text(encoding="utf-8")


def codes_of(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code.code for d in diagnostics]


def assert_positioned(diagnostics: list[Diagnostic], text: str) -> None:
    """Every diagnostic has a file position inside (or just past) the text."""
    lines = sum(text.count(brk) for brk in "\n\r\x85\u2028\u2029") + 2  # the line breaks pyyaml counts
    for diagnostic in diagnostics:
        assert diagnostic.span is not None, diagnostic
        assert diagnostic.span.file == "fuzz.journey.yaml"
        assert 1 <= diagnostic.span.line <= lines, diagnostic
        assert diagnostic.span.col >= 1, diagnostic


# --------------------------------------------------------------------------- tags


def test_python_object_tags_are_refused_and_never_built(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'journey: j\ntitle: !!python/object/apply:os.system ["touch {marker}"]\n'
    _, diagnostics = load_yaml(text, "evil.journey.yaml")
    unsafe = [d for d in diagnostics if d.code.code == "JD005"]
    assert len(unsafe) == 1 and unsafe[0].span is not None
    assert (unsafe[0].span.line, unsafe[0].span.col) == (2, 8)
    assert not marker.exists()


def test_custom_and_binary_tags_are_refused() -> None:
    _, diagnostics = load_yaml("journey: j\ntitle: !secret x\nowner: !!binary aGk=\n", "t.journey.yaml")
    assert codes_of(diagnostics).count("JD005") == 2


def test_standard_tags_are_fine() -> None:
    source, diagnostics = load_yaml("journey: j\nversion: !!int 3\ntitle: !!str 2024\n", "t.journey.yaml")
    assert diagnostics == []
    assert source.journeys[0].version == 3 and source.journeys[0].title == "2024"


# --------------------------------------------------------------------------- aliases


def test_a_few_aliases_are_allowed() -> None:
    text = (
        "journey: j\nstages:\n  a:\n"
        "    s: {do: [send: {channel: email, template: t, with: &w {n: profile.name}}], next: u}\n"
        "    u: {do: [send: {channel: email, template: t, with: *w}], end: done}\n"
    )
    source, diagnostics = load_yaml(text, "t.journey.yaml")
    assert diagnostics == []
    first, second = source.journeys[0].steps()
    assert first.actions == second.actions


def test_billion_laughs_is_refused() -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 13):  # 12 levels of 9: 108 alias references
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = "journey: j\n" + "\n".join(levels) + "\n"
    _, diagnostics = load_yaml(text, "bomb.journey.yaml")
    unsafe = [d for d in diagnostics if d.code.code == "JD005"]
    assert unsafe and f"more than {MAX_ALIASES}" in unsafe[0].message
    assert unsafe[0].span is not None and unsafe[0].span.line > 1


def test_aliases_under_the_count_that_expand_too_far_are_refused() -> None:
    steps = "\n".join(f"    s{i}: {{next: s{i + 1}}}" for i in range(1000))
    stages = "\n".join(f"  copy{i}: *steps" for i in range(90))
    text = f"journey: j\nstages:\n  first: &steps\n{steps}\n{stages}\n"
    _, diagnostics = load_yaml(text, "wide.journey.yaml")
    assert "JD005" in codes_of(diagnostics)
    assert any("expand" in d.message for d in diagnostics)


def test_a_recursive_alias_does_not_hang() -> None:
    _, diagnostics = load_yaml("journey: j\ntags: &t [a, *t]\nstages: &s {a: *s}\n", "t.journey.yaml")
    assert "JD004" in codes_of(diagnostics)


def test_deep_nesting_is_a_syntax_error_not_a_crash() -> None:
    text = "journey: j\ntags: " + "[" * 800 + "]" * 800 + "\n"
    _, diagnostics = load_yaml(text, "deep.journey.yaml")
    assert diagnostics and diagnostics[0].span is not None


# --------------------------------------------------------------------------- never raise


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    source, diagnostics = load_yaml(text, "fuzz.journey.yaml")
    assert source.path == "fuzz.journey.yaml"
    assert_positioned(diagnostics, text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("journey: stages{}[]-,&*!#'\"|>\n  ab_1.=<%@?") + ["\t", "---"])).map("".join))
def test_yaml_like_text_never_raises(text: str) -> None:
    _, diagnostics = load_yaml(text, "fuzz.journey.yaml")
    assert_positioned(diagnostics, text)


def test_every_truncation_of_a_valid_file_never_raises() -> None:
    for end in [*range(0, len(SPEC_YAML), 3), len(SPEC_YAML)]:
        text = SPEC_YAML[:end]
        _, diagnostics = load_yaml(text, "fuzz.journey.yaml")
        assert_positioned(diagnostics, text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_edits_of_a_valid_file_never_raise(data: st.DataObject) -> None:
    text = SPEC_YAML
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 8))
        insert = data.draw(st.text(alphabet=st.sampled_from(list(":{}[]-,&*!#'\"\n 7d%") + ["@", "é"]), max_size=4))
        text = text[:at] + insert + text[at + cut :]
    _, diagnostics = load_yaml(text, "fuzz.journey.yaml")
    assert_positioned(diagnostics, text)


def test_a_deeply_nested_expression_in_an_escaped_string_loads() -> None:
    text = 'journey: j\nentry: {on: e, where: "' + "not " * 5000 + 'true\\u0020"}\n'
    source, diagnostics = load_yaml(text, "deep.journey.yaml")
    assert [d.code.code for d in diagnostics] == ["JD011"]  # nesting beyond 64 levels is refused (issue 12)
    assert source.journeys[0].entry is not None and source.journeys[0].entry.where is not None
