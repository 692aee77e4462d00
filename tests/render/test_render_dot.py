"""The Graphviz back end: golden DOT files, shapes, labels, stage order, overlays, Mermaid."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import render_fixtures

from journeydsl.project import Project
from journeydsl.render import dot_source, journey_to_dot, journey_to_mermaid
from journeydsl.render.graph import journey_graph

GOLDEN = Path(__file__).parent / "golden"
# Set JOURNEYDSL_UPDATE_GOLDENS=1 to rewrite the golden files after an intended layout change.
UPDATE = os.environ.get("JOURNEYDSL_UPDATE_GOLDENS") == "1"
GOLDEN_JOURNEYS = ["solar_onboarding", "abandoned_cart", "day_of_travel", "daily_move_coach"]


@pytest.fixture(name="fixture_project")
def _fixture_project() -> Project:
    return render_fixtures.fixture_project()


@pytest.mark.parametrize("name", GOLDEN_JOURNEYS)
def test_dot_matches_golden(fixture_project: Project, name: str) -> None:
    journey = next(j for j in fixture_project.journeys() if j.name == name)
    actual = dot_source(journey)
    golden = GOLDEN / f"{name}.dot"
    if UPDATE:
        golden.write_text(actual, encoding="utf-8")
    assert golden.exists(), f"no golden file {golden}; run with JOURNEYDSL_UPDATE_GOLDENS=1"
    assert actual == golden.read_text(encoding="utf-8")


def test_dot_is_deterministic(fixture_project: Project) -> None:
    for journey in fixture_project.journeys():
        assert dot_source(journey) == dot_source(journey)


_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')


def test_one_statement_per_line_label_first_then_sorted(fixture_project: Project) -> None:
    for journey in fixture_project.journeys():
        for line in dot_source(journey).splitlines():
            # Every quoted string closes on its line: no statement spans two lines.
            assert line.replace("\\\\", "").replace('\\"', "").count('"') % 2 == 0, line
            stripped = line.strip()
            if "[" in stripped and stripped.endswith("]"):
                names = [name for name, _ in _ATTR.findall(stripped[stripped.index("[") :])]
                rest = names[1:] if names and names[0] == "label" else names
                assert rest == sorted(rest), line


def test_each_step_kind_has_its_shape() -> None:
    source = dot_source(render_fixtures.every_kind_journey())
    shapes = {
        "hello": "box",
        "pause": "component",
        "listen": "hexagon",
        "pick": "diamond",
        "split": "parallelogram",
        "done": "doublecircle",
        "ENTRY": "cds",
    }
    for node, shape in shapes.items():
        line = next(line for line in source.splitlines() if line.strip().startswith(f"{node} ["))
        assert f"shape={shape}" in line


def test_edge_labels() -> None:
    source = dot_source(render_fixtures.every_kind_journey())
    assert 'listen -> pick [label="on clicked"' in source
    assert 'listen -> done [label="after 7d"' in source
    assert 'pick -> split [label="when profile.ltv > 100"' in source
    assert "pick -> done [label=otherwise" in source
    assert 'split -> done [label="bold 70%"' in source
    assert 'split -> side [label="control 30%"' in source
    assert 'pause -> listen [label="wait 2d"' in source
    assert "ENTRY -> side" in source  # the entry step is the first step of the first stage as written


def test_stages_in_r_order_then_others() -> None:
    graph = journey_graph(render_fixtures.every_kind_journey())
    assert [cluster.name for cluster in graph.clusters] == ["recognize", "repeat", "extra"]
    source = dot_source(render_fixtures.every_kind_journey())
    assert source.index("cluster_recognize") < source.index("cluster_repeat") < source.index("cluster_extra")


def test_entry_exits_goals_and_policies_shown(fixture_project: Project) -> None:
    journey = next(j for j in fixture_project.journeys() if j.name == "solar_onboarding")
    source = dot_source(journey)
    assert 'ENTRY [label="entry on quote_requested\\nwhere profile.segment != \\"churned\\""' in source
    assert "on unsubscribed\\non contract_cancelled" in source
    assert "signed on contract_signed within 30d value event.amount" in source
    assert "reentry after 90d" in source and "cap email 3 per 7d" in source and "quiet 21:00-08:00" in source


def test_overlay_counts_draw_reach_and_edge_width() -> None:
    journey = render_fixtures.every_kind_journey()
    dot = journey_to_dot(journey, step_counts={"hello": 40, "listen": 12}, edge_counts={("listen", "pick"): 10})
    source = dot.source
    assert "reached 40" in source and "reached 12" in source and "reached 0" in source
    line = next(line for line in source.splitlines() if "listen -> pick" in line)
    assert "penwidth=6.00" in line and "(10)" in line
    quiet = next(line for line in source.splitlines() if "listen -> done" in line)
    assert "penwidth=1" in quiet
    assert "reached" not in dot_source(journey)


def test_mermaid_flowchart_with_subgraphs() -> None:
    text = journey_to_mermaid(render_fixtures.every_kind_journey())
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    assert '  subgraph stage_recognize["recognize"]' in lines
    assert text.count("  end\n") == 3
    assert '    s_done(("done<br/>end converted"))' in lines
    assert '  s_pick -->|"when profile.ltv #gt; 100"| s_split' in lines
    assert "  ENTRY ==> s_side" in lines


def test_mermaid_escapes_quotes(fixture_project: Project) -> None:
    journey = next(j for j in fixture_project.journeys() if j.name == "solar_onboarding")
    text = journey_to_mermaid(journey)
    assert "#quot;churned#quot;" in text
    for line in text.splitlines():
        assert line.count('"') % 2 == 0, line
