"""Experiment checks: weights in 1-99 summing to 100, unique variant names, at most one control."""

from __future__ import annotations

from journeydsl.check.context import checked_journeys
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Experiment, Span
from journeydsl.project import Project


def check_experiments(project: Project, sink: Sink) -> None:
    for _file, journey, _index in checked_journeys(project):
        seen_experiments: dict[str, Span | None] = {}
        for step in journey.steps():
            if isinstance(step.flow, Experiment):
                experiment = step.flow
                if experiment.name in seen_experiments:
                    # Assignment hashes (journey, experiment name, customer): two experiments with one name
                    # would split customers identically, which is never what the author meant.
                    sink.report(
                        codes.DUPLICATE_NAME,
                        f"experiment `{experiment.name}` is defined twice in journey `{journey.name}`",
                        experiment.span or step.span,
                        "give each experiment its own name",
                    )
                seen_experiments.setdefault(experiment.name, experiment.span)
                _check_experiment(experiment, step.span, sink)


def _check_experiment(experiment: Experiment, step_span: Span | None, sink: Sink) -> None:
    span = experiment.span or step_span
    total = sum(v.weight for v in experiment.variants)
    if total != 100:
        shown = " + ".join(f"{v.weight}" for v in experiment.variants)
        sink.report(
            codes.WEIGHTS_SUM,
            f"experiment `{experiment.name}` weights sum to {total}% ({shown}), not 100%",
            span,
            f"{'add' if total < 100 else 'take away'} {abs(100 - total)}% somewhere",
        )
    names: dict[str, Span | None] = {}
    controls = 0
    for variant in experiment.variants:
        if not 1 <= variant.weight <= 99:
            sink.report(
                codes.WEIGHT_RANGE,
                f"variant `{variant.name}` of experiment `{experiment.name}` has weight {variant.weight}%; "
                "each weight must be 1-99%",
                variant.span or span,
                "a 0% arm is dead and a 100% arm is no experiment: remove the arm or the experiment",
            )
        if variant.name in names and not variant.control:  # two controls: JD403 below says it better
            sink.report(
                codes.DUPLICATE_NAME,
                f"variant `{variant.name}` is defined twice in experiment `{experiment.name}`",
                variant.span or span,
                "give each variant its own name",
            )
        names.setdefault(variant.name, variant.span)
        if variant.control:
            controls += 1
            if controls == 2:
                sink.report(
                    codes.MULTIPLE_CONTROLS,
                    f"experiment `{experiment.name}` has more than one `control`",
                    variant.span or span,
                    "keep one control (the holdout the variants are compared with); make the others variants",
                )
