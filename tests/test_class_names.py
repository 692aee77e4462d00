"""A public class name means one class in the package (issue 13 item 8).

The front end's errors once shared their names with the runtime's (`ExprError`, `PlanError`, `RenderError`), so a
reader could not tell from an `except` which one it caught. The front end's are now `ExprLoweringError`,
`JourneyLoweringError` (compile/) and `DiagramError` (render/); the old names stay as aliases of those only while
code outside the front end's owners still imports them.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "journeydsl"

# name -> why two classes share it
KNOWN_SHARED = {
    "Step": "ir.Step is a step of the IR, runtime.plan.Step one of a loaded plan; the runtime may not import the IR",
}


def test_public_class_names_are_unique() -> None:
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                found[node.name].append(str(path.relative_to(SRC)))
    shared = {name: paths for name, paths in found.items() if len(paths) > 1 and name not in KNOWN_SHARED}
    assert shared == {}, "rename one of each, to say what it is"
