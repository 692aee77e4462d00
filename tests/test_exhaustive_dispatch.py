"""Every dispatch over the IR's node kinds ends in `typing.assert_never`: mypy lists where a new kind must go.

A new flow (step) kind, action kind or expression node is a new member of the union `ir.Flow`, `ir.Action` or
`ir.Expr`. A function that tells the members apart with `isinstance` (or `match`) and ends in
`assert_never(subject)` fails mypy the day a member is added and not handled: that is the list of work for the new
kind (docs/architecture.md, "Extension points"). A chain that ends in `raise TypeError` instead is found only at run
time, by the first journey that uses the new kind. Running mypy on a patched copy of the package from this test
takes seconds, so the test reads the code with `ast` instead, and checks three things:

- a function that tests one subject against three or more members of one union is a dispatch: it must call
  `assert_never` on that subject (fewer than three is a filter, e.g. "the `Send` actions of a step");
- no `raise ...("unknown ... node ...")` fallback is left;
- docs/architecture.md names every file that holds such a dispatch, under the union's kind.

The partial dispatches below are deliberate or not this change's files; each says why. An entry that no longer
matches the code fails the test, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

from journeydsl import ir

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "journeydsl"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# The runtime dispatches over the bundle format's flow kinds (strings in plan.json), not over the IR's classes.
SKIPPED_PACKAGES = ("runtime",)

UNIONS: dict[str, object] = {"Flow": ir.Flow, "Action": ir.Action, "Expr": ir.Expr}
UNION_OF: dict[str, str] = {cls.__name__: union for union, alias in UNIONS.items() for cls in get_args(alias)}

# (file under src/journeydsl, function, subject) -> why it may tell three or more kinds apart without assert_never.
PARTIAL_DISPATCHES: dict[tuple[str, str, str], str] = {
    ("check/graph.py", "_const", "expr"): "folds literals only: any other node is `_UNKNOWN` by design",
    ("check/names.py", "check_schema_names", "action"): "checks the names some kinds carry: the rest have none",
    ("testing/synth.py", "_walk", "flow"): "testing/ is not this change's (issue 13)",
}

_UNKNOWN_NODE_RAISE = re.compile(r"raise \w+\(f?[\"']unknown (flow|action|expression) node")


@dataclass
class Dispatch:
    file: str
    function: str
    subject: str
    members: set[str] = field(default_factory=set)
    exhaustive: bool = False

    @property
    def union(self) -> str:
        return UNION_OF[next(iter(self.members))]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.file, self.function, self.subject)


def _ir_names(tree: ast.Module, relative: str) -> set[str]:
    """The IR's class names as the module sees them: imported from journeydsl.ir (so jinja2's `nodes.Name` is not
    `ir.Name`), or, in ir.py itself, defined there."""
    if relative == "ir.py":
        return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}
    return {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "journeydsl.ir"
        for alias in node.names
    }


def _own_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """The nodes of a function's body, without those of the functions defined inside it."""
    found: list[ast.AST] = []
    work: list[ast.AST] = list(function.body)
    while work:
        node = work.pop()
        found.append(node)
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            work.extend(ast.iter_child_nodes(node))
    return found


def _classes(node: ast.expr, known: set[str]) -> list[str]:
    names = node.elts if isinstance(node, ast.Tuple) else [node]
    return [n.id for n in names if isinstance(n, ast.Name) and n.id in known and n.id in UNION_OF]


def _pattern_classes(pattern: ast.pattern, known: set[str]) -> list[str]:
    if isinstance(pattern, ast.MatchOr):
        return [name for sub in pattern.patterns for name in _pattern_classes(sub, known)]
    if isinstance(pattern, ast.MatchAs) and pattern.pattern is not None:
        return _pattern_classes(pattern.pattern, known)
    if isinstance(pattern, ast.MatchClass):
        return _classes(pattern.cls, known)
    return []


