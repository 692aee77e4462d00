"""Semantic diff of journey files for pull-request review.

Public API: `read_side(spec)` (a file or a folder, either maybe `PATH@REV`), `diff_journeys(old, new)` and
`diff_schemas(old, new) -> list[Change]`, and the outputs `render_text`, `render_json`, `render_svg`.
"""

from journeydsl.diff.model import Change, diff_journey, diff_journeys
from journeydsl.diff.output import render_json, render_svg, render_text
from journeydsl.diff.schemas import diff_schema, diff_schemas
from journeydsl.diff.sources import Side, read_side

__all__ = [
    "Change",
    "Side",
    "diff_journey",
    "diff_journeys",
    "diff_schema",
    "diff_schemas",
    "read_side",
    "render_json",
    "render_svg",
    "render_text",
]
