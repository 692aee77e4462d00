"""A hand-built journey with one step of each kind, for tests that must not depend on the parser."""

from __future__ import annotations

import functools
from pathlib import Path

from journeydsl.ir import (
    Binary,
    Choose,
    Duration,
    End,
    Entry,
    Experiment,
    Goto,
    Journey,
    Literal,
    Name,
    Send,
    Sleep,
    Stage,
    Step,
    Target,
    Timeout,
    Variant,
    Wait,
    WaitArm,
    When,
)
from journeydsl.project import Project, load_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"  # frozen copies of example journeys, so goldens stay put
TEMPLATES = REPO / "templates"


@functools.cache
def fixture_project() -> Project:
    """The frozen example journeys, parsed once; they must be free of errors."""
    project = load_project([FIXTURES], templates_dir=TEMPLATES)
    assert not project.has_errors, project.diagnostics
    return project


def every_kind_journey() -> Journey:
    """One step of each kind, a stage outside the four R's written first, built without the parser."""
    return Journey(
        name="every_kind",
        version=1,
        owner="qa@example.com",
        entry=Entry("signed_up"),
        stages=(
            Stage("extra", (Step("side", (), End("side")),)),
            Stage(
                "recognize",
                (
                    Step("hello", (Send("email", "welcome"),), Goto(Target("pause"))),
                    Step("pause", (), Sleep(Duration(2, "d"), Target("listen"))),
                    Step(
                        "listen",
                        (),
                        Wait((WaitArm("clicked", Target("pick")),), Timeout(Target("done"), after=Duration(7, "d"))),
                    ),
                    Step(
                        "pick",
                        (),
                        Choose(
                            (When(Binary(">", Name(("profile", "ltv")), Literal(100)), Target("split")),),
                            Target("done"),
                        ),
                    ),
                    Step(
                        "split",
                        (),
                        Experiment(
                            "copy",
                            (
                                Variant("bold", 70, Target("done")),
                                Variant("control", 30, Target("side"), control=True),
                            ),
                        ),
                    ),
                ),
            ),
            Stage("repeat", (Step("done", (), End("converted")),)),
        ),
    )
