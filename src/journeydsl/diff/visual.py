"""The diff drawn: the new diagram with added parts green, removed ones dashed red, changed ones orange.

Removed steps and edges come from the old journey's drawing model and are put back into their old stage,
so the reviewer sees where they were.
"""

from __future__ import annotations

from dataclasses import replace

from journeydsl.diff.model import ADDED, CHANGED, REMOVED, Change
from journeydsl.ir import Journey
from journeydsl.render.graph import ENTRY_ID, EXITS_ID, GOALS_ID, Cluster, JourneyGraph, journey_graph


def _mark_node(graph: JourneyGraph, node_id: str, status: str) -> None:
    node = graph.nodes.get(node_id)
    # An added or removed mark wins over "changed" for the same node.
    if node is not None and node.status in ("", CHANGED):
        graph.nodes[node_id] = replace(node, status=status)


# The key every diff diagram carries: what its colours mean.
LEGEND: tuple[tuple[str, str], ...] = (
    (ADDED, "added (green)"),
    (REMOVED, "removed (dashed red)"),
    (CHANGED, "changed (orange)"),
)


def diff_graph(old: Journey | None, new: Journey | None, changes: list[Change]) -> JourneyGraph:
    graph = _diff_graph(old, new, changes)
    graph.legend = LEGEND
    return graph


def _diff_graph(old: Journey | None, new: Journey | None, changes: list[Change]) -> JourneyGraph:
    if new is None:
        assert old is not None
        graph = journey_graph(old)
        graph.nodes = {key: replace(node, status=REMOVED) for key, node in graph.nodes.items()}
        graph.edges = [replace(edge, status=REMOVED) for edge in graph.edges]
        return graph
    graph = journey_graph(new)
    if old is None:
        graph.nodes = {key: replace(node, status=ADDED) for key, node in graph.nodes.items()}
        graph.edges = [replace(edge, status=ADDED) for edge in graph.edges]
        return graph
    before = journey_graph(old)
    edge_status: dict[tuple[str, str], str] = {}
    for change in changes:
        if change.edge_key is not None and change.step is not None:
            edge_status[(change.step, change.edge_key)] = change.kind
        elif change.area == "step" and change.step is not None:
            if change.kind == REMOVED:
                _add_removed_node(graph, before, change.step)
            else:
                _mark_node(graph, change.step, change.kind)
        elif change.step is not None:
            _mark_node(graph, change.step, CHANGED)
        elif change.area == "policy" and change.subject in ("entry", "audience", "reentry"):
            _mark_node(graph, ENTRY_ID, CHANGED)
        elif change.area == "policy" and change.subject.startswith("exit"):
            _mark_exits(graph, before, EXITS_ID)
        elif change.area == "goal":
            _mark_exits(graph, before, GOALS_ID)
    edges = []
    for edge in graph.edges:
        status = edge_status.get((edge.source, edge.key), "")
        edges.append(replace(edge, status=status if status != REMOVED else ""))
    for edge in before.edges:
        if edge_status.get((edge.source, edge.key)) == REMOVED:
            edges.append(replace(edge, status=REMOVED))
    graph.edges = edges
    return graph


def _mark_exits(graph: JourneyGraph, before: JourneyGraph, node_id: str) -> None:
    if node_id in graph.nodes:
        _mark_node(graph, node_id, CHANGED)
    elif node_id in before.nodes:  # all exits (or goals) were removed
        graph.nodes[node_id] = replace(before.nodes[node_id], status=REMOVED)


def _add_removed_node(graph: JourneyGraph, before: JourneyGraph, step: str) -> None:
    node = before.nodes.get(step)
    if node is None:
        return
    graph.nodes[step] = replace(node, status=REMOVED)
    for index, cluster in enumerate(graph.clusters):
        if cluster.name == node.stage:
            graph.clusters[index] = Cluster(cluster.name, (*cluster.node_ids, step))
            return
    graph.clusters.append(Cluster(node.stage or "removed", (step,)))
