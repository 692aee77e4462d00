"""The journey IR: the hub every stage of the toolchain is a function of.

Parsers (DSL and YAML) build it, checks read it, back ends (diagrams, docs,
bundles) lower it. Nodes are frozen dataclasses; every node carries a `span`
that takes no part in equality, so the IR of a DSL file equals the IR of its
YAML twin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, assert_never

DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

STAGE_ORDER: tuple[str, ...] = ("recognize", "request", "respond", "repeat")

EXPERIENCES: tuple[str, ...] = (
    "respond_to_desire",
    "curated_offering",
    "coach_behavior",
    "automatic_execution",
)

SCALAR_TYPES: tuple[str, ...] = ("string", "number", "bool", "timestamp", "duration")

FUNCTIONS: tuple[str, ...] = (
    "lower",
    "upper",
    "len",
    "contains",
    "starts_with",
    "coalesce",
    "min",
    "max",
    "abs",
    "round",
    "days_since",
    "hours_since",
)


@dataclass(frozen=True)
class Span:
    """A source range; lines and columns count from 1, `end_col` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


def _span() -> Any:
    return field(default=None, compare=False, repr=False, hash=False, kw_only=True)


# --------------------------------------------------------------------------- literals


@dataclass(frozen=True)
class Duration:
    """`7d`: kept as written so formatting round-trips; compare by amount and unit."""

    amount: int
    unit: str  # one of DURATION_UNITS
    span: Span | None = _span()

    @property
    def seconds(self) -> int:
        return self.amount * DURATION_UNITS[self.unit]

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Literal:
    """A number (int or float), string, bool, null (value None) or Duration."""

    value: int | float | str | bool | Duration | None
    span: Span | None = _span()


