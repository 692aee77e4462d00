"""Issue 12: a template sees read-only data and renders within limits. A template that would change the
profile, or that goes over a limit (range, value size, body size, steps, time), makes its send an `error`
record; the profile is unchanged and the run goes on."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jinja2.sandbox import SandboxedEnvironment
from runtime_support import build_bundle

from journeydsl.cli import main
from journeydsl.compile import write_bundle
from journeydsl.diagnostics import codes
from journeydsl.runtime import Engine
from journeydsl.runtime import templates as runtime_templates
from journeydsl.runtime.templates import (
    MAX_OUTPUT,
    MAX_RANGE,
    MAX_STEPS,
    MAX_VALUE,
    RenderError,
    Templates,
)

CLI = "from journeydsl.cli import main; main()"

# Sends an email whose template may misbehave, waits for `nudge`, then sends an SMS that needs consent.
JOURNEY = """
schema s {
  profile { email: string  consent_sms: bool  interests: list<string> }
  event signed_up {}
  event nudge {}
  channel email { cost 0 }
  channel sms { cost 0.01 requires profile.consent_sms }
}
journey optin {
  version 1
  owner "o@x"
  uses s
  entry on signed_up
  stage a {
    step hello { send email sneaky -> later }
    step later { wait { on nudge -> text } }
    step text { send sms promo -> done }
    step done { end }
  }
}
"""

PROFILE = {"email": "ana@x", "consent_sms": False, "interests": ["tea"]}
EVENTS = [
    {"id": "e1", "type": "signed_up", "customer_id": "c1", "at": "2026-01-01T10:00:00Z", "profile": PROFILE},
    {"id": "e2", "type": "nudge", "customer_id": "c1", "at": "2026-01-02T10:00:00Z"},
]

MUTATING = [
    "{{ profile.update({'consent_sms': true}) }}Welcome!",
    "{{ (profile|attr('update'))(consent_sms=true) }}Welcome!",
    "{{ profile['update']({'consent_sms': true}) }}Welcome!",
    "{% set change = profile.update %}{{ change(consent_sms=true) }}Welcome!",
    "{{ profile.setdefault('x', 1) }}{{ profile.pop('consent_sms') }}Welcome!",
    "{{ profile.interests.append('spam') }}Welcome!",
    "{{ profile.clear() }}Welcome!",
]


def _bundle(tmp_path: Path, sneaky: str) -> tuple[Path, Any]:
    """A bundle whose `email/sneaky` template is `sneaky`, compiled without `check` (as a bundle built by an
    older checker, or by hand, would be)."""
    files = build_bundle(
        tmp_path / "src", [JOURNEY], {"email/sneaky": sneaky, "sms/promo": "Offer for {{ profile.email }}"}
    )
    return write_bundle(files, tmp_path / "b.jbundle"), files


def _records(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize("sneaky", MUTATING)
def test_run_a_template_cannot_change_the_stored_profile(tmp_path: Path, sneaky: str) -> None:
    bundle, files = _bundle(tmp_path, sneaky)
    store = f"sqlite:///{tmp_path / 'state.db'}"
    for number, event in enumerate(EVENTS):  # two runs: the second reads the profile the first one saved
        path = tmp_path / f"events{number}.jsonl"
        path.write_text(json.dumps(event) + "\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["run", str(bundle), "--events", str(path), "--store", store])
        assert result.exit_code == 0, result.output
        records = _records(result.stdout)
        if number == 0:
            assert [r["kind"] for r in records] == ["enter", "error"]
            assert records[1]["template"] == "sneaky" and "SecurityError" in records[1]["reason"]
        else:
            sends = [r for r in records if r["kind"] == "send"]
            assert [(s["channel"], s["status"], s.get("reason")) for s in sends] == [("sms", "suppressed", "consent")]
        assert not [r for r in records if r["kind"] == "set"]
    assert Engine.open(files, store=store).profile("c1") == PROFILE


def test_the_engine_records_an_error_and_goes_on(tmp_path: Path) -> None:
    _, files = _bundle(tmp_path, MUTATING[0])
    engine = Engine.open(files)
    records = [r for event in EVENTS for r in engine.process(event)]
    assert [(r["kind"], r.get("status")) for r in records] == [
        ("enter", None),
        ("error", None),
        ("send", "suppressed"),
        ("end", None),
    ]
    assert engine.profile("c1") == PROFILE


# Each send goes over a limit; the last one is fine, to show the run goes on.
LIMITS_JOURNEY = """
schema s {
  profile { email: string }
  event go {}
  channel email { cost 0 }
}
journey limits {
  version 1
  owner "o@x"
  uses s
  entry on go
  stage a {
    step hello {
      send email nested_ranges
      send email huge_repeat
      send email many_steps
      send email huge_body
      send email fine
      -> done
    }
    step done { end }
  }
}
"""
LIMIT_TEMPLATES = {
    "email/nested_ranges": "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}",
    "email/huge_repeat": "{{ 'x' * 4000000000 }}",
    "email/many_steps": "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}",
    "email/huge_body": "{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}",
    "email/fine": "Hello {{ profile.email }}",
}


def _limited_memory() -> None:  # pragma: no cover - runs in the child process
    limit = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_run_stops_runaway_templates_quickly_within_bounded_memory(tmp_path: Path) -> None:
    """Through the CLI, in a process limited to 1.5 GiB of address space: before the limits, the nested
    loops ran for hours and `'x' * 4000000000` took 3.9 GB."""
    files = build_bundle(tmp_path / "src", [LIMITS_JOURNEY], LIMIT_TEMPLATES)
    bundle = write_bundle(files, tmp_path / "b.jbundle")
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps({"id": "e1", "type": "go", "customer_id": "c1", "at": "2026-01-01T10:00:00Z", "profile": PROFILE})
        + "\n",
        encoding="utf-8",
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CLI, "run", str(bundle), "--events", str(events)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited_memory,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    records = _records(done.stdout)
    outcomes = [(r["kind"], r.get("template")) for r in records if r["kind"] in ("send", "error")]
    assert outcomes == [
        ("error", "nested_ranges"),
        ("error", "huge_repeat"),
        ("error", "many_steps"),
        ("error", "huge_body"),
        ("send", "fine"),
    ]
    reasons = [r["reason"] for r in records if r["kind"] == "error"]
    assert all("LimitExceeded" in reason for reason in reasons), reasons
    assert f"over the limit of {MAX_RANGE:,}" in reasons[0]
    assert "4,000,000,000 characters" in reasons[1]
    assert f"{MAX_STEPS:,} steps" in reasons[2]
    assert f"{MAX_OUTPUT:,} characters" in reasons[3]
    assert elapsed < 60, elapsed


# API level: Templates.render.


def _render(text: str, data: dict[str, Any] | None = None, profile: dict[str, Any] | None = None) -> str:
    templates = Templates({"messages/email/t.j2": text})
    return templates.render("email", "t", data or {}, profile if profile is not None else dict(PROFILE), {"at": 0.0})


@pytest.mark.parametrize("text", MUTATING)
def test_a_mutating_method_fails_and_changes_nothing(text: str) -> None:
    profile = json.loads(json.dumps(PROFILE))
    with pytest.raises(RenderError, match="SecurityError"):
        _render(text, profile=profile)
    assert profile == PROFILE


def test_with_values_and_event_are_read_only_too() -> None:
    data = {"items": [1, 2]}
    with pytest.raises(RenderError, match="list.append would change"):
        _render("{{ items.append(3) }}", data)
    assert data == {"items": [1, 2]}
    templates = Templates({"messages/email/t.j2": "{{ event.data.update({'x': 1}) }}"})
    event = {"at": 0.0, "data": {"y": 2}}
    with pytest.raises(RenderError, match="dict.update"):
        templates.render("email", "t", {}, {}, event)
    assert event == {"at": 0.0, "data": {"y": 2}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{ range(10001)|list|length }}", f"range of 10,001 items is over the limit of {MAX_RANGE:,}"),
        # the step limit, or on a loaded machine the time limit first: either way it stops before it grows
        ("{% for i in range(500) %}{% for j in range(500) %}{% endfor %}{% endfor %}", "steps|ran for over"),
        (
            "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
            "steps|ran for over",
        ),
        ("{{ 'x' * 4000000000 }}", "a repetition would be 4,000,000,000 characters"),
        ("{{ 'ab' * n }}", "a repetition"),
        ("{{ [1, 2] * 1000000 }}", "a repetition"),
        ("{{ 2 ** 100000 }}", "a power of over"),
        ("{% set a = 'x' * 200000 %}{{ a ~ a }}", "a ~ concatenation"),
        ("{% set a = 'x' * 200000 %}{{ a + a }}", "a concatenation"),
        ("{% set a = [1] %}" + "{% set a = [a, a] %}" * 40 + "{{ a|length }}", "a value the template builds"),
        ("{% set a = dict(x=1) %}" + "{% set a = dict(x=a, y=a) %}" * 40, "a call's result"),
        ("{{ '%0999999999d' % 1 }}", "a % format"),
        ("{{ '%0999999999d'|format(1) }}", "a % format"),
        ("{{ '{:>999999999}'.format(1) }}", "a str.format"),
        ("{{ 'x'|center(999999999) }}", "center"),
        ("{{ 'x'.ljust(999999999) }}", "str.ljust"),
        ("{{ 'a\nb'|indent(999999999) }}", "indent"),
        ("{{ range(10000)|join('x' * 100000) }}", "a join"),
        ("{% set s = 'x' * 10000 %}{{ s|replace('', s) }}", "a replace"),
        ("{% set s = 'x' * 10000 %}{{ s.replace('', s) }}", "a replace"),
        ("{{ lipsum(1000000) }}", "lipsum"),
        ("{{ [1]|slice(1000000000)|list }}", "slice into"),
        ("{{ [1]|batch(1000000000, 0)|list }}", "batch's filling"),
        ("{{ profile|tojson(indent=100000000) }}", "tojson"),
        ("{% for i in range(1000) %}{{ 'x' * 100 }}{% endfor %}", f"over {MAX_OUTPUT:,} characters"),
        ("{{ big }}", f"over {MAX_OUTPUT:,} characters"),  # the fast path's body is measured too
    ],
)
def test_a_render_over_a_limit_fails_before_it_grows(text: str, message: str) -> None:
    started = time.monotonic()
    with pytest.raises(RenderError, match="LimitExceeded") as raised:
        _render(text, {"n": 10**12, "big": "y" * (MAX_OUTPUT + 1)})
    assert any(part in str(raised.value) for part in message.split("|"))
    assert time.monotonic() - started < 5


def test_a_render_stops_once_its_time_is_up() -> None:
    # 99,000 steps (under MAX_STEPS), each replacing in a text of 200,000 characters (about 45 us on a fast machine,
    # so 4 s and more): the time is up long before the steps are. (10,000 such steps took under 1 s on some hosts.)
    text = (
        "{% set s = 'x' * 200000 %}{% for i in range(9000) %}{% for j in range(10) %}"
        "{% set t = s|replace('x', 'y') %}{% endfor %}{% endfor %}"
    )
    started = time.monotonic()
    with pytest.raises(RenderError, match="ran for over 1 s"):
        _render(text)
    assert time.monotonic() - started < runtime_templates.MAX_SECONDS + 1


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("{% for i in profile.interests %}{{ i }},{% endfor %}", "tea,"),
        ("{{ '-' * 5 }}{{ [1, 2] * 2 }}{{ 'ab' ~ 3 }}{{ 2 ** 10 }}", "-----[1, 2, 1, 2]ab31024"),
        ("{% for i in range(3) %}{{ loop.index }}/{{ loop.length }} {% endfor %}", "1/3 2/3 3/3 "),
        ("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "10"),
        ("{{ '%05.1f|%s' % (3.14159, 'x') }} {{ '{:>4}'.format(7) }} {{ 'x'|center(5) }}", "003.1|x    7   x  "),
        (
            "{{ profile.interests|join(', ') }} {{ 'a-b'.replace('-', '+') }} {{ profile.items()|list|length }}",
            "tea a+b 3",
        ),
        ("{% for k, v in {'a': profile.email}|dictsort %}{{ k }}={{ v }}{% endfor %}", "a=ana@x"),
        ("{{ range(" + str(MAX_RANGE) + ")|list|length }} {{ ('x' * " + str(MAX_VALUE) + ")|length }}", "10000 262144"),
        ("{% for i in [] %}x{% else %}none{% endfor %}{% filter upper %}ok{% endfilter %}", "noneOK"),
    ],
)
def test_templates_within_the_limits_render_as_before(text: str, body: str) -> None:
    assert _render(text) == body


JINJA_SHAPES = [
    "{% for i in profile.interests %}{{ loop.index }}:{{ i|upper }}{% if not loop.last %}, {% endif %}{% endfor %}",
    "{% set parts = [profile.email, 'x'] %}{{ parts|join('/') }} {{ {'a': profile.email}.a }}",
    "{{ (1, profile.email)[1] }} {{ profile.items()|list|length }} {{ profile.get('email') }}",
    "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(profile.email) }}",
    "{% macro w() %}[{{ caller() }}]{% endmacro %}{% call w() %}c{% endcall %}",
    "{{ profile.email ~ '!' ~ 3 }} {{ '%s-%d' % (profile.email, 4) }} {{ 3 * 4 }} {{ 2 ** 3 }} {{ 'ab' + 'c' }}",
    "{% set ns = namespace(items=[]) %}{% for i in range(3) %}{% set ns.items = ns.items + [i] %}{% endfor %}"
    "{{ ns.items }}",
    "{{ profile|dictsort|map('first')|join(',') }} {{ profile.interests|batch(2, '-')|list }}",
    "{{ lipsum(1, false, 3, 4)|length > 0 }}",
]


def test_the_bounded_sandbox_renders_what_jinjas_sandbox_renders() -> None:
    """Every template of the repository and some shapes the fast path does not take: the same body as Jinja's
    own sandbox, through the compiled path (the fast path has its own test)."""
    plain = SandboxedEnvironment(autoescape=False, keep_trailing_newline=False)
    root = Path(__file__).resolve().parents[2] / "templates" / "messages"
    texts = [path.read_text(encoding="utf-8") for path in sorted(root.rglob("*.j2"))] + JINJA_SHAPES
    context = {"profile": dict(PROFILE), "items": 2, "total": "9.50", "flight": "LX 1", "name": "Ana"}
    for text in texts:
        expected = plain.from_string(text).render(context)
        if "lipsum" not in text:  # random words
            assert runtime_templates.Compiled(text).jinja.render(context) == expected, text


def test_the_limits_the_docs_give_are_the_runtimes() -> None:
    explained = codes.TEMPLATE_UNBOUNDED.explanation
    for number in (MAX_RANGE, MAX_VALUE, MAX_OUTPUT, MAX_STEPS):
        assert f"{number:,}" in explained
    assert runtime_templates.MAX_SECONDS == 1.0 and "one second" in explained
