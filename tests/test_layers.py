"""The layers of journeydsl, checked against the import graph drawn from the code (issue 13).

Every module under src/journeydsl is parsed with `ast`; each `import` and `from ... import` counts wherever it is
written: at the top, inside a function (a lazy import is still a dependency, only a later one), and inside
`if TYPE_CHECKING:` (a type from a higher layer still means the lower layer knows about it, and the day it is
needed at run time the layering is already wrong). Importing a submodule also runs its package's `__init__`, but
that is Python's doing, not a dependency the module chose: `from journeydsl.runtime import state` is an edge to
journeydsl.runtime.state only, and `from journeydsl.runtime import Engine` one to journeydsl.runtime (its
`__init__`). Imports by computed name (`importlib.import_module`: the CLI's command table, the runtime's table of
stores) are not seen; both point from a table to the modules it lists, in its own package.

A layer is the first name under `journeydsl` (a package: `check`, `runtime`; or a top-level module: `ir`,
`project`); the package root itself, which holds only `__version__`, is the layer `journeydsl`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from journeydsl.check.graph import strongly_connected as graph_components

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "journeydsl"

# layer -> (the layers it may import besides its own modules, why it sits where it does). Read bottom-up, as the
# pipeline runs: text -> IR -> project -> checked project -> diagrams, docs, diffs, bundles; bundles -> runtime.
LAYERS: dict[str, tuple[frozenset[str], str]] = {
    "journeydsl": (frozenset(), "the package root: only __version__"),
    "resources": (frozenset(), "finds the data files shipped in the wheel (grammar, docs templates)"),
    "ir": (frozenset(), "the IR: plain dataclasses every stage of the front end shares"),
    "runtime": (
        frozenset(),
        "runs bundles from the bundle format alone, so a server installs it without the front end",
    ),
    "diagnostics": (frozenset({"journeydsl", "ir"}), "codes and findings on IR spans (the version for SARIF)"),
    "syntax": (
        frozenset({"ir", "diagnostics", "resources", "runtime"}),
        "parses DSL and YAML into IR; its size limits are the runtime's plan schema's, one contract",
    ),
    "project_file": (
        frozenset({"ir", "diagnostics"}),
        "finds and reads the project file (journeydsl.toml, [tool.journeydsl]); reads no journey",
    ),
    "project": (frozenset({"ir", "diagnostics", "syntax"}), "reads the named files and parses them into one project"),
    "check": (
        frozenset({"ir", "diagnostics", "syntax", "project_file", "project", "runtime"}),
        "checks a project; templates through the runtime's own sandbox, so check and run agree (and runs the "
        "registry's project-file examples through the project file's reader)",
    ),
    "render": (frozenset({"ir", "syntax"}), "draws journeys from IR (labels print expressions as the DSL does)"),
    "docs": (
        frozenset({"ir", "diagnostics", "syntax", "render", "resources"}),
        "a static site of journeys: diagrams from render, DSL text from syntax",
    ),
    "diff": (
        frozenset({"ir", "diagnostics", "syntax", "project", "check", "render"}),
        "compares two checked versions of a journey; draws the difference with render",
    ),
    "compile": (
        frozenset({"journeydsl", "ir", "diagnostics", "project", "check", "runtime"}),
        "turns a checked project into the bundle format, written and verified with the runtime's own reader",
    ),
    "analytics": (
        frozenset({"journeydsl", "ir", "resources", "render", "runtime"}),
        "reports on what a runtime store recorded, with the bundle's plans; overlays drawn with render",
    ),
    "testing": (
        frozenset({"ir", "diagnostics", "syntax", "project", "check", "compile", "runtime"}),
        "scenario tests: read with the front end's safe YAML; compiles the project and runs it on the real engine",
    ),
    "service": (
        frozenset({"journeydsl", "runtime"}),
        "`serve`: the runtime behind HTTP (ASGI app, metrics, hot reload); the runtime never imports it",
    ),
    "flink": (
        frozenset({"journeydsl", "runtime"}),
        "the same step core on Apache Flink (optional extra); the runtime never imports it",
    ),
    "api": (
        frozenset(
            {"journeydsl", "resources", "ir", "diagnostics", "syntax", "project_file", "project", "check"}
            | {"render", "docs", "diff", "compile", "analytics", "testing", "runtime"}
        ),
        "the public Python facade over the front end; nothing in the package imports it",
    ),
    "lsp": (
        frozenset(
            {"journeydsl", "resources", "ir", "diagnostics", "syntax", "project_file", "project", "check"}
            | {"render", "docs", "diff", "compile", "analytics", "testing", "runtime"}
        ),
        "`journeydsl lsp`: the language server, on the front end as the checker and printers are",
    ),
    "cli": (frozenset(), "the command line, on top: it may import every other layer (filled in below)"),
}
LAYERS["cli"] = (frozenset(LAYERS) - {"cli"}, LAYERS["cli"][1])

# Module import cycles that exist today and are being removed (none since the syntax dsl/grammar/errors one went,
# issue 13); the test fails on any other cycle, and on one of these once it is gone (so the entry goes with it).
KNOWN_CYCLES: list[frozenset[str]] = []

# Third-party libraries of the front end that the runtime must not load (docs/bundle-format.md: the runtime reads
# the bundle format only), and click, which only the command line uses.
FRONT_END_LIBRARIES = ("lark", "yaml", "graphviz", "click")
CLICK_LAYERS = {"cli"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (journeydsl.*), or the top-level name of a library
    line: int

    def where(self) -> str:
        return f"{MODULES[self.source].relative_to(SRC)}:{self.line}"


def find_modules(src: Path, package: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted((src / package).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(module: str, modules: dict[str, Path], package: str = PACKAGE) -> Iterator[Import]:
    """Every import the module's code writes, anywhere in it (`ast.walk`: functions and `if` blocks included)."""
    path = modules[module]
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")[: len(here.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            # `from pkg import mod` depends on pkg.mod; `from pkg import Name`, on pkg itself.
            names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in modules else origin for a in node.names]
        for name in names:
            if name == package or name.startswith(package + "."):
                while name not in modules:  # `import pkg.mod.Name`-like spellings: the nearest module
                    name = name.rpartition(".")[0]
                if name != module:
                    yield Import(module, name, node.lineno)
            else:
                yield Import(module, name.partition(".")[0], node.lineno)


