"""Graphviz back end: the drawing model as a `graphviz.Digraph`, DOT text that is the same for the same IR.

One statement per line and sorted attributes (the `graphviz` package sorts keyword attributes), so a
change to a journey or to this module shows up as a readable diff of the golden DOT files.

Optional `step_counts` and `edge_counts` (from the run-time store) are drawn as a count under each step and
as edge widths: the `--overlay` of SPEC 8.5 only has to supply the numbers.
"""

from __future__ import annotations

import graphviz  # type: ignore[import-untyped]

from journeydsl.ir import Journey
from journeydsl.render.graph import STEP_KINDS, Edge, JourneyGraph, Node, journey_graph

FONT = "Helvetica"

# Shapes and fills by node kind; SPEC 6 asks for a shape per step kind.
_NODE_STYLE: dict[str, dict[str, str]] = {
    "action": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f1fb"},
    "sleep": {"shape": "component", "style": "filled", "fillcolor": "#eef2f5"},
    "wait": {"shape": "hexagon", "style": "filled", "fillcolor": "#fff4d6"},
    "choose": {"shape": "diamond", "style": "filled", "fillcolor": "#f3e8fb"},
    "experiment": {"shape": "parallelogram", "style": "filled", "fillcolor": "#e6f7ec"},
    "end": {"shape": "doublecircle", "style": "filled", "fillcolor": "#eeeeee"},
    "entry": {"shape": "cds", "style": "filled", "fillcolor": "#d9f2d9"},
    "exits": {"shape": "note", "style": "filled", "fillcolor": "#fde2e2"},
    "goals": {"shape": "note", "style": "filled", "fillcolor": "#fff9c4"},
    "legend": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "fontsize": "10"},
}
# An end step with actions holds several lines: a double circle around them grows huge, a double-bordered rounded
# box stays the size of its text and still reads as an end.
_END_WITH_ACTIONS: dict[str, str] = {"shape": "box", "style": "rounded,filled", "peripheries": "2"}

_EDGE_STYLE: dict[str, dict[str, str]] = {
    "next": {},
    "sleep": {"style": "dashed"},
    "on": {"color": "#1f6feb"},
    "after": {"color": "#6e7781", "style": "dashed"},
    "at": {"color": "#6e7781", "style": "dashed"},
    "when": {"color": "#8250df"},
    "otherwise": {"color": "#8250df", "style": "dotted"},
    "variant": {"color": "#1a7f37"},
    "control": {"color": "#1a7f37", "style": "dotted"},
    "entry": {"style": "bold"},
}

# Diff colours: added green, removed dashed red, changed orange.
_STATUS_STYLE: dict[str, dict[str, str]] = {
    "added": {"color": "#1a7f37", "fontcolor": "#1a7f37", "penwidth": "2.5"},
    "removed": {"color": "#cf222e", "fontcolor": "#cf222e", "penwidth": "2", "style": "dashed"},
    "changed": {"color": "#d97706", "fontcolor": "#d97706", "penwidth": "2.5"},
}


def escape(text: str) -> str:
    """Text for a DOT label: backslashes doubled, since DOT reads `\\n`, `\\l`, `\\N` as escapes."""
    return text.replace("\\", "\\\\")


def label_of(lines: list[str]) -> str:
    return "\\n".join(escape(line) for line in lines)


def _node_attrs(node: Node, count: int | None) -> dict[str, str]:
    attrs = dict(_NODE_STYLE[node.kind])
    if node.kind == "end" and len(node.lines) > 1:  # its actions and its `end` line
        attrs.update(_END_WITH_ACTIONS)
    lines = [node.title, *node.lines]
    if count is not None:
        lines.append(f"reached {count}")
    attrs["label"] = label_of(lines)
    if node.tooltip:  # a line was cut short: the SVG shows the whole text on hover
        attrs["tooltip"] = label_of(node.tooltip.split("\n"))
    if node.status:
        status = _STATUS_STYLE[node.status]
        attrs["color"] = status["color"]
        attrs["fontcolor"] = status["fontcolor"]
        attrs["penwidth"] = status["penwidth"]
        if node.status == "removed":
            attrs["style"] = "dashed," + attrs["style"]
    return attrs


