"""Step and transition coverage of journeys by scenario runs.

A journey's steps are its step names; its transitions are the distinct
`(from, to)` pairs of `ir.flow_targets` (two wait arms to the same step are one
transition: a path cannot tell them apart). Coverage is what the scenarios
visited over what exists, per journey and in total over every journey loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from journeydsl.ir import Journey, flow_targets

Edge = tuple[str, str]


def journey_edges(journey: Journey) -> list[Edge]:
    """The distinct transitions of a journey, in source order."""
    edges: dict[Edge, None] = {}
    for step in journey.steps():
        for target in flow_targets(step.flow):
            edges.setdefault((step.name, target.name), None)
    return list(edges)


def path_edges(path: Sequence[str]) -> list[Edge]:
    return list(zip(path, path[1:], strict=False))


@dataclass
class JourneyCoverage:
    journey: str
    steps: list[str]
    edges: list[Edge]
    visited_steps: set[str] = field(default_factory=set)
    visited_edges: set[Edge] = field(default_factory=set)

    def visit(self, path: Sequence[str], transitions: Iterable[Edge] = (), infer_edges: bool = True) -> None:
        """Record a run: its steps, and its transitions, given or (by default) read off the path."""
        known_steps, known_edges = set(self.steps), set(self.edges)
        self.visited_steps |= {step for step in path if step in known_steps}
        inferred = path_edges(path) if infer_edges else []
        self.visited_edges |= {edge for edge in [*inferred, *transitions] if edge in known_edges}

    @property
    def steps_covered(self) -> int:
        return len(self.visited_steps)

    @property
    def edges_covered(self) -> int:
        return len(self.visited_edges)

    @property
    def step_percent(self) -> float:
        return percent(self.steps_covered, len(self.steps))

    @property
    def edge_percent(self) -> float:
        return percent(self.edges_covered, len(self.edges))

    def missed_steps(self) -> list[str]:
        return [step for step in self.steps if step not in self.visited_steps]

    def missed_edges(self) -> list[Edge]:
        return [edge for edge in self.edges if edge not in self.visited_edges]


def percent(part: int, whole: int) -> float:
    """A share in percent; nothing to cover counts as fully covered."""
    return 100.0 if whole == 0 else 100.0 * part / whole


@dataclass
class Coverage:
    journeys: dict[str, JourneyCoverage] = field(default_factory=dict)

    @classmethod
    def of(cls, journeys: Iterable[Journey]) -> Coverage:
        coverage = cls()
        for journey in journeys:
            # With several versions of one journey the first loaded defines what is to cover.
            coverage.journeys.setdefault(
                journey.name, JourneyCoverage(journey.name, [s.name for s in journey.steps()], journey_edges(journey))
            )
        return coverage

    def visit(
        self, journey: str, path: Sequence[str], transitions: Iterable[Edge] = (), infer_edges: bool = True
    ) -> None:
        if journey in self.journeys:
            self.journeys[journey].visit(path, transitions, infer_edges)

    @property
    def step_percent(self) -> float:
        return percent(
            sum(j.steps_covered for j in self.journeys.values()), sum(len(j.steps) for j in self.journeys.values())
        )

    @property
    def edge_percent(self) -> float:
        return percent(
            sum(j.edges_covered for j in self.journeys.values()), sum(len(j.edges) for j in self.journeys.values())
        )

    def below(self, minimum: float) -> bool:
        """Both totals must reach the minimum (a small tolerance keeps 100% reachable in floating point)."""
        return min(self.step_percent, self.edge_percent) + 1e-9 < minimum

    def render_text(self, verbose_missed: bool = True) -> str:
        width = max([len(name) for name in self.journeys] + [len("total")])
        lines = [f"{'coverage':<{width}}  {'steps':>14}  {'transitions':>14}"]
        for name, cov in sorted(self.journeys.items()):
            lines.append(
                f"{name:<{width}}  {_cell(cov.steps_covered, len(cov.steps))}  "
                f"{_cell(cov.edges_covered, len(cov.edges))}"
            )
            if verbose_missed:
                missed = cov.missed_steps()
                if missed:
                    lines.append(f"{'':<{width}}    steps not covered: {', '.join(missed)}")
                edges = cov.missed_edges()
                if edges:
                    shown = ", ".join(f"{a}->{b}" for a, b in edges)
                    lines.append(f"{'':<{width}}    transitions not covered: {shown}")
        steps = sum(len(j.steps) for j in self.journeys.values())
        edges_total = sum(len(j.edges) for j in self.journeys.values())
        covered_steps = sum(j.steps_covered for j in self.journeys.values())
        covered_edges = sum(j.edges_covered for j in self.journeys.values())
        lines.append(f"{'total':<{width}}  {_cell(covered_steps, steps)}  {_cell(covered_edges, edges_total)}")
        return "\n".join(lines)


def _cell(part: int, whole: int) -> str:
    return f"{part:>3}/{whole:<3} {percent(part, whole):5.1f}%"
