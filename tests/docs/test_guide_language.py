"""docs/guide/language.md: every example checks, both forms of each pair are one journey, nothing is left out.

The page shows each construct as a DSL block beside a YAML block. Each pair is parsed by both front ends, must
give the same IR, and is checked next to the page's schema and templates (DSL examples beside the DSL schema,
YAML examples beside the YAML schema). Coverage: every rule and terminal of grammar/journey.lark must occur in
a DSL example, and every key the YAML loader accepts in a YAML example, so a new construct fails here until
the reference shows it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from lark import Lark, Token, Tree
from yaml.nodes import MappingNode, Node, SequenceNode

from journeydsl.check import check_project
from journeydsl.diagnostics import Severity, Sink
from journeydsl.docs.guide import Block, fenced_blocks
from journeydsl.ir import SourceFile
from journeydsl.project import load_project
from journeydsl.resources import grammar_path
from journeydsl.syntax import format_dsl, load_yaml, parse_dsl, to_yaml
from journeydsl.syntax import yaml_loader as loader_module
from journeydsl.syntax.safe_yaml import compose

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "guide" / "language.md"
BLOCKS = fenced_blocks(PAGE.read_text(encoding="utf-8"))
# The only warnings an example may give: examples leave out an owner or a goal where it is not their subject.
ALLOWED_WARNINGS = {"JD501", "JD502"}


def _pairs() -> list[tuple[Block, Block]]:
    pairs: list[tuple[Block, Block]] = []
    for first, second in zip(BLOCKS, BLOCKS[1:], strict=False):
        if first.lang == "journey" and second.lang == "yaml":
            pairs.append((first, second))
    return pairs


PAIRS = _pairs()
EXAMPLES = [pair for pair in PAIRS if not pair[0].has("file")]


def _pair_id(pair: tuple[Block, Block]) -> str:
    return f"line {pair[0].line}"


def _folder(root: Path, schema_suffix: str) -> Path:
    """A folder holding the page's schema (in one form) and its templates."""
    root.mkdir(parents=True, exist_ok=True)
    for block in BLOCKS:
        name = block.attrs.get("file")
        if not name:
            continue
        if name.startswith("shop.journey") and not name.endswith(schema_suffix):
            continue
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def dsl_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("dsl"), ".journey")


@pytest.fixture(scope="module")
def yaml_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("yaml"), ".yaml")


def _parse(block: Block, name: str) -> SourceFile:
    source, diagnostics = (load_yaml if block.lang == "yaml" else parse_dsl)(block.text, name)
    assert not diagnostics, f"{PAGE.name}:{block.line}: " + "; ".join(d.message for d in diagnostics)
    return source


def _same(a: SourceFile, b: SourceFile) -> bool:
    return a.journeys == b.journeys and a.schemas == b.schemas


def test_the_page_has_examples_and_its_files() -> None:
    assert len(EXAMPLES) >= 15
    names = {block.attrs["file"] for block in BLOCKS if block.has("file")}
    assert {"shop.journey", "shop.journey.yaml", "templates/messages/email/welcome.j2"} <= names
    paired = {id(block) for pair in PAIRS for block in pair}
    lonely = [block.line for block in BLOCKS if block.lang in ("journey", "yaml") and id(block) not in paired]
    assert not lonely, f"journey/yaml blocks without their other form at lines {lonely}"


def test_the_schema_is_the_same_in_both_forms() -> None:
    dsl, yaml_block = next(pair for pair in PAIRS if pair[0].attrs.get("file") == "shop.journey")
    assert yaml_block.attrs.get("file") == "shop.journey.yaml"
    a, b = _parse(dsl, "shop.journey"), _parse(yaml_block, "shop.journey.yaml")
    assert a.schemas and _same(a, b)


@pytest.mark.parametrize("pair", EXAMPLES, ids=_pair_id)
def test_both_forms_give_the_same_ir(pair: tuple[Block, Block]) -> None:
    dsl, yaml_block = pair
    a, b = _parse(dsl, "example.journey"), _parse(yaml_block, "example.journey.yaml")
    assert a.journeys, f"line {dsl.line}: no journey"
    assert _same(a, b), f"{PAGE.name}:{dsl.line}: the DSL and the YAML of this pair differ"
    # The project's own converters agree: each form printed as the other reads back the same.
    assert _same(_parse(Block("yaml", (), to_yaml(a), dsl.line), "x.journey.yaml"), a)
    assert _same(_parse(Block("journey", (), format_dsl(b), dsl.line), "x.journey"), b)