def _edge_attrs(edge: Edge, count: int | None, widest: int) -> dict[str, str]:
    attrs = dict(_EDGE_STYLE[edge.kind])
    label = edge.label
    if count is not None:
        label = f"{label} ({count})" if label else f"({count})"
        # Width grows with the share of the busiest edge; 1 to 6 points keeps thin edges visible.
        attrs["penwidth"] = f"{1 + 5 * count / widest:.2f}" if widest else "1"
    if label:
        attrs["label"] = escape(label)
    if edge.tooltip:  # the label was cut short: the whole of it on hover, over the edge and over its label
        attrs["tooltip"] = attrs["labeltooltip"] = label_of(edge.tooltip.split("\n"))
    if edge.status:
        attrs.update(_STATUS_STYLE[edge.status])
    return attrs


def graph_to_dot(
    graph: JourneyGraph,
    step_counts: dict[str, int] | None = None,
    edge_counts: dict[tuple[str, str], int] | None = None,
) -> graphviz.Digraph:
    """The Digraph of a drawing model; counts are optional run-time overlays."""
    caption = [graph.title, *graph.policies]
    dot = graphviz.Digraph(
        graph.name,
        graph_attr={
            "rankdir": "TB",
            "compound": "true",
            "fontname": FONT,
            "labelloc": "t",
            "label": label_of(caption),
            "nodesep": "0.4",
            "ranksep": "0.5",
            **({"tooltip": label_of(graph.caption_tooltip.split("\n"))} if graph.caption_tooltip else {}),
        },
        node_attr={"fontname": FONT, "fontsize": "11"},
        edge_attr={"fontname": FONT, "fontsize": "10"},
    )
    steps = step_counts or {}
    edges = edge_counts or {}
    widest = max(edges.values(), default=0)
    for node_id in _outside_clusters(graph, before=True):
        dot.node(node_id, **_node_attrs(graph.nodes[node_id], None))
    for cluster in graph.clusters:
        with dot.subgraph(name=f"cluster_{cluster.name}") as sub:
            sub.attr(label=escape(cluster.name), style="rounded,dashed", color="#8c959f", fontname=FONT)
            for node_id in cluster.node_ids:
                node = graph.nodes[node_id]
                counted = step_counts is not None and node.kind in STEP_KINDS
                sub.node(node_id, **_node_attrs(node, steps.get(node_id, 0) if counted else None))
    for node_id in _outside_clusters(graph, before=False):
        dot.node(node_id, **_node_attrs(graph.nodes[node_id], None))
    for edge in graph.edges:
        count = edges.get((edge.source, edge.target)) if edge_counts is not None else None
        if edge_counts is not None and count is None:
            count = 0
        dot.edge(edge.source, edge.target, **_edge_attrs(edge, count, widest))
    if graph.legend:
        _legend(dot, graph.legend)
    return dot


def _legend(dot: graphviz.Digraph, entries: tuple[tuple[str, str], ...]) -> None:
    """A key to the colours of a diff: one box per status, styled as the nodes and edges it explains."""
    with dot.subgraph(name="cluster_legend") as sub:
        sub.attr(label="legend", style="rounded", color="#8c959f", fontname=FONT, fontsize="10")
        previous = None
        for status, meaning in entries:
            node_id = f"LEGEND_{status.upper()}"
            sub.node(node_id, **_node_attrs(Node(node_id, "legend", meaning, status=status), None))
            if previous is not None:  # keep the boxes in one column, in the order given
                sub.edge(previous, node_id, style="invis")
            previous = node_id


def _outside_clusters(graph: JourneyGraph, before: bool) -> list[str]:
    """Entry goes first (drawn above the first stage); exits, goals and stray nodes after the clusters."""
    inside = {node_id for cluster in graph.clusters for node_id in cluster.node_ids}
    outside = [node_id for node_id in graph.nodes if node_id not in inside]
    entry = [node_id for node_id in outside if graph.nodes[node_id].kind == "entry"]
    return entry if before else [node_id for node_id in outside if node_id not in entry]


def journey_to_dot(
    journey: Journey,
    step_counts: dict[str, int] | None = None,
    edge_counts: dict[tuple[str, str], int] | None = None,
) -> graphviz.Digraph:
    return graph_to_dot(journey_graph(journey), step_counts, edge_counts)


def dot_source(journey: Journey) -> str:
    """The DOT text of a journey: what `render --format dot` writes and the golden files hold."""
    return str(journey_to_dot(journey).source)