def graph_of(imports: list[Import], modules: dict[str, Path]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {module: set() for module in modules}
    for found in imports:
        if found.target in modules:
            graph[found.source].add(found.target)
    return graph


MODULES = find_modules(SRC, PACKAGE)
IMPORTS = [found for module in MODULES for found in imports_of(module, MODULES)]
GRAPH = graph_of(IMPORTS, MODULES)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else PACKAGE


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The groups of modules that import each other, directly or not (the checker's Tarjan, JD302's)."""
    nodes = sorted(graph)
    return [frozenset(group) for group in graph_components(nodes, {node: sorted(graph[node]) for node in nodes})]


# ---- the table itself


def test_every_layer_in_the_code_has_a_row() -> None:
    missing = sorted({layer(module) for module in MODULES} - set(LAYERS))
    assert missing == [], f"add these to LAYERS, with what they may import and why: {missing}"
    unknown = sorted({name for allowed, _ in LAYERS.values() for name in allowed} - set(LAYERS))
    assert unknown == []


def test_the_table_is_a_layering() -> None:
    """No two layers may import each other, even through others: the table orders them."""
    table = {name: set(allowed) for name, (allowed, _) in LAYERS.items()}
    assert [group for group in strongly_connected(table) if len(group) > 1] == []


# ---- the code against the table


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong = [
        f"{found.where()}: {found.source} imports {found.target}, but {layer(found.source)} may not import "
        f"{layer(found.target)} ({LAYERS[layer(found.source)][1]})"
        for found in IMPORTS
        if found.target in MODULES
        and layer(found.target) != layer(found.source)
        and layer(found.target) not in LAYERS[layer(found.source)][0]
    ]
    assert wrong == [], "\n".join(wrong)


def test_the_runtime_loads_no_front_end_library() -> None:
    wrong = [
        f"{found.where()}: {found.target}"
        for found in IMPORTS
        if layer(found.source) == "runtime" and found.target in FRONT_END_LIBRARIES
    ]
    assert wrong == [], "\n".join(wrong)


def test_only_the_command_line_uses_click() -> None:
    wrong = [
        f"{found.where()}" for found in IMPORTS if found.target == "click" and layer(found.source) not in CLICK_LAYERS
    ]
    assert wrong == [], "\n".join(wrong)


def test_no_import_cycles_between_modules() -> None:
    cycles = [group for group in strongly_connected(GRAPH) if len(group) > 1]
    new = [sorted(group) for group in cycles if group not in KNOWN_CYCLES]
    assert new == [], "modules that import each other (directly or through others)"
    gone = [sorted(group) for group in KNOWN_CYCLES if group not in cycles]
    assert gone == [], "a known cycle is gone (or changed): update KNOWN_CYCLES"


# ---- the tools of this test


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    files = {
        "pkg/__init__.py": "from pkg.low import Thing\n",
        "pkg/low.py": "import json\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/top.py": """
from __future__ import annotations
from typing import TYPE_CHECKING
from pkg import low
from . import sibling
from ..low import Thing
if TYPE_CHECKING:
    from pkg.typed import Shape
def later() -> None:
    import pkg.lazy
    from yaml import safe_load
""",
        "pkg/sub/sibling.py": "",
        "pkg/typed.py": "",
        "pkg/lazy.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    modules = find_modules(tmp_path, "pkg")
    found = {(i.target, i.line) for i in imports_of("pkg.sub.top", modules, "pkg")}
    assert found == {
        ("__future__", 2),
        ("typing", 3),
        ("pkg.low", 4),  # a submodule named in `from pkg import`: not pkg's __init__
        ("pkg.sub.sibling", 5),
        ("pkg.low", 6),
        ("pkg.typed", 8),  # under TYPE_CHECKING: it counts
        ("pkg.lazy", 10),  # inside a function: it counts
        ("yaml", 11),
    }
    assert {i.target for i in imports_of("pkg", modules, "pkg")} == {"pkg.low"}


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [{"a", "b", "c"}]),
        ({"a": {"b"}, "b": set()}, []),
        ({"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"c"}}, [{"a", "b"}, {"c", "d"}]),
    ],
)
def test_strongly_connected(graph: dict[str, set[str]], expected: list[set[str]]) -> None:
    found = [set(group) for group in strongly_connected(graph) if len(group) > 1]
    assert sorted(found, key=sorted) == expected
