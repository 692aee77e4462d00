"""Mermaid back end: a flowchart with one subgraph per stage, for GitHub markdown and wikis.

Step ids get an `s_` prefix because Mermaid reserves words such as `end`; every label is quoted and its
`"` written as `#quot;`, the entity Mermaid understands inside quoted labels.
"""

from __future__ import annotations

from journeydsl.ir import Journey
from journeydsl.render.graph import Edge, JourneyGraph, Node, journey_graph

# Opening and closing brackets of each node kind's shape.
_SHAPES: dict[str, tuple[str, str]] = {
    "action": ("[", "]"),
    "sleep": ("([", "])"),
    "wait": ("{{", "}}"),
    "choose": ("{", "}"),
    "experiment": ("[/", "/]"),
    "end": ("((", "))"),
    "entry": ("[[", "]]"),
    "exits": (">", "]"),
    "goals": (">", "]"),
}

_CLASSES: dict[str, str] = {
    "added": "fill:#dafbe1,stroke:#1a7f37,stroke-width:2px",
    "removed": "fill:#ffebe9,stroke:#cf222e,stroke-dasharray:4 3",
    "changed": "fill:#fff1d6,stroke:#d97706,stroke-width:2px",
}


def mermaid_id(node_id: str) -> str:
    return node_id if node_id.isupper() else f"s_{node_id}"


def _text(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _node(node: Node) -> str:
    opening, closing = _SHAPES[node.kind]
    if node.kind == "end" and len(node.lines) > 1:  # actions too: a rounded box, not a circle around them all
        opening, closing = "(", ")"
    # Mermaid has no tooltips where it is shown (GitHub renders it strict): a label is written whole, never cut.
    lines = node.tooltip.split("\n") if node.tooltip else node.lines
    label = "<br/>".join(_text(line) for line in (node.title, *lines))
    return f'{mermaid_id(node.id)}{opening}"{label}"{closing}'


def _edge(edge: Edge) -> str:
    arrow = "-.->" if edge.kind in ("after", "at", "sleep", "otherwise", "control") else "-->"
    if edge.kind == "entry":
        arrow = "==>"
    source, target = mermaid_id(edge.source), mermaid_id(edge.target)
    label = edge.tooltip or edge.label  # the whole label, as for nodes
    if label:
        return f'{source} {arrow}|"{_text(label)}"| {target}'
    return f"{source} {arrow} {target}"


def graph_to_mermaid(graph: JourneyGraph) -> str:
    lines = ["flowchart TB"]
    inside = {node_id for cluster in graph.clusters for node_id in cluster.node_ids}
    for node in graph.nodes.values():
        if node.id not in inside and node.kind == "entry":
            lines.append("  " + _node(node))
    for cluster in graph.clusters:
        lines.append(f'  subgraph stage_{cluster.name}["{_text(cluster.name)}"]')
        lines.extend("    " + _node(graph.nodes[node_id]) for node_id in cluster.node_ids)
        lines.append("  end")
    for node in graph.nodes.values():
        if node.id not in inside and node.kind != "entry":
            lines.append("  " + _node(node))
    lines.extend("  " + _edge(edge) for edge in graph.edges)
    styled = [node for node in graph.nodes.values() if node.status]
    for status in sorted({node.status for node in styled}):
        lines.append(f"  classDef {status} {_CLASSES[status]}")
    for node in styled:
        lines.append(f"  class {mermaid_id(node.id)} {node.status}")
    return "\n".join(lines) + "\n"


def journey_to_mermaid(journey: Journey) -> str:
    return graph_to_mermaid(journey_graph(journey))
