"""Diagram readability fixes from the team trial: a cut label keeps its whole text as a tooltip, an end step with
actions is a box (not a huge circle), the entry arrow runs clear of the stage labels, the diff has a legend."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
import render_fixtures

from journeydsl.diff.model import diff_journeys
from journeydsl.diff.output import diff_dot
from journeydsl.ir import Journey
from journeydsl.render.graph import ENTRY_ID, journey_graph
from journeydsl.render.graphviz_backend import dot_source, graph_to_dot
from journeydsl.render.mermaid import journey_to_mermaid
from journeydsl.render.runner import render_dot

NAMES = ["abandoned_cart", "daily_move_coach", "day_of_travel", "solar_onboarding"]
SVG = "{http://www.w3.org/2000/svg}"


def journey(name: str) -> Journey:
    return next(j for j in render_fixtures.fixture_project().journeys() if j.name == name)


@pytest.mark.parametrize("name", NAMES)
def test_every_cut_label_has_its_whole_text_as_a_tooltip(name: str) -> None:
    statements = [line for line in dot_source(journey(name)).splitlines() if "…" in line]
    assert statements or name in ("solar_onboarding", "day_of_travel")
    for line in statements:
        label = re.search(r'label="((?:[^"\\]|\\.)*)"', line)
        tooltip = re.search(r' tooltip="((?:[^"\\]|\\.)*)"', line)
        assert label and tooltip, line
        for cut in (part for part in label.group(1).split("\\n") if "…" in part):
            assert cut.rstrip("…") in tooltip.group(1).replace("\\n", " ") or cut.rstrip("…")[:40] in tooltip.group(1)
    graph = journey_graph(journey("abandoned_cart"))
    edge = next(e for e in graph.edges if e.label.startswith("when event.total"))
    assert (
        edge.label.endswith("…") and edge.tooltip == 'when event.total >= 100 and profile.segment in ["active", "vip"]'
    )


def test_a_label_that_fits_has_no_tooltip() -> None:
    graph = journey_graph(journey("solar_onboarding"))
    assert all(not node.tooltip for node in graph.nodes.values() if not any("…" in line for line in node.lines))


def test_an_end_step_with_actions_is_a_box_and_a_plain_end_a_circle() -> None:
    source = dot_source(journey("daily_move_coach"))
    dropped = next(line for line in source.splitlines() if line.strip().startswith("dropped ["))
    assert "shape=box" in dropped and "peripheries=2" in dropped and "doublecircle" not in dropped
    plain = [line for line in source.splitlines() if "shape=doublecircle" in line]
    assert plain and all("\\nsend " not in line and "\\ncall " not in line for line in plain)
    mermaid = journey_to_mermaid(journey("daily_move_coach"))
    assert 's_dropped("dropped<br/>send email coach_checkin<br/>end dropped")' in mermaid


def _label_boxes(svg: ET.Element) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of each stage cluster's label text, from its position and font size."""
    boxes = []
    for group in svg.iter(f"{SVG}g"):
        if group.get("class") != "cluster":
            continue
        for text in group.iter(f"{SVG}text"):
            x, y = float(text.get("x", 0)), float(text.get("y", 0))
            size = float(text.get("font-size", 14))
            width = 0.6 * size * len(text.text or "")
            boxes.append((x - width / 2, y - size, x + width / 2, y + 0.25 * size))
    return boxes


def _entry_path(svg: ET.Element) -> list[tuple[float, float]]:
    for group in svg.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title")
        if group.get("class") == "edge" and title is not None and (title.text or "").startswith(f"{ENTRY_ID}->"):
            path = group.find(f"{SVG}path")
            assert path is not None
            numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path.get("d", ""))]
            return list(zip(numbers[0::2], numbers[1::2], strict=True))
    raise AssertionError("no entry edge")


@pytest.mark.parametrize("name", NAMES)
def test_the_entry_arrow_crosses_no_stage_label(name: str) -> None:
    svg = ET.fromstring(render_dot(dot_source(journey(name)), "svg"))
    points = _entry_path(svg)
    boxes = _label_boxes(svg)
    assert boxes
    for left, top, right, bottom in boxes:
        for x, y in points:
            assert not (left <= x <= right and top <= y <= bottom), (name, (x, y), (left, top, right, bottom))
        xs, ys = [x for x, _ in points], [y for _, y in points]
        # The whole arrow (a near-vertical segment) against the label's box.
        crosses = min(ys) <= bottom and max(ys) >= top and min(xs) <= right and max(xs) >= left
        assert not crosses, (name, points, (left, top, right, bottom))


def test_the_entry_node_is_not_counted_in_an_overlay() -> None:
    graph = journey_graph(journey("solar_onboarding"))
    source = str(graph_to_dot(graph, step_counts={"welcome": 3}, edge_counts={}).source)
    entry = next(line for line in source.splitlines() if line.strip().startswith(f"{ENTRY_ID} ["))
    assert "reached" not in entry


def test_the_visual_diff_has_a_legend() -> None:
    old = journey("solar_onboarding")
    new = journey("abandoned_cart")
    changes = diff_journeys([old], [old])
    source = diff_dot(old, old, changes)
    assert "subgraph cluster_legend" in source
    for status, color in (("ADDED", "#1a7f37"), ("REMOVED", "#cf222e"), ("CHANGED", "#d97706")):
        line = next(line for line in source.splitlines() if line.strip().startswith(f"LEGEND_{status} ["))
        assert f'color="{color}"' in line
    assert "removed (dashed red)" in source and 'style="dashed,' in source
    assert "cluster_legend" not in dot_source(new)  # a plain diagram has no legend


def test_mermaid_writes_labels_whole() -> None:
    """Mermaid has no tooltips where it is shown (GitHub): nothing is cut there."""
    text = journey_to_mermaid(journey("abandoned_cart"))
    assert "…" not in text
    assert "when event.total #gt;= 100 and profile.segment in [#quot;active#quot;, #quot;vip#quot;]" in text
