"""The report as one self-contained HTML page: figures, a funnel bar chart and the overlay diagram,
both as inline SVG (no external assets, so the page works offline and as a CI artifact).

The page comes from `templates/docs/report.html.j2` (Jinja2, autoescaped, StrictUndefined).
SVG made here escapes every text it writes; the diagram SVG comes from Graphviz with counts on
steps and edge widths from the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jinja2
from markupsafe import Markup, escape

from journeydsl.analytics import ENTRY_NODE
from journeydsl.analytics.expect import arms
from journeydsl.analytics.plan_ir import PlanShapeError, plan_to_journey
from journeydsl.analytics.text import flag_text, money, number, percent, points, signed_money
from journeydsl.resources import docs_templates_dir
from journeydsl.runtime.plan_format import PlanJson

BAR_HEIGHT = 22
LABEL_WIDTH = 170
CHART_WIDTH = 640


def funnel_svg(steps: list[dict[str, Any]], entries: int) -> Markup:
    """Horizontal bars, one per step in journey order, as long as the step's reach."""
    widest = max([entries] + [step["reach"] for step in steps] + [1])
    bar_room = CHART_WIDTH - LABEL_WIDTH - 70
    height = BAR_HEIGHT * len(steps) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel" width="{CHART_WIDTH}" height="{height}" '
        f'viewBox="0 0 {CHART_WIDTH} {height}" role="img" aria-label="reach per step">'
    ]
    for row, step in enumerate(steps):
        y = 4 + row * BAR_HEIGHT
        width = round(bar_room * step["reach"] / widest, 1)
        name = escape(step["step"])
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end" font-size="12">{name}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{width}" height="{BAR_HEIGHT - 6}" fill="#4c78a8">'
            f"<title>{name}: {step['reach']}</title></rect>"
            f'<text x="{LABEL_WIDTH + width + 4}" y="{y + 15}" font-size="12">{step["reach"]}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def overlay_svg(
    plan: PlanJson | None, step_counts: dict[str, int], edge_counts: dict[tuple[str, str], int]
) -> tuple[Markup | None, str | None]:
    """(the diagram as inline SVG, None) or (None, why it could not be drawn)."""
    if plan is None:
        return None, "no plan for this journey version (give --bundle)"
    try:
        from journeydsl.render import DiagramError, journey_to_dot
        from journeydsl.render.runner import render_dot
    except ImportError as err:  # the diagram back end is optional for the figures
        return None, f"diagrams unavailable: {err}"
    try:
        journey = plan_to_journey(plan)
        svg = render_dot(journey_to_dot(journey, step_counts, edge_counts).source, "svg").decode("utf-8")
    except (PlanShapeError, DiagramError) as err:
        return None, str(err)
    # Drop the XML declaration and DOCTYPE: inside HTML the <svg> element stands alone.
    svg = re.sub(r"^(<\?xml[^>]*>|<!DOCTYPE[^>]*>|\s)+", "", svg)
    return Markup(svg), None


def render_html(report: dict[str, Any], plans: Mapping[tuple[str, int], PlanJson], source: Mapping[str, Any]) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(docs_templates_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, percent=percent, number=number, points=points, signed_money=signed_money)
    expectations = report.get("expectations") or {}
    expected = {(part["journey"], part["version"]): part for part in expectations.get("journeys", [])}
    sections = []
    for journey in report["journeys"]:
        key = (journey["journey"], journey["version"])
        steps = {s["step"]: s["reach"] for s in journey["steps"]}
        edges = {(t["from"] or ENTRY_NODE, t["to"]): t["count"] for t in journey["transitions"]}
        diagram, problem = overlay_svg(plans.get(key), steps, edges)
        sections.append(
            {
                "figures": journey,
                "funnel": funnel_svg(journey["steps"], journey["entries"]),
                "diagram": diagram,
                "diagram_problem": problem,
                "expectation": expected.get(key),
                "expectation_goals": [
                    {"goal": goal["goal"], "arms": arms(goal)} for goal in expected.get(key, {}).get("goals", [])
                ],
            }
        )
    template = env.get_template("report.html.j2")
    below = [flag_text(flag) for flag in expectations.get("below", [])]
    return template.render(report=report, sections=sections, source=source, below=below)
