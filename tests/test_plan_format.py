"""The plan format is one typed module (runtime/plan_format.py), and everything else follows from it (issue 13).

- The JSON Schema the loader checks plans with is generated from the types; the generated schema is committed
  (tests/compile/plan-1.schema.json, index-1.schema.json), so a change to the format is a visible change to
  those files.
- The field tables of docs/bundle-format.md are generated from the same types (and the tag table), so the
  document cannot drift from the format.
- `jsonschema` (the reference validator) accepts what the compiler writes for every journey under journeys/ and
  tests/ that checks clean, and every plan of the fuzz corpus the loader runs.

After a deliberate change to the format, `python tests/test_plan_format.py --write` rewrites the committed
schemas and the document's tables; review the diff.
"""

from __future__ import annotations

import inspect
import json
import sys
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints

import jsonschema
import pytest

from journeydsl.check import check_project
from journeydsl.compile.plan import build_index, lower_journey
from journeydsl.diagnostics import Severity
from journeydsl.ir import Journey, Schema
from journeydsl.project import load_project
from journeydsl.runtime import plan_format as pf
from journeydsl.runtime.expr import _FUNCTIONS
from journeydsl.runtime.plan_schema import INDEX_SCHEMA, PLAN_SCHEMA, validate_index, validate_plan

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
SCHEMA_FILES = {
    TESTS / "compile" / "plan-1.schema.json": PLAN_SCHEMA,
    TESTS / "compile" / "index-1.schema.json": INDEX_SCHEMA,
}
# The journeys the tests build bundles of: the examples, and the test fixtures (files with errors on purpose are
# skipped), each with the templates folder it is checked against.
PROJECTS = [
    [ROOT / "journeys"],
    [TESTS / "testing" / "fixtures" / "solar" / "journeys"],
    [TESTS / "render" / "fixtures"],
    [TESTS / "check" / "fixtures"],
    [TESTS / "syntax" / "spec_example.journey"],
]
DOC = ROOT / "docs" / "bundle-format.md"
BEGIN = "<!-- generated from src/journeydsl/runtime/plan_format.py by tests/test_plan_format.py: do not edit -->"
END = "<!-- end of the generated tables -->"
CORPUS_PLANS = sorted((TESTS / "fuzz_corpus" / "bundles").glob("runs-*.plan.json"))


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@cache
def compiled_journeys() -> list[tuple[Journey, Schema | None, dict[str, Any]]]:
    """(journey, its schema, its plan as the bundle holds it) for every journey of PROJECTS whose file checks clean."""
    found: list[tuple[Journey, Schema | None, dict[str, Any]]] = []
    for paths in PROJECTS:
        templates = paths[0].parent / "templates" if paths[0].is_file() else paths[0] / "templates"
        project = load_project(paths, templates_dir=templates if templates.is_dir() else ROOT / "templates")
        broken = {d.span.file for d in check_project(project) if d.severity is Severity.ERROR and d.span is not None}
        for file, journey in project.journey_files():
            if file.path in broken:
                continue
            schema = project.schema_for(journey)
            plan = lower_journey(journey, schema, source=file.path)
            found.append((journey, schema, json.loads(json.dumps(plan))))
    return found


# --------------------------------------------------------------------------- the schema, generated and committed


@pytest.mark.parametrize("path", sorted(SCHEMA_FILES), ids=lambda p: p.name)
def test_the_generated_schema_is_the_committed_one(path: Path) -> None:
    assert path.read_text(encoding="utf-8") == schema_text(SCHEMA_FILES[path]), (
        f"the plan format changed: review the change, then `python tests/test_plan_format.py --write` ({path.name})"
    )


def test_the_generated_schemas_are_valid_draft_2020_12() -> None:
    for schema in SCHEMA_FILES.values():
        jsonschema.Draft202012Validator.check_schema(schema)


# --------------------------------------------------------------------------- what the compiler writes


def test_jsonschema_accepts_every_plan_the_compiler_writes() -> None:
    compiled = compiled_journeys()
    assert len(compiled) >= 13 and len({j.name for j, _, _ in compiled}) >= 8  # a reason to trust this test
    assert len([p for p in compiled if str(p[2]["source"]).startswith(str(ROOT / "journeys"))]) >= 7
    checker = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    for journey, _, plan in compiled:
        assert [e.message for e in checker.iter_errors(plan)] == [], (journey.name, plan["source"])
        validate_plan(plan)


def test_jsonschema_accepts_every_index_the_compiler_writes() -> None:
    checker = jsonschema.Draft202012Validator(INDEX_SCHEMA)
    index = build_index(plan for _, _, plan in compiled_journeys())
    assert [e.message for e in checker.iter_errors(index)] == []
    validate_index(index)


@pytest.mark.parametrize("path", CORPUS_PLANS, ids=lambda p: p.name)
def test_jsonschema_accepts_every_plan_of_the_corpus_that_runs(path: Path) -> None:
    plan = json.loads(path.read_bytes())
    validate_plan(plan)
    assert [e.message for e in jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(plan)] == []


# --------------------------------------------------------------------------- the document's tables


def _is_typeddict(hint: object) -> bool:
    return isinstance(hint, type) and hasattr(hint, "__total__")


