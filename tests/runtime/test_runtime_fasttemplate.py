"""The template fast path gives exactly the sandboxed Jinja2 output, or declines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SandboxedEnvironment

from journeydsl.runtime import fasttemplate
from journeydsl.runtime.templates import Templates

ROOT = Path(__file__).resolve().parents[2]
ENV = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
RESERVED = frozenset(ENV.globals)

SIMPLE = [
    "Hi {{ name }}!",
    'Hi {{ profile.first_name or "there" }},\n\nyour {{ total }} cart\n',
    "{{ a.b.c }} and {{ a.b }} {{ x or y or 3 }} {{ 1.5 }}",
    "{{ profile.items }}",  # a dict method in Jinja: no plan
    "{{ range }}",  # a Jinja global: no plan
    "{% if x %}{{ x }}{% elif a.b %}B{{ a.b[1] }}{% else %}{{ y[0] }}{% endif %}.",
    "{% for v in x %}{{ v }}{% endfor %}",  # a loop: no plan
    "{{ x | upper }}",  # a filter: no plan
    "50% off for {{ name }}: %s %(x)s %% {{ total }}",  # % in the text: the renderer's pattern escapes it
    "Plain text, 100% constant",
]
KEYS = ["name", "total", "first_name", "x", "y", "a", "b", "c", "items"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False), st.text(max_size=4), st.just("")
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=2), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6,
)
CONTEXTS = st.dictionaries(st.sampled_from(KEYS + ["profile"]), VALUES, max_size=6)


def _templates() -> list[str]:
    found = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "templates").rglob("*.j2"))]
    return SIMPLE + found


def _jinja(text: str, context: dict[str, Any]) -> str | None:
    try:
        return ENV.from_string(text).render(context)
    except Exception:  # noqa: BLE001 - a failing render is one of the outcomes compared
        return None


def _fast(text: str, context: dict[str, Any]) -> str | None:
    planned = fasttemplate.plan(ENV.parse(text), RESERVED)
    if planned is None:
        return _jinja(text, context)
    try:
        return fasttemplate.renderer(planned[0])(context)
    except fasttemplate.Fallback:
        return _jinja(text, context)


def test_simple_shapes_have_a_plan_and_others_do_not() -> None:
    planned = [fasttemplate.plan(ENV.parse(text), RESERVED) is not None for text in SIMPLE]
    assert planned == [True, True, True, False, False, True, False, False, True, True]


@settings(max_examples=300, deadline=None)
@given(context=CONTEXTS)
def test_fast_path_matches_jinja(context: dict[str, Any]) -> None:
    for text in _templates():
        assert _fast(text, context) == _jinja(text, context), text


def test_templates_render_event_time_as_text() -> None:
    templates = Templates({"messages/sms/t.j2": "{{ event.at }} {{ profile.first_name or 'you' }} {{ n }}"})
    body = templates.render("sms", "t", {"n": 2}, {}, {"id": "e1", "at": 0.0})
    assert body == "1970-01-01T00:00:00Z you 2"