@pytest.mark.parametrize("pair", EXAMPLES, ids=_pair_id)
def test_each_example_checks(pair: tuple[Block, Block], dsl_folder: Path, yaml_folder: Path) -> None:
    for block, folder, suffix in ((pair[0], dsl_folder, ".journey"), (pair[1], yaml_folder, ".journey.yaml")):
        path = folder / f"example_{block.line}{suffix}"
        path.write_text(block.text, encoding="utf-8")
        try:
            found = check_project(load_project([path], templates_dir=folder / "templates"))
        finally:
            path.unlink()
        problems = [
            f"{d.code.code} {d.message}"
            for d in found
            if d.code.severity == Severity.ERROR or d.code.code not in ALLOWED_WARNINGS
        ]
        assert not problems, f"{PAGE.name}:{block.line} ({block.lang}): {problems}"


# --------------------------------------------------------------------------- coverage of the grammar


def _grammar() -> Lark:
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", start="start", keep_all_tokens=True)


def _tree_names(tree: Tree[Token]) -> Iterator[str]:
    for node in tree.iter_subtrees():
        yield str(node.data)
        for child in node.children:
            if isinstance(child, Token):
                yield child.type


def test_every_grammar_rule_and_terminal_has_an_example() -> None:
    """A rule or keyword added to grammar/journey.lark fails here until the reference shows it."""
    parser = _grammar()
    expected: set[str] = set()
    for rule in parser.rules:
        origin = str(rule.origin.name)
        if rule.alias:
            expected.add(str(rule.alias))
        elif not origin.startswith("_") and not rule.options.expand1:
            expected.add(origin)
    expected -= {"expression", "type"}  # start symbols for expression and type strings, not for files
    terminals = {t.name for t in parser.terminals} - set(parser.ignore_tokens)
    used: set[str] = set()
    comments = 0
    for block in BLOCKS:
        if block.lang == "journey":
            used.update(_tree_names(parser.parse(block.text)))
            comments += sum(line.lstrip().startswith("#") or " # " in line for line in block.text.splitlines())
    missing = sorted((expected | terminals) - used)
    assert not missing, f"grammar rules or terminals with no example in {PAGE.name}: {missing}"
    assert comments, "no example shows a comment"


# --------------------------------------------------------------------------- coverage of the YAML keys


def _loader_keys() -> set[str]:
    """Every key the YAML loader accepts: the tuples it passes to `mapping(...)` and its key constants."""
    tree = ast.parse(Path(loader_module.__file__).read_text(encoding="utf-8"))
    constants: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id.endswith("_KEYS"):
                    constants[target.id] = tuple(ast.literal_eval(node.value))
    keys: set[str] = set().union(*constants.values())
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "mapping":
            if len(call.args) >= 3:
                allowed = call.args[2]
                if isinstance(allowed, ast.Tuple):
                    keys.update(ast.literal_eval(allowed))
                elif isinstance(allowed, ast.Name):
                    keys.update(constants.get(allowed.id, ()))
    return keys


def _yaml_keys(node: Node) -> Iterator[str]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield str(key.value)
            yield from _yaml_keys(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _yaml_keys(item)


def test_every_yaml_key_has_an_example() -> None:
    """A key added to the YAML loader fails here until the reference shows it."""
    expected = _loader_keys()
    assert {"journey", "stages", "variants", "moves", "requires", "within"} <= expected  # the reading works
    used: set[str] = set()
    for block in BLOCKS:
        if block.lang == "yaml":
            for document in compose(block.text, "x.yaml", Sink()):
                used.update(_yaml_keys(document.root))
    missing = sorted(expected - used)
    assert not missing, f"YAML keys with no example in {PAGE.name}: {missing}"


def test_coverage_would_catch_a_missing_construct() -> None:
    """The coverage test is not vacuous: without the experiment example, `variant` and `control` are missing."""
    parser = _grammar()
    used: set[str] = set()
    for block in BLOCKS:
        if block.lang == "journey" and "experiment " not in block.text:
            used.update(_tree_names(parser.parse(block.text)))
    assert "variant" not in used and "control" not in used


# --------------------------------------------------------------------------- the editors' JSON Schema


def test_every_yaml_example_validates_against_the_json_schema() -> None:
    """What `journeydsl schema` gives editors accepts every YAML example of the page."""
    from jsonschema import Draft202012Validator

    from journeydsl.syntax.json_schema import journey_json_schema
    from journeydsl.syntax.yaml_loader import node_to_data

    validator = Draft202012Validator(journey_json_schema())
    for block in BLOCKS:
        if block.lang != "yaml":
            continue
        sink = Sink()
        for document in compose(block.text, "x.journey.yaml", sink):
            errors = [
                f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(node_to_data(document.root))
            ]
            assert not errors, f"{PAGE.name}:{block.line}: {errors}"
        assert not sink.diagnostics
