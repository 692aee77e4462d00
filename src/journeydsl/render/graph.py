"""A journey as a drawing model: nodes in stage clusters and labelled edges, before any back end.

Graphviz, Mermaid and the semantic diff all read this model, so they agree on what a node, an edge and its
label are. Edges carry a `key` that is unique among the edges leaving one node and stays the same when only
the target or guard changes (`on:contract_signed`, `when:1`, `variant:friendly`): the diff matches on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from journeydsl.ir import (
    STAGE_ORDER,
    Choose,
    End,
    Experiment,
    Goal,
    Goto,
    Journey,
    Sleep,
    Step,
    Wait,
)
from journeydsl.render.labels import LABEL_LIMIT, shorten
from journeydsl.syntax.printer import format_action, format_expr

ENTRY_ID = "ENTRY"  # upper case: cannot collide with a step name ([a-z_][a-z0-9_]*)
EXITS_ID = "EXITS"
GOALS_ID = "GOALS"

STEP_KINDS: tuple[str, ...] = ("action", "sleep", "wait", "choose", "experiment", "end")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # one of STEP_KINDS, or "entry", "exits", "goals"
    title: str
    lines: tuple[str, ...] = ()  # detail lines under the title (actions, policies)
    stage: str | None = None
    status: str = ""  # "", "added", "removed", "changed": set by the diff
    tooltip: str = ""  # the full text of the lines, when a line was cut short (an SVG shows it on hover)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    key: str
    label: str
    kind: str  # next, sleep, on, at, after, when, otherwise, variant, control, entry
    status: str = ""
    tooltip: str = ""  # the full label, when the label was cut short


@dataclass(frozen=True)
class Cluster:
    name: str
    node_ids: tuple[str, ...]


@dataclass
class JourneyGraph:
    name: str
    title: str
    clusters: list[Cluster] = field(default_factory=list)
    nodes: dict[str, Node] = field(default_factory=dict)  # insertion order is drawing order
    edges: list[Edge] = field(default_factory=list)
    policies: tuple[str, ...] = ()  # reentry, caps, quiet: shown in the graph's caption
    caption_tooltip: str = ""  # the caption in full, when a policy was cut short
    legend: tuple[tuple[str, str], ...] = ()  # (status, meaning) drawn as a key: set by the diff

    def step_nodes(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.kind in STEP_KINDS]


def step_kind(step: Step) -> str:
    flow = step.flow
    if isinstance(flow, Goto):
        return "action"
    if isinstance(flow, Sleep):
        return "sleep"
    if isinstance(flow, Wait):
        return "wait"
    if isinstance(flow, Choose):
        return "choose"
    if isinstance(flow, Experiment):
        return "experiment"
    if isinstance(flow, End):
        return "end"
    assert_never(flow)  # mypy flags this line when ir.Flow gains a kind; add it to STEP_KINDS and the back ends' shapes


def ordered_stages(journey: Journey) -> list[tuple[str, list[Step]]]:
    """Stages in recognize, request, respond, repeat order, others after in source order.

    Two blocks with the same stage name are drawn as one cluster (the checker reports the duplicate).
    """
    merged: dict[str, list[Step]] = {}
    for stage in journey.stages:
        merged.setdefault(stage.name, []).extend(stage.steps)
    canonical = [name for name in STAGE_ORDER if name in merged]
    others = [name for name in merged if name not in STAGE_ORDER]
    return [(name, merged[name]) for name in canonical + others]


def _step_node(step: Step, stage: str) -> Node:
    kind = step_kind(step)
    lines = [format_action(action, short=True) for action in step.actions]
    flow = step.flow
    if isinstance(flow, Experiment):
        lines.append(f"experiment {flow.name}")
    elif isinstance(flow, End) and flow.outcome:
        lines.append(f"end {flow.outcome}")
    elif isinstance(flow, End):
        lines.append("end")
    elif isinstance(flow, Wait):
        lines.append("wait")
    elif isinstance(flow, (Goto, Sleep, Choose)):
        pass  # their edges say it all
    else:  # a new flow kind: does its node need a detail line?
        assert_never(flow)
    return Node(step.name, kind, step.name, tuple(shorten(line) for line in lines), stage, tooltip=_tooltip(lines))


def _tooltip(lines: list[str], limit: int = LABEL_LIMIT) -> str:
    """The lines in full when shortening cuts any of them, else "": a cut label always has its whole text."""
    return "\n".join(lines) if any(len(line) > limit for line in lines) else ""


def _edge(source: str, target: str, key: str, head: str, text: str | None, kind: str) -> Edge:
    """An edge labelled `head` plus `text` cut short; the full label is its tooltip when cut."""
    if text is None:
        return Edge(source, target, key, head, kind)
    full = f"{head} {text}"
    cut = shorten(text)
    return Edge(source, target, key, f"{head} {cut}", kind, tooltip=full if cut != text else "")


def step_edges(step: Step) -> list[Edge]:
    flow = step.flow
    name = step.name
    if isinstance(flow, Goto):
        return [Edge(name, flow.target.name, "next", "", "next")]
    if isinstance(flow, Sleep):
        return [Edge(name, flow.target.name, "next", f"wait {flow.duration}", "sleep")]
    if isinstance(flow, Wait):
        edges: list[Edge] = []
        seen: dict[str, int] = {}
        for arm in flow.arms:
            # The same event may appear twice with different guards; number the repeats.
            seen[arm.event] = seen.get(arm.event, 0) + 1
            key = f"on:{arm.event}" if seen[arm.event] == 1 else f"on:{arm.event}#{seen[arm.event]}"
            where = format_expr(arm.where) if arm.where else None
            head = f"on {arm.event}" + (" where" if where else "")
            edges.append(_edge(name, arm.target.name, key, head, where, "on"))
        if flow.timeout is not None:
            timeout = flow.timeout
            if timeout.after is not None:
                edges.append(Edge(name, timeout.target.name, "timeout", f"after {timeout.after}", "after"))
            else:
                at = format_expr(timeout.at) if timeout.at is not None else "?"
                edges.append(_edge(name, timeout.target.name, "timeout", "at", at, "at"))
        return edges
    if isinstance(flow, Choose):
        edges = [
            _edge(name, branch.target.name, f"when:{index}", "when", format_expr(branch.condition), "when")
            for index, branch in enumerate(flow.branches, start=1)
        ]
        if flow.otherwise is not None:
            edges.append(Edge(name, flow.otherwise.name, "otherwise", "otherwise", "otherwise"))
        return edges
    if isinstance(flow, Experiment):
        return [
            Edge(
                name,
                variant.target.name,
                f"variant:{variant.name}",
                f"{'control' if variant.control else variant.name} {variant.weight}%",
                "control" if variant.control else "variant",
            )
            for variant in flow.variants
        ]
    if isinstance(flow, End):
        return []
    assert_never(flow)  # mypy flags this line when ir.Flow gains a kind with no edges drawn above


def _policies(journey: Journey, full: bool = False) -> tuple[str, ...]:
    lines: list[str] = []
    if journey.audience is not None:
        audience = format_expr(journey.audience)
        lines.append(f"audience {audience if full else shorten(audience)}")
    if journey.reentry is not None:
        mode = journey.reentry
        lines.append(f"reentry after {mode.after}" if mode.mode == "after" else f"reentry {mode.mode}")
    lines.extend(f"cap {cap.channel} {cap.max} per {cap.per}" for cap in journey.caps)
    if journey.quiet is not None:
        lines.append(f"quiet {journey.quiet.start}-{journey.quiet.end}")
    return tuple(lines)


def journey_graph(journey: Journey) -> JourneyGraph:
    """Build the drawing model of one journey; deterministic for a given IR."""
    title = journey.title or journey.name
    if journey.version is not None:
        title = f"{title} (v{journey.version})"
    policies, full_policies = _policies(journey), _policies(journey, full=True)
    graph = JourneyGraph(journey.name, title, policies=policies)
    if policies != full_policies:
        graph.caption_tooltip = "\n".join([title, *full_policies])
    if journey.entry is not None:
        entry = journey.entry
        parts = [(word, format_expr(expr)) for word, expr in (("where", entry.where), ("key", entry.key)) if expr]
        short = tuple(f"{word} {shorten(text)}" for word, text in parts)
        full = [f"{word} {text}" for word, text in parts]
        graph.nodes[ENTRY_ID] = Node(
            ENTRY_ID,
            "entry",
            f"entry on {entry.event}",
            short,
            tooltip="\n".join(full) if list(short) != full else "",
        )
    for stage_name, steps in ordered_stages(journey):
        ids: list[str] = []
        for step in steps:
            if step.name in graph.nodes:  # a duplicate step: drawn once
                continue
            graph.nodes[step.name] = _step_node(step, stage_name)
            ids.append(step.name)
        graph.clusters.append(Cluster(stage_name, tuple(ids)))
    entry_step = journey.entry_step
    if ENTRY_ID in graph.nodes and entry_step is not None:
        graph.edges.append(Edge(ENTRY_ID, entry_step.name, "entry", "", "entry"))
        # The entry node sits at the top of its step's stage, under the stage's label: an arrow from above the
        # stage would run through that label.
        for index, cluster in enumerate(graph.clusters):
            if entry_step.name in cluster.node_ids:
                graph.clusters[index] = Cluster(cluster.name, (ENTRY_ID, *cluster.node_ids))
                break
    # Of duplicate steps only the first is drawn (the checker reports the rest), so only its edges count.
    for step in journey.step_map().values():
        graph.edges.extend(step_edges(step))
    if journey.exits:
        exits = [(f"on {e.event}", format_expr(e.where) if e.where else None) for e in journey.exits]
        short_exits = tuple(head + (f" where {shorten(where)}" if where else "") for head, where in exits)
        full_exits = [head + (f" where {where}" if where else "") for head, where in exits]
        graph.nodes[EXITS_ID] = Node(
            EXITS_ID,
            "exits",
            "exits",
            short_exits,
            tooltip="\n".join(full_exits) if list(short_exits) != full_exits else "",
        )
    if journey.goals:
        goals = [_goal_line(goal) for goal in journey.goals]
        full_goals = [_goal_line(goal, cut=False) for goal in journey.goals]
        graph.nodes[GOALS_ID] = Node(
            GOALS_ID, "goals", "goals", tuple(goals), tooltip="\n".join(full_goals) if goals != full_goals else ""
        )
    return graph


def _goal_line(goal: Goal, cut: bool = True) -> str:
    def text_of(expr_text: str) -> str:
        return shorten(expr_text, 32) if cut else expr_text

    text = f"{goal.name} on {goal.event}"
    if goal.where is not None:
        text += f" where {text_of(format_expr(goal.where))}"
    if goal.within is not None:
        text += f" within {goal.within}"
    if goal.value is not None:
        text += f" value {text_of(format_expr(goal.value))}"
    return text
