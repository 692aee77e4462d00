"""The checker: SPEC section 5 as an ordered tuple of named passes over a loaded project.

Each pass is `(project, sink) -> None`, reads the IR, and only reports; `check_project` runs them
all on the files that parsed and returns the parse diagnostics plus theirs, sorted by location.
"""

from __future__ import annotations

from collections.abc import Callable

from journeydsl.check.contact_policy import check_contact_policy
from journeydsl.check.emit_loops import check_emit_loops
from journeydsl.check.experiments import check_experiments
from journeydsl.check.graph import check_graph
from journeydsl.check.migrations import check_migrations
from journeydsl.check.names import (
    check_duplicates,
    check_header,
    check_schema_consents,
    check_schema_names,
    check_step_targets,
)
from journeydsl.check.policy import check_policy
from journeydsl.check.scenarios import check_scenario_events
from journeydsl.check.templates import check_templates
from journeydsl.check.types import check_types
from journeydsl.diagnostics import Diagnostic, Sink
from journeydsl.project import Project

Pass = Callable[[Project, Sink], None]

PASSES: tuple[tuple[str, Pass], ...] = (
    ("duplicates", check_duplicates),
    ("header", check_header),
    ("step-targets", check_step_targets),
    ("migrations", check_migrations),
    ("schema-names", check_schema_names),
    ("schema-consents", check_schema_consents),
    ("types", check_types),
    ("graph", check_graph),
    ("experiments", check_experiments),
    ("policy", check_policy),
    ("contact-policy", check_contact_policy),
    ("emit-loops", check_emit_loops),
    ("scenario-events", check_scenario_events),
    ("templates", check_templates),
)


def check_project(project: Project, passes: tuple[tuple[str, Pass], ...] = PASSES) -> list[Diagnostic]:
    """Every diagnostic of the project (parse and checks), sorted by file, line and column."""
    sink = Sink()
    for _name, run in passes:
        run(project, sink)
    # The front ends and the passes report different things (a name written twice only in check_duplicates).
    return sorted([*project.diagnostics, *sink.diagnostics], key=lambda d: d.sort_key)


__all__ = ["PASSES", "Pass", "check_project"]
