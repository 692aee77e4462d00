"""Issue 12 in `journeydsl check`: JD604 (a template uses a method the runtime's sandbox refuses) and JD605 (a
template loop or repetition without a visible bound, or over the runtime's limits)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from check_helpers import SCHEMA, journey
from click.testing import CliRunner

from journeydsl.check import check_project
from journeydsl.cli import main
from journeydsl.diagnostics import Diagnostic, Severity
from journeydsl.project import load_project

CLI = "from journeydsl.cli import main; main()"


def _project(tmp_path: Path, templates: dict[str, str]) -> Path:
    """The fixture schema, a journey sending each template (`email/NAME`) in turn, and the templates."""
    (tmp_path / "schema.journey").write_text(SCHEMA, encoding="utf-8")
    steps = "".join(
        f"    step s{n} {{ send email {name} with {{ n: 3 }} -> s{n + 1} }}\n" for n, name in enumerate(templates)
    )
    text = journey(f"  stage a {{\n{steps}    step s{len(templates)} {{ end }}\n  }}\n")
    path = tmp_path / "j.journey"
    path.write_text(text, encoding="utf-8")
    for name, body in templates.items():
        target = tmp_path / "templates" / "messages" / "email" / f"{name}.j2"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return path


def _check(tmp_path: Path, templates: dict[str, str]) -> list[Diagnostic]:
    path = _project(tmp_path, templates)
    diags = check_project(load_project([path], templates_dir=tmp_path / "templates"))
    return [d for d in diags if d.code.code in ("JD603", "JD604", "JD605")]


def _where(diags: list[Diagnostic]) -> list[tuple[str, int, int, int]]:
    return [(d.code.code, d.span.line, d.span.col, d.span.end_col) for d in diags if d.span is not None]


def test_check_reports_a_template_that_changes_the_profile(tmp_path: Path) -> None:
    """Through the CLI: before issue 12 this template passed `check`, and at run time turned consent on."""
    path = _project(tmp_path, {"optin": "Hi!\n  {{ profile.update({'consent_email': true}) }}\n"})
    result = CliRunner().invoke(
        main, ["check", str(path), "--templates", str(tmp_path / "templates"), "--format", "json"]
    )
    assert result.exit_code == 1, result.output
    found = [d for d in json.loads(result.output) if d["code"] == "JD604"]
    assert [(d["severity"], Path(d["file"]).name, d["line"], d["column"], d["end_column"]) for d in found] == [
        ("error", "optin.j2", 2, 6, 20)
    ]
    assert "profile.update" in found[0]["message"] and "set profile.F" in found[0]["hint"]
    text = CliRunner().invoke(main, ["check", str(path), "--templates", str(tmp_path / "templates")])
    assert "error[JD604 template-refused-method]" in text.output and "optin.j2:2:6" in text.output


def test_build_refuses_such_a_template(tmp_path: Path) -> None:
    path = _project(tmp_path, {"optin": "{{ (profile|attr('update'))(consent_email=true) }}"})
    out = tmp_path / "b.jbundle"
    result = CliRunner().invoke(main, ["build", str(path), "--templates", str(tmp_path / "templates"), "-o", str(out)])
    assert result.exit_code == 1 and "JD604" in result.output
    assert not out.exists()


def _limited_memory() -> None:  # pragma: no cover - runs in the child process
    limit = 1536 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def test_check_warns_of_unbounded_templates_within_bounded_memory(tmp_path: Path) -> None:
    """Through the CLI, in a process limited to 1.5 GiB: parsing `'x' * 4000000000` used to fold it to 4 GB."""
    templates = {
        "loops": "{% for i in range(100000) %}{% for j in range(100000) %}.{% endfor %}{% endfor %}",
        "repeat": "{{ 'x' * 4000000000 }}",
        "by_data": "{% for i in range(n) %}{{ i }}{% endfor %}",
    }
    path = _project(tmp_path, templates)
    command = [sys.executable, "-c", CLI, "check", str(path), "--templates", str(tmp_path / "templates")]
    done = subprocess.run(
        [*command, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited_memory,
    )
    assert done.returncode == 0, done.stderr  # warnings only
    found = [(Path(d["file"]).name, d["line"], d["column"], d["severity"]) for d in json.loads(done.stdout)]
    assert found == [
        ("by_data.j2", 1, 13, "warning"),
        ("loops.j2", 1, 13, "warning"),  # range(100000): over the limit
        ("loops.j2", 1, 32, "warning"),  # the inner loop: 100000 * 100000 steps
        ("loops.j2", 1, 41, "warning"),
        ("repeat.j2", 1, 8, "warning"),
    ]
    strict = subprocess.run([*command, "--strict"], capture_output=True, text=True, timeout=120)
    assert strict.returncode == 1 and strict.stdout.count("warning[JD605 template-unbounded]") == 5


@pytest.mark.parametrize(
    "text",
    [
        "{{ profile.pop('email') }}",
        "{{ profile.setdefault('email', 'x') }}",
        "{{ profile.clear() }}",
        "{{ profile.interests.append('x') }}",
        "{{ profile.interests.sort() }}",
        '{{ profile["update"]({}) }}',
        '{{ (profile|attr("popitem"))() }}',
        "{% set f = profile.update %}{{ f(email='x') }}",
        "{{ profile.__class__ }}",
    ],
)
def test_each_way_to_a_refused_method_is_an_error(tmp_path: Path, text: str) -> None:
    diags = _check(tmp_path, {"t": text})
    assert [(d.code.code, d.severity) for d in diags] == [("JD604", Severity.ERROR)]


@pytest.mark.parametrize(
    "text",
    [
        "{{ profile.items()|list }} {{ profile.get('email') }} {{ profile.keys()|length }} {{ profile.copy() }}",
        "{{ profile.interests|sort|join(', ') }} {{ profile.interests.index('a') }} {{ profile.email.upper() }}",
        "{{ profile['email'] }} {{ profile|attr('email') }} {{ profile._note }}",
        "{% for x in profile.interests %}{% for y in profile.interests %}{{ x }}{{ y }}{% endfor %}{% endfor %}",
        "{% for i in range(10000) %}{% endfor %}{% for i in range(0, 20000, 2) %}{% endfor %}",
        "{% for i in range(100) %}{% for j in range(1000) %}{% endfor %}{% endfor %}",
        "{% for i in range([n, 100]|min) %}{% endfor %}{{ '*' * ([n, 5]|min) }}{{ '-' * 40 }}{{ 2 ** 64 }}",
        "{% for i in range(3 if n else 4) %}{% endfor %}{{ n * n }}",
    ],
)
def test_templates_the_runtime_accepts_are_clean(tmp_path: Path, text: str) -> None:
    assert _check(tmp_path, {"t": text}) == []


def test_warnings_point_at_each_loop_and_repetition(tmp_path: Path) -> None:
    text = (
        "{% for i in range(n) %}{% endfor %} {% for i in range(n) %}{% endfor %}\n"
        "{% for i in range(10001) %}{% endfor %}{% for i in range(5, n + 10) %}{% endfor %}\n"
        "{% for a in range(100) %}\n  {% for b in range(100) %}{% for c in range(11) %}{% endfor %}{% endfor %}\n"
        "{% endfor %}{{ [1, 2] * n }} {{ 'ab' * 200000 }} {{ 10 ** 10000 }}\n"
    )
    diags = _check(tmp_path, {"t": text})
    assert _where(diags) == [
        ("JD605", 1, 13, 19),
        ("JD605", 1, 49, 55),
        ("JD605", 2, 13, 19),
        ("JD605", 2, 52, 58),
        ("JD605", 4, 31, 36),  # the loop that takes the count past the limit: 100 * 100 * 11
        ("JD605", 5, 23, 24),
        ("JD605", 5, 38, 39),
        ("JD605", 5, 56, 58),
    ]
    assert all(d.severity is Severity.WARNING for d in diags)
    assert "10,001 items" in diags[2].message and "110,000 times" in diags[4].message


def test_an_error_per_refused_use_at_its_column(tmp_path: Path) -> None:
    text = "{{ profile.update(a=1) }}{{ profile.update(b=2) }}\n{{ event.data.pop('x') }}"
    diags = _check(tmp_path, {"t": text})
    assert _where(diags) == [("JD604", 1, 4, 18), ("JD604", 1, 29, 43), ("JD604", 2, 14, 18)]


def test_a_refused_method_is_not_also_an_unknown_field(tmp_path: Path) -> None:
    path = _project(tmp_path, {"t": "{{ profile.update(email='x') }}"})
    diags = check_project(load_project([path], templates_dir=tmp_path / "templates"))
    assert [d.code.code for d in diags if d.span is not None and d.span.file.endswith("t.j2")] == ["JD604"]


def test_each_template_is_reported_once_however_many_sends_use_it(tmp_path: Path) -> None:
    (tmp_path / "schema.journey").write_text(SCHEMA, encoding="utf-8")
    steps = "    step a { send email t -> b }\n    step b { send email t -> c }\n    step c { end }\n"
    path = tmp_path / "j.journey"
    path.write_text(journey(f"  stage s {{\n{steps}  }}\n"), encoding="utf-8")
    target = tmp_path / "templates" / "messages" / "email" / "t.j2"
    target.parent.mkdir(parents=True)
    target.write_text("{{ profile.clear() }}{% for i in range(n) %}{% endfor %}", encoding="utf-8")
    diags = check_project(load_project([path], templates_dir=tmp_path / "templates"))
    assert sorted(d.code.code for d in diags if d.code.code.startswith("JD60")) == ["JD602", "JD602", "JD604", "JD605"]


def test_an_unknown_filter_is_a_template_error_not_a_crash(tmp_path: Path) -> None:
    diags = _check(tmp_path, {"t": "Hi\n{{ profile.email|shout }}"})
    assert [(d.code.code, d.span.line if d.span else None) for d in diags] == [("JD603", 2)]
    assert "No filter named 'shout'" in diags[0].message
