"""Input limits (issue 12): nesting depth (JD011), number, duration and file size (JD012), bounded excerpts.

Before, `journeydsl check` hit RecursionError at about 490 chained operators or 330 nested calls, a
`version` of 2**63 built and then crashed the runtime, a number of 5,000 digits crashed the parser, and a
one-line file repeated its whole line in every diagnostic. Every case here is a diagnostic with a
position and a hint now, in both the DSL and the YAML form.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from journeydsl.check import check_project
from journeydsl.check.suggest import closest
from journeydsl.cli import main
from journeydsl.diagnostics import Diagnostic, Severity, codes
from journeydsl.diagnostics.docgen import EXAMPLE_SCHEMA, EXAMPLE_TEMPLATES
from journeydsl.diagnostics.render import EXCERPT_WIDTH, MESSAGE_WIDTH, render
from journeydsl.project import load_project
from journeydsl.syntax.limits import (
    MAX_DURATION_S,
    MAX_FILE_BYTES,
    MAX_NAME_LENGTH,
    MAX_NESTING,
    MAX_SAFE_INTEGER,
)

HEAD = """journey j {
  version VERSION
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  audience AUDIENCE
  goal ordered on order_placed within 30d value event.amount
"""
STAGES = """  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
"""
YAML = """journey: j
version: VERSION
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
audience: AUDIENCE
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      next: done
    done:
      end: null
"""


def dsl(audience: str = "true", version: str = "1", extra: str = "") -> str:
    return HEAD.replace("VERSION", version).replace("AUDIENCE", audience) + extra + STAGES


def yaml(audience: str = "'true'", version: str = "1", extra: str = "") -> str:
    return YAML.replace("VERSION", version).replace("AUDIENCE", audience) + extra


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "shop.journey").write_text(EXAMPLE_SCHEMA, encoding="utf-8")
    for name, body in EXAMPLE_TEMPLATES.items():
        path = tmp_path / "templates" / "messages" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return tmp_path


def check(folder: Path, text: str, name: str = "j.journey") -> list[Diagnostic]:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return check_project(load_project([path], templates_dir=folder / "templates"))


def errors(diags: list[Diagnostic]) -> list[str]:
    return [d.code.code for d in diags if d.severity is Severity.ERROR]


def cli(folder: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args, "--templates", str(folder / "templates")])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


# --------------------------------------------------------------------------- nesting (JD011)


def chain(depth: int) -> str:
    """`true and true and …`: `depth` operands make a left-leaning tree `depth` levels deep."""
    return " and ".join(["true"] * depth)


def nots(depth: int) -> str:
    return "not " * (depth - 1) + "true"


def calls(depth: int) -> str:
    return "coalesce(" * (depth - 1) + "true" + ")" * (depth - 1)


def lists(depth: int) -> str:  # len(...) > 0 around depth - 3 nested lists of a leaf
    return "len(" + "[" * (depth - 3) + "true" + "]" * (depth - 3) + ") > 0"


def minus(depth: int) -> str:  # `- - profile.ltv > 0`; a minus before a number would make a negative literal
    return "- " * (depth - 2) + "profile.ltv > 0"


SHAPES = {"chain": chain, "not": nots, "call": calls, "list": lists, "minus": minus}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_deepest_allowed_expression_is_clean_one_more_level_is_jd011(folder: Path, shape: str) -> None:
    build = SHAPES[shape]
    assert errors(check(folder, dsl(build(MAX_NESTING)))) == []
    found = check(folder, dsl(build(MAX_NESTING + 1)))
    assert errors(found) == ["JD011"]  # and nothing else: the cut-off expression causes no type errors
    (diag,) = [d for d in found if d.code.code == "JD011"]
    assert diag.span is not None and diag.span.file.endswith("j.journey") and diag.span.line == 6
    assert diag.message == f"this expression nests more than {MAX_NESTING} levels deep"
    assert diag.hint is not None and "parentheses" in diag.hint


@pytest.mark.parametrize("shape", SHAPES)
def test_thousands_of_levels_give_one_diagnostic_not_a_recursion_error(folder: Path, shape: str) -> None:
    started = time.perf_counter()
    found = check(folder, dsl(SHAPES[shape](5000)))
    assert errors(found) == ["JD011"]
    assert time.perf_counter() - started < 30


def test_a_long_flat_chain_points_at_where_it_starts(folder: Path) -> None:
    text = dsl(" + ".join(["profile.ltv"] * 600) + " > 0")
    (diag,) = check(folder, text)
    assert (diag.code.code, diag.span.line, diag.span.col) == ("JD011", 6, 12)  # type: ignore[union-attr]


def test_parentheses_add_no_level(folder: Path) -> None:
    assert errors(check(folder, dsl("(" * 2000 + "true" + ")" * 2000))) == []


def test_two_deep_expressions_are_reported_each(folder: Path) -> None:
    text = dsl(chain(100), extra=f"  exit on unsubscribed where {nots(100)}\n")
    assert errors(check(folder, text)) == ["JD011", "JD011"]


def test_types_nest_at_most_64_levels(folder: Path) -> None:
    def schema(depth: int) -> str:
        return EXAMPLE_SCHEMA.replace(
            "interests: list<string>", "interests: " + "list<" * depth + "string" + ">" * depth
        )

    (folder / "shop.journey").write_text(schema(MAX_NESTING - 1), encoding="utf-8")  # 63 lists + string: 64
    assert "JD011" not in errors(check(folder, dsl()))
    (folder / "shop.journey").write_text(schema(3000), encoding="utf-8")
    found = check_project(load_project([folder / "shop.journey"], templates_dir=folder / "templates"))
    assert errors(found) == ["JD011"]
    assert found[0].message == f"this type nests more than {MAX_NESTING} levels deep"


def test_yaml_expressions_and_documents_are_limited_too(folder: Path) -> None:
    assert errors(check(folder, yaml(f"'{chain(MAX_NESTING)}'"), "j.journey.yaml")) == []
    (diag,) = check(folder, yaml(f"'{chain(3000)}'"), "j.journey.yaml")
    assert (diag.code.code, diag.span.line, diag.span.col) == ("JD011", 6, 12)  # type: ignore[union-attr]
    flow = yaml(extra="description: " + "[" * 3000 + "]" * 3000 + "\n")
    (diag,) = check(folder, flow, "j.journey.yaml")
    assert (diag.code.code, diag.span.line, diag.span.col) == ("JD011", 17, 13 + MAX_NESTING)  # type: ignore[union-attr]
    assert diag.hint is not None
    block = yaml(extra="team:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 200)))
    (diag,) = check(folder, block, "j.journey.yaml")
    assert (diag.code.code, diag.span.line) == ("JD011", 17 + MAX_NESTING)  # type: ignore[union-attr]


def test_calls_take_at_most_the_arguments_the_runtime_takes(folder: Path) -> None:
    args = ", ".join(["true"] * 64)
    assert errors(check(folder, dsl(f"coalesce({args})"))) == []
    found = check(folder, dsl(f"coalesce({args}, true)"))
    assert errors(found) == [codes.WRONG_ARITY.code]
    assert "takes 1 to 64 arguments, got 65" in found[0].message


# --------------------------------------------------------------------------- sizes (JD012)


@pytest.mark.parametrize(
    ("audience", "version", "extra", "expected"),
    [
        ("true", str(MAX_SAFE_INTEGER), "", []),
        ("true", str(MAX_SAFE_INTEGER + 1), "", ["JD012"]),
        ("true", str(2**63), "", ["JD012"]),
        ("true", "9" * 5000, "", ["JD012"]),
        (f"profile.ltv > {MAX_SAFE_INTEGER}", "1", "", []),
        (f"profile.ltv > {MAX_SAFE_INTEGER + 1}", "1", "", ["JD012"]),
        ("profile.ltv > 1" + "0" * 400 + ".5", "1", "", ["JD012"]),
        ("profile.ltv > " + "7" * 5000, "1", "", ["JD012"]),
        ("true", "1", f"  reentry after {MAX_DURATION_S // 86400}d\n", []),
        ("true", "1", f"  reentry after {MAX_DURATION_S // 86400 + 1}d\n", ["JD012"]),
        ("true", "1", "  reentry after 14286w\n", ["JD012"]),
        ("true", "1", "  reentry after " + "9" * 5000 + "s\n", ["JD012"]),
        ("true", "1", "  cap email " + "9" * 5000 + " per 1d\n", ["JD012"]),
        ("true", "1", "  quiet " + "9" * 5000 + ":00-08:00\n", ["JD007"]),
    ],
    ids=[
        "version-max",
        "version-2^53",
        "version-2^63",
        "version-5000-digits",
        "number-max",
        "number-2^53",
        "float-400-digits",
        "number-5000-digits",
        "duration-max",
        "duration-over",
        "weeks-over",
        "duration-5000-digits",
        "cap-5000-digits",
        "quiet-5000-digits",
    ],
)
def test_numbers_out_of_range(folder: Path, audience: str, version: str, extra: str, expected: list[str]) -> None:
    found = check(folder, dsl(audience, version, extra))
    assert errors(found) == expected
    for diag in found:
        if diag.code.code == "JD012":
            assert diag.span is not None and diag.span.line in (2, 6, 8) and diag.hint
            assert len(diag.message) < 80  # the number is quoted cut short


@pytest.mark.parametrize(
    ("version", "extra", "expected"),
    [
        (str(2**63), "", ["JD012"]),
        ("9" * 5000, "", ["JD012"]),
        ("1", "reentry: after 100001d\n", ["JD012"]),
        ("1", "reentry: after " + "9" * 5000 + "d\n", ["JD012"]),
        ("1", "caps: [{channel: email, max: 9223372036854775808, per: 1d}]\n", ["JD012"]),
        ("1", "channels_cost: 1\n", ["JD004"]),
    ],
)
def test_yaml_numbers_out_of_range(folder: Path, version: str, extra: str, expected: list[str]) -> None:
    assert errors(check(folder, yaml(version=version, extra=extra), "j.journey.yaml")) == expected


def test_names_are_at_most_128_characters(folder: Path) -> None:
    """A channel named with 300 letters once crashed the templates check (a file name too long to stat)."""
    step = "s" * MAX_NAME_LENGTH
    fits = dsl().replace("step hello { send email welcome -> done }", f"step hello {{ send email welcome -> {step} }}")
    fits = fits.replace("step done { end }", f"step {step} {{ end }}")
    assert errors(check(folder, fits)) == []
    found = check(folder, dsl().replace("send email welcome", f"send {'e' * 300} welcome"))
    assert "JD012" in errors(found)
    (diag,) = [d for d in found if d.code.code == "JD012"]
    assert diag.message.endswith("is 300 characters long") and diag.span.col == 23  # type: ignore[union-attr]
    yaml_found = check(folder, yaml().replace("channel: email", f"channel: {'e' * 300}"), "j.journey.yaml")
    assert errors(yaml_found) == ["JD012"]


@pytest.mark.parametrize("name", ["big.journey", "big.journey.yaml"])
def test_a_file_over_1_mib_is_refused_without_parsing(folder: Path, name: str) -> None:
    filler = "# " + "x" * 1000 + "\n"
    text = dsl() if name.endswith(".journey") else yaml()
    text += filler * (MAX_FILE_BYTES // len(filler) + 1)
    started = time.perf_counter()
    (diag,) = check(folder, text, name)
    assert time.perf_counter() - started < 10
    assert diag.code.code == "JD012" and diag.span is not None and (diag.span.line, diag.span.col) == (1, 1)
    assert f"is {len(text.encode()):,} bytes" in diag.message and "1,048,576" in diag.message
    code, out = cli(folder, str(folder / name))
    assert code == 1 and "JD012 input-too-large" in out and "hint: split it" in out


def test_a_file_just_under_the_limit_is_parsed(folder: Path) -> None:
    filler = "# " + "x" * 1000 + "\n"
    text = dsl()
    text += filler * ((MAX_FILE_BYTES - len(text)) // len(filler))
    assert len(text.encode()) <= MAX_FILE_BYTES
    assert errors(check(folder, text)) == []


# --------------------------------------------------------------------------- bounded excerpts


def test_every_format_shows_a_bounded_piece_of_a_long_line(folder: Path) -> None:
    name = "x" * 50_000
    text = dsl().replace("step hello { send email welcome -> done }", f"step hello {{ send email welcome -> {name} }}")
    text = text.replace("\n  stage", " stage").replace("\n    step", " step")  # one long line
    path = folder / "j.journey"
    path.write_text(text, encoding="utf-8")
    project = load_project([path], templates_dir=folder / "templates")
    diags = check_project(project)
    assert "JD102" in errors(diags)
    for fmt in ("text", "json", "sarif", "github"):
        out = render(fmt, diags, project.sources)
        assert len(out) < 4000 * len(diags) + 60_000, fmt  # the sarif rules list is long but fixed
        assert "x" * (MESSAGE_WIDTH + 1) not in out, fmt
    text_out = render("text", diags, project.sources)
    for line in text_out.splitlines():
        assert len(line) <= len(str(path)) + MESSAGE_WIDTH + 60, line[:80]  # where, code and clipped message
    excerpt = next(line for line in text_out.splitlines() if line.lstrip().startswith("7 |"))
    assert "…" in excerpt
    messages = [d["message"] for d in json.loads(render("json", diags, project.sources))]
    assert all(len(m) <= MESSAGE_WIDTH for m in messages)


def test_the_window_keeps_the_caret_under_its_column(folder: Path) -> None:
    text = dsl(" + ".join(["profile.ltv"] * 300) + " > 0 and profile.nope")
    path = folder / "j.journey"
    path.write_text(text, encoding="utf-8")
    code, out = cli(folder, str(path))
    assert code == 1
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "JD011" in line)
    source, caret = lines[at + 1], lines[at + 2]
    assert len(source) <= EXCERPT_WIDTH + 10 and source.endswith("…")
    column = caret.index("^")
    assert source[column : column + len("profile.ltv")] == "profile.ltv"


# --------------------------------------------------------------------------- through the CLI


def test_check_reports_deep_and_large_input_in_every_format(folder: Path) -> None:
    path = folder / "j.journey"
    path.write_text(dsl(chain(600), version=str(2**63)), encoding="utf-8")
    code, out = cli(folder, str(path))
    assert code == 1
    assert f"{path}:6:12: error[JD011 nesting-too-deep]" in out
    assert f"{path}:2:11: error[JD012 input-too-large]: the number `9223372036854775808` is out of range" in out
    assert out.count("hint:") == 2
    code, out = cli(folder, str(path), "--format", "json")
    assert code == 1 and {d["code"] for d in json.loads(out)} == {"JD011", "JD012"}
    code, out = cli(folder, str(path), "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert code == 1 and {r["ruleId"] for r in results} == {"JD011", "JD012"}
    code, out = cli(folder, str(path), "--format", "github")
    assert code == 1 and "::error file=" in out and "title=JD011" in out and "title=JD012" in out


def test_build_refuses_a_version_beyond_2_53(folder: Path) -> None:
    (folder / "j.journey").write_text(dsl(version=str(2**63)), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["build", str(folder / "j.journey"), str(folder / "shop.journey"), "-o", str(folder / "b.jbundle")]
        + ["--templates", str(folder / "templates")],
    )
    assert result.exit_code == 1 and "JD012" in result.stderr and not (folder / "b.jbundle").exists()


def test_the_deepest_allowed_expression_builds_and_runs_on_sqlite(folder: Path) -> None:
    (folder / "j.journey").write_text(dsl(chain(MAX_NESTING)), encoding="utf-8")
    runner = CliRunner()
    files = [str(folder / "j.journey"), str(folder / "shop.journey")]
    built = runner.invoke(
        main, ["build", *files, "-o", str(folder / "b.jbundle"), "--templates", str(folder / "templates")]
    )
    assert built.exit_code == 0, built.output
    events = folder / "events.jsonl"
    event = {
        "id": "e1",
        "type": "signed_up",
        "customer_id": "c1",
        "at": "2026-01-01T10:00:00Z",
        "data": {"plan": "pro"},
    }
    events.write_text(json.dumps(event) + "\n", encoding="utf-8")
    store = f"sqlite:///{folder / 'store.db'}"
    ran = runner.invoke(main, ["run", str(folder / "b.jbundle"), "--events", str(events), "--store", store])
    assert ran.exit_code == 0, ran.output
    assert [json.loads(line)["kind"] for line in ran.stdout.splitlines()][:2] == ["enter", "send"]


# --------------------------------------------------------------------------- bounded work


def test_suggestions_stay_cheap_with_thousands_of_names() -> None:
    names = [f"step_{n}" for n in range(5000)] + ["await_signature"]
    assert closest("await_signatur", names) == "await_signature"
    started = time.perf_counter()
    for n in range(2000):
        closest(f"nowhere_{n}", names)
    assert time.perf_counter() - started < 20
