"""The VS Code extension's static parts agree with the language: the grammar knows every keyword and highlights
the constructs it names, every file package.json points at exists, and the YAML form's JSON Schema it ships is
the one `journeydsl schema` prints today. (Building and packaging it is npm's: `npm ci`, `tsc`, `vsce`.)"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from journeydsl.lsp.completion import dsl_keywords
from journeydsl.syntax.json_schema import journey_json_schema

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def load(name: str) -> Any:
    return json.loads((EXTENSION / name).read_text(encoding="utf-8"))


def grammar_rules() -> dict[str, Any]:
    rules: dict[str, Any] = load("syntaxes/journey.tmLanguage.json")["repository"]
    return rules


def scopes_of(line: str) -> dict[str, str]:
    """Text -> the scope the grammar gives it, by trying the top-level rules in order (what TextMate does for
    single-line rules: the earliest match wins, then the first rule among equals)."""
    grammar = load("syntaxes/journey.tmLanguage.json")
    rules = grammar_rules()
    order = [rule["include"].lstrip("#") for rule in grammar["patterns"]]
    found: dict[str, str] = {}
    at = 0
    while at < len(line):
        best: tuple[int, int, re.Match[str], dict[str, Any]] | None = None
        for rank, name in enumerate(order):
            top = rules[name]
            for rule in top["patterns"] if "patterns" in top and "begin" not in top else [top]:
                pattern = rule.get("match") or rule.get("begin")
                match = re.compile(pattern).search(line, at)
                if match and match.end() > match.start() and (best is None or (match.start(), rank) < best[:2]):
                    best = (match.start(), rank, match, rule)
        if best is None:
            break
        _, _, match, rule = best
        end = match.end()
        if "begin" in rule:  # a region: from its begin to its end
            closing = re.compile(rule["end"]).search(line, end)
            end = closing.end() if closing else len(line)
        if "name" in rule:
            found[line[match.start() : end]] = rule["name"]
        for group, capture in rule.get("captures", {}).items():
            if match.group(int(group)):
                found[match.group(int(group))] = capture["name"]
        at = end
    return found


def test_every_file_the_manifest_names_exists() -> None:
    manifest = load("package.json")
    contributes = manifest["contributes"]
    named = [language["configuration"] for language in contributes["languages"]]
    named += [grammar["path"] for grammar in contributes["grammars"]]
    named += [schema["url"] for schema in contributes["yamlValidation"]]
    for name in named:
        assert (EXTENSION / name).is_file(), name
        load(name)  # and it is JSON
    assert manifest["main"] == "./out/extension.js"  # what `tsc -p .` writes from src/extension.ts
    assert (EXTENSION / "src" / "extension.ts").is_file()


def test_the_shipped_json_schema_is_journeydsl_schema_today() -> None:
    assert load("schemas/journey.schema.json") == journey_json_schema(), (
        "regenerate it: journeydsl schema > editors/vscode/schemas/journey.schema.json"
    )


@pytest.mark.parametrize("name", ["scenario.schema.json", "project.schema.json"])
def test_the_shipped_scenario_and_project_schemas_are_the_repositorys(name: str) -> None:
    repository = json.loads((EXTENSION.parents[1] / "schemas" / name).read_text(encoding="utf-8"))
    assert load(f"schemas/{name}") == repository, f"copy it again: cp schemas/{name} editors/vscode/schemas/"


def test_the_grammar_knows_every_keyword() -> None:
    rules = grammar_rules()
    text = json.dumps([rules["keyword"], rules["constant"], rules["operator"]])
    missing = [word for word in dsl_keywords() if not re.search(rf"[(|]{word}[|)]", text)]
    assert dsl_keywords() and missing == []


def test_every_pattern_compiles() -> None:
    for name, rule in grammar_rules().items():
        for item in [rule, *rule.get("patterns", [])]:
            for key in ("match", "begin", "end"):
                if key in item:
                    re.compile(item[key]), f"{name}.{key}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    step remind {", {"step": "keyword.other.declaration.journey", "remind": "entity.name.type.journey"}),
        (
            "      -> thanks  # done",
            {
                "->": "keyword.operator.arrow.journey",
                "thanks": "entity.name.function.step.journey",
                "# done": "comment.line.number-sign.journey",
            },
        ),
        (
            "send email reminder with { n: 1 }",
            {"email": "entity.name.tag.channel.journey", "reminder": "string.unquoted.template.journey"},
        ),
        (
            'when profile.tier == "gold" -> vip',
            {"profile": "variable.language.journey", '"gold"': "string.quoted.double.journey"},
        ),
        ("after 7d -> nudge", {"7d": "constant.numeric.duration.journey", "after": "keyword.control.flow.journey"}),
        (
            "  integration crm_task",
            {"integration": "keyword.other.declaration.journey", "crm_task": "entity.name.type.journey"},
        ),
        ("quiet 21:00-08:00", {"21:00-08:00": "constant.numeric.time-range.journey"}),
        (
            "where lower(event.kind) in [1, 2]",
            {"lower": "support.function.journey", "in": "keyword.operator.logical.journey"},
        ),
    ],
)
def test_the_grammar_highlights_each_construct(line: str, expected: dict[str, str]) -> None:
    found = scopes_of(line)
    assert {text: found.get(text) for text in expected} == expected
