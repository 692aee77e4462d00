"""Experiment checks: weights in 1-99 summing to 100, unique variant names, at most one control, and a control
arm that sends a message before it first waits (holdout contamination, JD404)."""

from __future__ import annotations

from journeydsl.check.context import checked_journeys
from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Experiment, Journey, Send, Sleep, Span, Step, Variant, Wait, flow_targets
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
                _check_control_arms(journey, experiment, sink)


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


def is_control(variant: Variant) -> bool:
    """The holdout: `control N%` (YAML `control: true`), a variant named `control`, or a 0% arm."""
    return variant.control or variant.name == "control" or variant.weight == 0


def _check_control_arms(journey: Journey, experiment: Experiment, sink: Sink) -> None:
    steps = {step.name: step for step in journey.steps()}
    for variant in experiment.variants:
        if not is_control(variant):
            continue
        path = first_send(steps, variant.target.name)
        if path is None:
            continue
        sender = steps[path[-1]]
        send = next(action for action in sender.actions if isinstance(action, Send))
        route = " -> ".join(f"`{name}`" for name in path)
        sink.report(
            codes.CONTROL_REACHES_SEND,
            f"the control arm of experiment `{experiment.name}` sends `{send.channel} {send.template}` "
            f"before it waits ({route}): the holdout is contaminated",
            variant.span or experiment.span,
            "point the control arm at a wait or an end (it is what the variants are measured against), "
            "or make it a variant",
        )


def first_send(steps: dict[str, Step], start: str) -> list[str] | None:
    """The shortest route from `start` to a step with a send, moving only on the same event (no wait or sleep)."""
    routes: dict[str, list[str]] = {start: [start]}
    queue = [start]
    while queue:
        name = queue.pop(0)
        step = steps.get(name)
        if step is None:
            continue  # an unknown target: JD102 says so
        if any(isinstance(action, Send) for action in step.actions):
            return routes[name]
        if isinstance(step.flow, (Wait, Sleep)):
            continue  # a later touch every arm can share, not part of the experiment's treatment
        for target in flow_targets(step.flow):
            if target.name not in routes:
                routes[target.name] = [*routes[name], target.name]
                queue.append(target.name)
    return None