def _range(rule: pf.Rule) -> str:
    keywords = pf.RULES[rule.name]
    if "minLength" in keywords:
        return "non-empty"
    if "minItems" in keywords:
        return "non-empty"
    low, high = keywords["minimum"], keywords["maximum"]
    shown = {pf.MAX_SAFE_INTEGER: "2^53−1", -pf.MAX_SAFE_INTEGER: "−(2^53−1)"}
    return f"{shown.get(low, f'{low:,}')} to {shown.get(high, f'{high:,}')}"


def words(hint: object) -> str:
    """How the document writes a value of this type."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is Annotated:
        inner, *meta = args
        defs = [m.name for m in meta if isinstance(m, pf.Def)]
        if defs and defs[0] == "expr":
            return "[EXPR](#expression-tags)"
        if defs and defs[0] == "step_id":
            return "step id"
        rules = [_range(m) for m in meta if isinstance(m, pf.Rule)]
        if defs and defs[0] == "duration":
            return f"seconds ({', '.join(rules)})"
        items = [m for m in meta if isinstance(m, pf.Items)]
        text = "[" + ", ".join(words(t) for t in items[0].types) + "]" if items else words(inner)
        if rules and rules[0] == "non-empty":
            return f"non-empty {text}"
        return f"{text} ({', '.join(rules)})" if rules else text
    if origin is Literal:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in args)
    if origin is list:
        return f"list of {words(args[0])}"
    if origin is dict:
        return f"{{name: {words(args[1])}}}"
    if origin is Union or type(hint).__name__ == "UnionType":
        return " or ".join(words(member) for member in args)
    if _is_typeddict(hint):
        return f"[{hint.__name__}](#{hint.__name__.lower()})"  # type: ignore[attr-defined]
    return {str: "string", int: "integer", float: "number", bool: "bool", type(None): "null"}[hint]  # type: ignore[index]


def _typeddicts(hint: object, found: list[type]) -> None:
    """The TypedDicts a type reaches, depth-first in field order."""
    if _is_typeddict(hint):
        assert isinstance(hint, type)
        if hint in found:
            return
        found.append(hint)
        for field in get_type_hints(hint, include_extras=True).values():
            _typeddicts(field, found)
        return
    origin, args = get_origin(hint), get_args(hint)
    for arg in args[:1] if origin is Annotated else args:
        _typeddicts(arg, found)
    if origin is Annotated:
        for meta in args[1:]:
            for inner in meta.types if isinstance(meta, pf.Items) else ():
                _typeddicts(inner, found)


def _table(typed: type) -> list[str]:
    doc = inspect.cleandoc(typed.__doc__ or "").split("\n\n")
    lines = [f"#### {typed.__name__}", "", " ".join(doc[0].split()), "", "| key | value |", "|---|---|"]
    for key, hint in get_type_hints(typed, include_extras=True).items():
        optional = get_origin(hint) is NotRequired
        value = words(get_args(hint)[0] if optional else hint)
        lines.append(f"| `{key}` | {value}{' (optional)' if optional else ''} |")
    lines.extend(f"\n{' '.join(paragraph.split())}" for paragraph in doc[1:])
    return [*lines, ""]


def _expressions() -> list[str]:
    forms = {
        "lit": "VALUE",
        "dur": "SECONDS",
        "ref": "ROOT, NAME",
        "list": "E, …",
        "unary": "E",
        "binary": "LEFT, RIGHT",
        "call": "FUNCTION, E, …",
    }
    lines = ["#### Expression tags", "", "| form | meaning |", "|---|---|"]
    for tag, spec in pf.EXPR_TAGS.items():
        lines.append(f"| `[{json.dumps(tag)}, {forms[spec.kind]}]` | {spec.meaning} |")
    roots = ", ".join(
        f"`{root}`" if attrs == () else f"`{root}.NAME`" if attrs is None else f"`{root}.{'|'.join(attrs)}`"
        for root, attrs in pf.REF_ROOTS.items()
    )
    functions = ", ".join(
        f"`{name}` ({low if low == high else f'{low} to {high}'})"
        for name, (low, high, _) in sorted(_FUNCTIONS.items())
    )
    return [*lines, "", f"Names (`ref`): {roots}. Functions (`call`), with the arguments they take: {functions}.", ""]


def document_tables() -> str:
    plan: list[type] = []
    _typeddicts(pf.PlanJson, plan)
    index: list[type] = []
    _typeddicts(pf.IndexJson, index)
    lines = [BEGIN, ""]
    for typed in [*plan, *index]:
        lines.extend(_table(typed))
    lines.extend(_expressions())
    return "\n".join([*lines, END])


def _document_with_tables(text: str) -> str:
    before, _, rest = text.partition(BEGIN)
    _, _, after = rest.partition(END)
    return before + document_tables() + after


def test_the_document_s_tables_are_the_format_s() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert text == _document_with_tables(text), (
        "docs/bundle-format.md differs from plan_format.py: `python tests/test_plan_format.py --write`"
    )


def test_the_document_names_every_object_of_the_format() -> None:
    tables = document_tables()
    objects = [v for v in vars(pf).values() if _is_typeddict(v)]
    assert len(objects) >= 25
    for typed in objects:
        assert f"#### {typed.__name__}\n" in tables, typed


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_plan_format.py --write   (rewrites the committed schemas and doc tables)")
    for target, generated in SCHEMA_FILES.items():
        target.write_text(schema_text(generated), encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")
    DOC.write_text(_document_with_tables(DOC.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the tables of {DOC.relative_to(ROOT)}")
