"""Helpers of the runtime tests: journey DSL text -> an in-memory bundle -> an Engine.

The bundle is compiled by the real compiler (`compile_project`) when it is available; a bundle
that must hold two versions of one journey (version pinning) is assembled from the compiler's
`lower_journey` and `build_index`, which is what a bundle holds as well.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from journeydsl.compile.plan import build_index, lower_journey
from journeydsl.project import load_project
from journeydsl.runtime import Engine

# A timer that may lie before the event that sets it (`at EXPR` in the past): the engine fires it at the stream's
# clock, a keyed driver at the customer's (tests/runtime/test_step_core.py, tests/flink).
PAST_TIMER_JOURNEY = """
schema s {
  profile { email: string }
  event moved { date: timestamp }
  event ping {}
  channel email { cost 0 }
}
journey move {
  version 1
  owner "o@x"
  uses s
  entry on moved
  stage main {
    step waiting { wait { at event.date + 1d -> late } }
    step late { send email late -> done }
    step done { end done }
  }
}
"""

SEND = re.compile(r"\bsend\s+([a-z_][a-z0-9_]*)\s+([a-z_][a-z0-9_]*)")


def _write_project(root: Path, texts: list[str], templates: dict[str, str]) -> list[Path]:
    paths = []
    for number, text in enumerate(texts):
        path = root / f"case{number}" / "case.journey"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
        # Every template a send names exists; a case may give its text, otherwise a plain default.
        for channel, name in SEND.findall(text):
            templates.setdefault(f"{channel}/{name}", f"{name} for {{{{ profile.email }}}}")
    for name, body in templates.items():
        target = root / "templates" / "messages" / f"{name}.j2"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body, encoding="utf-8")
    return paths


def plans_of(path: Path, templates_dir: Path) -> list[dict[str, Any]]:
    project = load_project([path], templates_dir=templates_dir)
    assert not project.has_errors, [d.message for d in project.diagnostics]
    return [lower_journey(j, project.schema_for(j)) for j in project.journeys()]


def build_bundle(root: Path, texts: list[str], templates: dict[str, str] | None = None) -> Any:
    """A bundle of every journey in `texts` (each text its own project folder, so versions may repeat)."""
    templates = dict(templates or {})
    paths = _write_project(root, texts, templates)
    template_files = {f"templates/messages/{name}.j2": body for name, body in templates.items()}
    if len(texts) == 1:
        try:
            from journeydsl.compile import compile_project  # type: ignore[attr-defined]
        except ImportError:
            compile_project = None
        if compile_project is not None:
            project = load_project(paths, templates_dir=root / "templates")
            assert not project.has_errors, [d.message for d in project.diagnostics]
            return compile_project(project, [str(p) for p in paths])
    plans: dict[tuple[str, int], dict[str, Any]] = {}
    for path in paths:
        for plan in plans_of(path, root / "templates"):
            plans[(plan["journey"], plan["version"])] = plan
    index = build_index(plans.values())
    return SimpleNamespace(manifest={}, index=index, plans=plans, templates=template_files)


def open_engine(root: Path, texts: list[str], templates: dict[str, str] | None = None, **options: Any) -> Engine:
    return Engine.open(build_bundle(root, texts, templates), **options)
