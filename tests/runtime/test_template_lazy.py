"""A template with a fast plan builds its Jinja template only when a render falls back to it; `warm` fills the
process's cache and skips what does not compile (the render that uses it reports it)."""

from __future__ import annotations

import pytest

from journeydsl.runtime import templates as T


def test_a_fast_template_compiles_jinja_only_on_its_first_fallback() -> None:
    compiled = T.Compiled("Hi {{ who.name }} ({{ n }})")
    assert compiled.fast is not None
    assert compiled._jinja is None  # nothing rendered through Jinja yet
    box = T.Templates({"messages/sms/hi.j2": "Hi {{ who.name }} ({{ n }})"})
    assert box.render("sms", "hi", {"who": {"name": "Ada"}, "n": 2}, {}, {}) == "Hi Ada (2)"
    # A list has no `name`: the fast path falls back, and Jinja's answer (an undefined, shown as "") is the body.
    assert box.render("sms", "hi", {"who": [1], "n": 3}, {}, {}) == "Hi  (3)"
    assert compiled.jinja is compiled.jinja  # made once, then kept
    assert compiled._jinja is not None


def test_a_template_without_a_fast_plan_compiles_jinja_at_once() -> None:
    compiled = T.Compiled("{% for x in xs %}{{ x }}{% endfor %}")
    assert compiled.fast is None and compiled._jinja is not None
    assert compiled.jinja.render({"xs": [1, 2]}) == "12"


def test_a_template_jinja_cannot_compile_is_refused_where_it_is_used() -> None:
    box = T.Templates({"messages/sms/bad.j2": "{% if %}"})
    with pytest.raises(T.RenderError, match="does not compile"):
        box.render("sms", "bad", {}, {}, {})


def test_warm_compiles_what_compiles_and_skips_the_rest() -> None:
    assert T.warm(["warm {{ a }} one", "{% if %}", "warm {% for x in y %}{{ x }}{% endfor %}"]) == 2
    assert "warm {{ a }} one" in T._COMPILED
