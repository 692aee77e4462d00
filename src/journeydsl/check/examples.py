"""Runs the examples of the diagnostic registry through the real loader and checker.

Where it sits: in the check package, above project and diagnostics. The examples and the folder they sit in
(EXAMPLE_SCHEMA, EXAMPLE_TEMPLATES) are data of the diagnostics package, which documents them
(diagnostics/docgen.py); running them needs the checker, which the diagnostics package sits below.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from journeydsl.check import check_project
from journeydsl.diagnostics.docgen import EXAMPLE_SCHEMA, EXAMPLE_TEMPLATES, is_project_file_code, is_yaml_example
from journeydsl.diagnostics.examples import LATIN1_BAD
from journeydsl.diagnostics.model import Diagnostic
from journeydsl.project import load_project
from journeydsl.project_file import PROJECT_FILE, parse_config


def example_filename(text: str) -> str:
    return "example.journey.yaml" if is_yaml_example(text) else "example.journey"


def run_example(text: str, code: str = "", bad: bool = False) -> list[Diagnostic]:
    """Check one example in a fresh folder holding the example schema and templates; a project file's example
    (JD09x) is read as the project file it is."""
    if is_project_file_code(code):
        return parse_config(text, PROJECT_FILE)[1]
    with tempfile.TemporaryDirectory(prefix="jd-example-") as tmp:
        root = Path(tmp)
        (root / "shop.journey").write_text(EXAMPLE_SCHEMA, encoding="utf-8")
        for name, body in EXAMPLE_TEMPLATES.items():
            path = root / "templates" / "messages" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body, encoding="utf-8")
        path = root / example_filename(text)
        path.write_bytes(text.encode("latin-1" if bad and code in LATIN1_BAD else "utf-8"))
        return check_project(load_project([path], templates_dir=root / "templates"))