def dispatches_in(path: Path, root: Path = SRC) -> list[Dispatch]:
    """Per function and subject, the union members it is tested against, and whether it asserts the rest never."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    relative = path.relative_to(root).as_posix()
    known = _ir_names(tree, relative)
    found: list[Dispatch] = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        by_subject: dict[str, Dispatch] = {}
        never: set[str] = set()
        for node in _own_nodes(function):
            tested: list[tuple[str, list[str]]] = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "isinstance" and len(node.args) == 2:
                    tested.append((ast.unparse(node.args[0]), _classes(node.args[1], known)))
                elif node.func.id == "assert_never" and node.args:
                    never.add(ast.unparse(node.args[0]))
            elif isinstance(node, ast.Match):
                subject = ast.unparse(node.subject)
                tested.extend((subject, _pattern_classes(case.pattern, known)) for case in node.cases)
            for subject, classes in tested:
                for name in classes:
                    dispatch = by_subject.setdefault(subject, Dispatch(relative, function.name, subject))
                    dispatch.members.add(name)
        for dispatch in by_subject.values():
            dispatch.exhaustive = dispatch.subject in never
            if len(dispatch.members) >= 3 and len({UNION_OF[m] for m in dispatch.members}) == 1:
                found.append(dispatch)
    return found


def _source_files() -> list[Path]:
    return [
        path
        for path in sorted(SRC.rglob("*.py"))
        if path.relative_to(SRC).parts[0] not in SKIPPED_PACKAGES and "__pycache__" not in path.parts
    ]


DISPATCHES = [dispatch for path in _source_files() for dispatch in dispatches_in(path)]


def test_every_dispatch_over_a_union_ends_in_assert_never() -> None:
    wrong = [
        f"src/journeydsl/{d.file}: {d.function}() tells {d.subject!r} apart by {sorted(d.members)} ({d.union}) "
        f"but does not end in assert_never({d.subject})"
        for d in DISPATCHES
        if not d.exhaustive and d.key not in PARTIAL_DISPATCHES
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_partial_dispatches_are_still_partial() -> None:
    """An entry of PARTIAL_DISPATCHES whose function was made exhaustive, renamed or removed goes."""
    partial = {d.key for d in DISPATCHES if not d.exhaustive}
    stale = [key for key in PARTIAL_DISPATCHES if key not in partial]
    assert stale == [], "delete these from PARTIAL_DISPATCHES"


def test_no_unknown_node_fallback_is_left() -> None:
    allowed = {file for file, _, _ in PARTIAL_DISPATCHES}
    found = [
        f"src/journeydsl/{path.relative_to(SRC).as_posix()}:{number}: {line.strip()}"
        for path in _source_files()
        if path.relative_to(SRC).as_posix() not in allowed
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if _UNKNOWN_NODE_RAISE.search(line)
    ]
    assert found == [], "end the dispatch in typing.assert_never(subject) instead:\n" + "\n".join(found)


def test_the_architecture_page_names_every_dispatching_file() -> None:
    """docs/architecture.md lists, per kind of node, the files mypy sends you to; this keeps the list whole."""
    text = ARCHITECTURE.read_text(encoding="utf-8")
    missing = sorted(
        f"{d.union}: src/journeydsl/{d.file}"
        for d in DISPATCHES
        if d.exhaustive and f"src/journeydsl/{d.file}" not in _section(text, d.union)
    )
    assert missing == []


def _section(text: str, union: str) -> str:
    """The list of files under the union's marker on the page: the `- ` lines right after it."""
    marker = f"<!-- dispatch: {union} -->"
    assert marker in text, f"docs/architecture.md has no {marker} list"
    items: list[str] = []
    for line in text.split(marker, 1)[1].lstrip("\n").splitlines():
        if not line.startswith("- "):
            break
        items.append(line)
    return "\n".join(items)


def test_the_reader_sees_both_kinds_of_dispatch(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import assert_never\n"
        "from journeydsl.ir import Goto, Sleep, End, Send, Emit, SetProfile\n"
        "def chain(flow):\n"
        "    if isinstance(flow, (Goto, Sleep)):\n"
        "        return 1\n"
        "    if isinstance(flow, End):\n"
        "        return 2\n"
        "    assert_never(flow)\n"
        "def matched(action):\n"
        "    match action:\n"
        "        case Send() | Emit():\n"
        "            return 1\n"
        "        case SetProfile(field=f):\n"
        "            return f\n"
        "def filter_(step):\n"
        "    return isinstance(step.flow, Goto) or isinstance(step.flow, End)\n",
        encoding="utf-8",
    )
    found = {(d.function, d.subject, frozenset(d.members), d.exhaustive) for d in dispatches_in(sample, tmp_path)}
    assert found == {
        ("chain", "flow", frozenset({"Goto", "Sleep", "End"}), True),
        ("matched", "action", frozenset({"Send", "Emit", "SetProfile"}), False),
    }
