"""Hypothesis strategies that generate IR of every construct, shared by the printer and YAML round-trip tests.

Expressions, free text and schema types come from the caller: the DSL printer test wants deep generated
expression trees, the YAML test a pool of parsed expressions and awkward strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

from journeydsl.ir import (
    CONFLICT_MODES,
    PRIORITY_KINDS,
    Arg,
    CallAction,
    Cap,
    ChannelDef,
    Choose,
    ContactPolicy,
    Duration,
    Emit,
    End,
    Entry,
    EventDef,
    Exit,
    Experiment,
    Expr,
    FieldDef,
    Goal,
    Goto,
    Journey,
    Migration,
    MigrationMove,
    Priority,
    Quiet,
    Reentry,
    Schema,
    Send,
    SetProfile,
    SharedCap,
    Sleep,
    Stage,
    Step,
    Target,
    Timeout,
    TypeRef,
    Variant,
    Wait,
    WaitArm,
    When,
)

# Words the grammar reserves where an identifier could also stand.
RESERVED = {"not", "true", "false", "null", "list", "enum"}
names = st.from_regex(r"[a-z_][a-z0-9_]{0,7}", fullmatch=True).filter(lambda n: n not in RESERVED)
durations = st.builds(Duration, st.integers(0, 10_000), st.sampled_from("smhdw"))
numbers = st.integers(0, 10**6) | st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
scalar_types = st.builds(TypeRef, st.sampled_from(["string", "number", "bool", "timestamp", "duration"]), st.booleans())
# `expect N%` in the range the checker accepts (0 < x <= 100), so that plans lowered from drawn journeys are valid.
percents = st.integers(1, 100).map(float) | st.floats(0, 100, exclude_min=True, allow_nan=False)
hours = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@dataclass(frozen=True)
class IrStrategies:
    journeys: st.SearchStrategy[Journey]
    schemas: st.SearchStrategy[Schema]


def ir_strategies(
    exprs: st.SearchStrategy[Expr], texts: st.SearchStrategy[str], types: st.SearchStrategy[TypeRef]
) -> IrStrategies:
    """Journeys and schemas built from `exprs`, `texts` and `types`; names are unique where a YAML mapping
    key holds them (a duplicate there is a diagnostic, not a round trip)."""
    targets = st.builds(Target, names)
    args = st.lists(st.builds(Arg, names, exprs), max_size=2, unique_by=lambda a: a.name).map(tuple)
    actions = st.one_of(
        st.builds(Send, names, names, args),
        st.builds(SetProfile, names, exprs),
        st.builds(Emit, names, args),
        st.builds(CallAction, names, args),
    )
    timeouts = st.builds(Timeout, targets, after=durations) | st.builds(Timeout, targets, at=exprs)
    variants = st.builds(Variant, names, st.integers(0, 100), targets, st.just(False))
    control_variants = st.builds(Variant, st.just("control"), st.integers(0, 100), targets, st.just(True))
    flows = st.one_of(
        st.builds(Goto, targets),
        st.builds(Sleep, durations, targets),
        st.builds(
            Wait,
            st.lists(st.builds(WaitArm, names, targets, st.none() | exprs), max_size=3).map(tuple),
            st.none() | timeouts,
        ),
        st.builds(Choose, st.lists(st.builds(When, exprs, targets), max_size=3).map(tuple), st.none() | targets),
        st.builds(Experiment, names, st.lists(variants | control_variants, max_size=4).map(tuple)),
        st.builds(End, st.none() | names),
    )
    steps = st.builds(Step, names, st.lists(actions, max_size=3).map(tuple), flows)
    stages = st.builds(Stage, names, st.lists(steps, max_size=3, unique_by=lambda s: s.name).map(tuple))
    # Inside a `migrate` block `keep` is a keyword, so no step named so is moved; sources are a YAML mapping's keys.
    moves = st.builds(MigrationMove, names.filter(lambda n: n != "keep"), names)
    migrations = st.builds(
        Migration,
        st.integers(1, 10**6),
        st.lists(moves, max_size=3, unique_by=lambda m: m.source).map(tuple),
        st.lists(names, max_size=3).map(tuple),
    )
    journeys = st.builds(
        Journey,
        names,
        version=st.none() | st.integers(1, 10**6),
        owner=st.none() | texts,
        title=st.none() | texts,
        team=st.none() | texts,
        description=st.none() | texts,
        tags=st.lists(texts, max_size=3).map(tuple),
        experience=st.none() | names,
        uses=st.none() | names,
        entry=st.none() | st.builds(Entry, names, st.none() | exprs, st.none() | exprs),
        audience=st.none() | exprs,
        reentry=st.none()
        | st.builds(Reentry, st.sampled_from(["never", "always"]))
        | st.builds(Reentry, st.just("after"), durations),
        exits=st.lists(st.builds(Exit, names, st.none() | exprs), max_size=2).map(tuple),
        goals=st.lists(
            st.builds(
                Goal,
                names,
                names,
                st.none() | exprs,
                st.none() | durations,
                st.none() | exprs,
                expect=st.none() | percents,
            ),
            max_size=2,
        ).map(tuple),
        caps=st.lists(st.builds(Cap, names, st.integers(0, 1000), durations), max_size=2).map(tuple),
        quiet=st.none() | st.builds(Quiet, hours, hours),
        stages=st.lists(stages, max_size=2, unique_by=lambda s: s.name).map(tuple),
        migrations=st.lists(migrations, max_size=2).map(tuple),
    )
    # A channel capped twice is kept twice (the checker reports it), so caps need not be unique here.
    policies = st.builds(
        ContactPolicy,
        st.lists(st.builds(SharedCap, names, st.integers(0, 1000), durations), max_size=3).map(tuple),
        priority=st.none()
        | st.builds(Priority, st.sampled_from(PRIORITY_KINDS), st.lists(names, max_size=4).map(tuple)),
        quiet=st.none() | st.builds(Quiet, hours, hours),
        settle=st.none() | durations,
        conflict=st.sampled_from(CONFLICT_MODES),
    )
    fields = st.lists(st.builds(FieldDef, names, types), max_size=4, unique_by=lambda f: f.name).map(tuple)
    schemas = st.builds(
        Schema,
        names,
        fields,
        st.lists(st.builds(EventDef, names, fields), max_size=3, unique_by=lambda e: e.name).map(tuple),
        st.lists(st.builds(ChannelDef, names, numbers, st.none() | names), max_size=3, unique_by=lambda c: c.name).map(
            tuple
        ),
        policy=st.none() | policies,
    )
    return IrStrategies(journeys, schemas)