@dataclass(frozen=True)
class ListLit:
    items: tuple[Expr, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class Name:
    """A dotted name: ("profile", "segment"), ("event", "at"), ("now",), ("journey", "variant")."""

    path: tuple[str, ...]
    span: Span | None = _span()

    def __str__(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Unary:
    op: str  # "-" | "not"
    operand: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Binary:
    op: str  # or and == != < <= > >= in "not in" + - * / %
    left: Expr
    right: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]
    span: Span | None = _span()


Expr = Literal | ListLit | Name | Unary | Binary | Call


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class TypeRef:
    """`string`, `number?`, `list<string>`, `enum(new, active)`."""

    name: str  # one of SCALAR_TYPES, "list" or "enum"
    nullable: bool = False
    item: TypeRef | None = None  # for list
    members: tuple[str, ...] = ()  # for enum
    span: Span | None = _span()


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: TypeRef
    span: Span | None = _span()


@dataclass(frozen=True)
class EventDef:
    name: str
    fields: tuple[FieldDef, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class ChannelDef:
    name: str
    cost: int | float = 0
    requires: str | None = None  # a profile field name, e.g. "consent_email"
    span: Span | None = _span()


@dataclass(frozen=True)
class IntegrationDef:
    """An external system a journey may `call` (a CRM, a provisioning API), declared so calls are checked."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Schema:
    name: str
    profile: tuple[FieldDef, ...]
    events: tuple[EventDef, ...]
    channels: tuple[ChannelDef, ...]
    span: Span | None = _span()
    # Declared integrations; none declared means `call` names are not checked (schemas written before them).
    integrations: tuple[IntegrationDef, ...] = field(default=(), kw_only=True)
    # The contact policy every journey that uses this schema shares (issue 19); None: each journey on its own.
    policy: ContactPolicy | None = field(default=None, kw_only=True)
    # Where header items without a node of their own were written (e.g. "profile"), for `fmt` to keep comments.
    item_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)


# --------------------------------------------------------------------------- the contact policy of a schema


@dataclass(frozen=True)
class SharedCap:
    """`cap email 3 per 7d across journeys`: at most `max` sends on the channel to one customer in any window of
    `per`, counted over every journey that uses the schema (its own caps still apply to each journey)."""

    channel: str
    max: int
    per: Duration
    span: Span | None = _span()


PRIORITY_KINDS: tuple[str, ...] = ("journeys", "experiences")


@dataclass(frozen=True)
class Priority:
    """`priority journeys [a, b]` or `priority experiences [x, y]`: who wins a send the shared caps cannot take
    whole, first listed first; what is not listed comes after, by journey name."""

    kind: str  # one of PRIORITY_KINDS
    names: tuple[str, ...]
    span: Span | None = _span()
    # Where each name was written (same length when known), for diagnostics about one of them.
    name_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)


CONFLICT_MODES: tuple[str, ...] = ("suppress", "delay")
DEFAULT_SETTLE = Duration(1, "m")  # how long a send under a shared cap waits for the sends it competes with


@dataclass(frozen=True)
class ContactPolicy:
    """`policy { … }` in a schema: the rules every journey of the schema shares.

    settle: how long (event time) a send on a channel with a shared cap waits for the sends it competes with
    before the slots go by priority (None: DEFAULT_SETTLE); conflict: what a send that loses becomes."""

    caps: tuple[SharedCap, ...] = ()
    priority: Priority | None = None
    quiet: Quiet | None = None
    settle: Duration | None = None
    conflict: str = "suppress"  # one of CONFLICT_MODES
    span: Span | None = _span()
    # Where items without a node of their own were written ("settle", "conflict"), for `fmt` and diagnostics.
    item_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)


# --------------------------------------------------------------------------- journey policies


@dataclass(frozen=True)
class Entry:
    event: str
    where: Expr | None = None
    key: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Reentry:
    mode: str  # "never" | "always" | "after"
    after: Duration | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Exit:
    event: str
    where: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Goal:
    name: str
    event: str
    where: Expr | None = None
    within: Duration | None = None
    value: Expr | None = None
    span: Span | None = _span()
    # `expect 12%`: the share of entries expected to reach the goal, in percent (0 < expect <= 100); the report
    # sets the actual rate against it (issue 19).
    expect: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Cap:
    channel: str
    max: int
    per: Duration
    span: Span | None = _span()


@dataclass(frozen=True)
class Quiet:
    start: str  # "HH:MM"
    end: str
    span: Span | None = _span()


# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Arg:
    """One `key: EXPR` of a `with { … }` map."""

    name: str
    value: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Send:
    channel: str
    template: str
    args: tuple[Arg, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class SetProfile:
    field: str  # the profile field name, without "profile."
    value: Expr
    span: Span | None = _span()


@dataclass(frozen=True)
class Emit:
    event: str
    args: tuple[Arg, ...] = ()
    span: Span | None = _span()


@dataclass(frozen=True)
class CallAction:
    name: str
    args: tuple[Arg, ...] = ()
    span: Span | None = _span()


Action = Send | SetProfile | Emit | CallAction


# --------------------------------------------------------------------------- flows


@dataclass(frozen=True)
class Target:
    """A step name used as a transition target; the span points at the name."""

    name: str
    span: Span | None = _span()


@dataclass(frozen=True)
class Goto:
    target: Target
    span: Span | None = _span()


@dataclass(frozen=True)
class Sleep:
    """`wait 30d -> review`."""

    duration: Duration
    target: Target
    span: Span | None = _span()


@dataclass(frozen=True)
class WaitArm:
    event: str
    target: Target
    where: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Timeout:
    """`after 7d -> nudge` (duration) or `at EXPR -> step` (timestamp)."""

    target: Target
    after: Duration | None = None
    at: Expr | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Wait:
    arms: tuple[WaitArm, ...]
    timeout: Timeout | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class When:
    condition: Expr
    target: Target
    span: Span | None = _span()


@dataclass(frozen=True)
class Choose:
    branches: tuple[When, ...]
    otherwise: Target | None = None
    span: Span | None = _span()


@dataclass(frozen=True)
class Variant:
    name: str  # "control" for the control arm
    weight: int
    target: Target
    control: bool = False
    span: Span | None = _span()


@dataclass(frozen=True)
class Experiment:
    name: str
    variants: tuple[Variant, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class End:
    outcome: str | None = None
    span: Span | None = _span()


Flow = Goto | Sleep | Wait | Choose | Experiment | End


# --------------------------------------------------------------------------- journey


@dataclass(frozen=True)
class Step:
    name: str
    actions: tuple[Action, ...]
    flow: Flow
    span: Span | None = _span()


@dataclass(frozen=True)
class Stage:
    name: str
    steps: tuple[Step, ...]
    span: Span | None = _span()


@dataclass(frozen=True)
class MigrationMove:
    """`await_booking -> await_booking_v2`: instances at an old step move to a step of this version."""

    source: str  # a step of the old version
    target: str  # a step of this version
    span: Span | None = _span()


@dataclass(frozen=True)
class Migration:
    """`migrate from 1 { a -> b; keep c }`: how the instances of an older version move into this one.

    Moves and kept steps are kept as written (a source written twice stays twice), so the checker can report it.
    """

    from_version: int
    moves: tuple[MigrationMove, ...] = ()
    keep: tuple[str, ...] = ()  # old steps whose instances stay on the old version
    span: Span | None = _span()
    # Where each name of `keep` was written (same length when known), for diagnostics about one of them.
    keep_spans: tuple[Span, ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)


@dataclass(frozen=True)
class Journey:
    name: str
    version: int | None = None
    owner: str | None = None
    title: str | None = None
    team: str | None = None
    description: str | None = None
    tags: tuple[str, ...] = ()
    experience: str | None = None
    uses: str | None = None
    entry: Entry | None = None
    audience: Expr | None = None
    reentry: Reentry | None = None  # None: not written, which means "never"
    exits: tuple[Exit, ...] = ()
    goals: tuple[Goal, ...] = ()
    caps: tuple[Cap, ...] = ()
    quiet: Quiet | None = None
    stages: tuple[Stage, ...] = ()
    migrations: tuple[Migration, ...] = ()  # at most one per old version (the checker says so), in source order
    span: Span | None = _span()
    # Where plain-value header items were written ("title", "owner", ...), for `fmt` to keep comments.
    item_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)
    # Where the value of each of them was written (`shop` in `uses shop`), in both forms: what diagnostics point at.
    value_spans: tuple[tuple[str, Span], ...] = field(default=(), compare=False, repr=False, hash=False, kw_only=True)

    def steps(self) -> tuple[Step, ...]:
        return tuple(step for stage in self.stages for step in stage.steps)

    def step_map(self) -> dict[str, Step]:
        """Steps by name; with duplicates, the first wins (the checker reports the rest)."""
        found: dict[str, Step] = {}
        for step in self.steps():
            found.setdefault(step.name, step)
        return found

    @property
    def entry_step(self) -> Step | None:
        for stage in self.stages:
            if stage.steps:
                return stage.steps[0]
        return None


@dataclass(frozen=True)
class Comment:
    """A `# …` comment, kept so `fmt` can put it back; not part of the IR proper."""

    text: str  # including the leading '#'
    line: int
    col: int
    trailing: bool = False  # written after code on its line (else alone on its line)


@dataclass(frozen=True)
class SourceFile:
    """One parsed file: a DSL file may hold one schema and many journeys; a YAML file one of either."""

    path: str
    schemas: tuple[Schema, ...] = ()
    journeys: tuple[Journey, ...] = ()
    form: str = "dsl"  # "dsl" | "yaml"
    comments: tuple[Comment, ...] = field(default=(), compare=False, repr=False)


# --------------------------------------------------------------------------- traversal helpers


def flow_targets(flow: Flow) -> tuple[Target, ...]:
    """Every step a flow can go to, in source order."""
    if isinstance(flow, (Goto, Sleep)):
        return (flow.target,)
    if isinstance(flow, Wait):
        arms = tuple(arm.target for arm in flow.arms)
        return arms + ((flow.timeout.target,) if flow.timeout else ())
    if isinstance(flow, Choose):
        branches = tuple(branch.target for branch in flow.branches)
        return branches + ((flow.otherwise,) if flow.otherwise else ())
    if isinstance(flow, Experiment):
        return tuple(variant.target for variant in flow.variants)
    if isinstance(flow, End):
        return ()
    assert_never(flow)


def sub_expressions(expr: Expr) -> tuple[Expr, ...]:
    """The direct children of an expression node."""
    if isinstance(expr, (Literal, Name)):
        return ()
    if isinstance(expr, ListLit):
        return expr.items
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, Call):
        return expr.args
    assert_never(expr)
