"""The bundle's plan format as types: the one definition of `plan.json` and `index.json` (docs/bundle-format.md).

It sits at the bottom of the runtime, next to the reader, and imports only `typing`: the compiler
(`journeydsl.compile.plan`) writes these shapes, the runtime (`runtime/plan.py`) and the analytics
(`journeydsl.analytics`) read them, and `runtime/plan_schema.py` derives the JSON Schema that every plan is
checked against at load from them. What a JSON type cannot say comes from two tables here:

- `RULES`: the extra schema keywords (ranges, non-empty strings) of the aliases that carry `Rule(...)`;
- `EXPR_TAGS`: the tag of every expression node, what it stands for and how many operands it takes.

Aliases marked `Def(name)` are one definition of the schema (`$defs/<name>`), referred to where they are used;
the plan's own rules for them (a step id names a step of the plan, expressions and types nest at most so deep)
are checked by `plan_schema.validate_plan`. Every object is closed (`@final`: no keys but those listed, as the
schema's `additionalProperties: false` says), which also lets mypy tell `{"after_s": …}` from `{"at": …}` by a key.
The TypedDicts are plain dicts at run time, so reading a plan through them costs nothing, compiled (mypyc) or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, NamedTuple, NotRequired, TypedDict, final, get_args

FORMAT: Final = 1  # the bundle format: manifest.json, index.json and every plan.json carry it

# Numbers a journey may hold: JSON readers in other languages keep integers exact up to 2**53 - 1, and the
# runtime's stores (orjson, SQLite INTEGER) take 64 bits at most. The front end refuses larger ones (JD012).
MAX_SAFE_INTEGER: Final = 2**53 - 1
# Durations: 100,000 days (about 273 years), far beyond any journey's wait and far inside the calendar the
# runtime formats times in (up to the year 9999).
MAX_DURATION_S: Final = 100_000 * 86_400
# Nesting of one expression (a leaf is 1, `a + b` is 2) and of one schema type (`list<list<string>>` is 3):
# the front end refuses deeper ones (JD011), and the runtime turns expressions into closures recursively.
MAX_EXPR_DEPTH: Final = 64
MAX_TYPE_DEPTH: Final = 64
# Any JSON value in a plan: the format itself is 8 levels above an expression.
MAX_JSON_DEPTH: Final = MAX_EXPR_DEPTH + 16


# --------------------------------------------------------------------------- markers for the schema generator


@dataclass(frozen=True)
class Def:
    """`Annotated[T, Def("name")]`: T is the schema definition `$defs/name`, referred to by `$ref`."""

    name: str


@dataclass(frozen=True)
class Rule:
    """`Annotated[T, Rule("name")]`: T's schema gets the keywords of `RULES["name"]`."""

    name: str


@dataclass(frozen=True)
class Items:
    """`Annotated[list[Any], Items(A, B)]`: a JSON array of exactly these items, [A, B] (Python reads it as a list)."""

    types: tuple[object, ...]

    def __init__(self, *types: object) -> None:
        object.__setattr__(self, "types", types)


# The constraints a JSON type cannot say, by rule name: each is added to the schema of the aliases that carry it.
RULES: Final[dict[str, dict[str, int]]] = {
    "name": {"minLength": 1},
    "version": {"minimum": 1, "maximum": MAX_SAFE_INTEGER},
    "step_id": {"minimum": 0, "maximum": MAX_SAFE_INTEGER},
    "line": {"minimum": 1, "maximum": MAX_SAFE_INTEGER},
    "safe_number": {"minimum": -MAX_SAFE_INTEGER, "maximum": MAX_SAFE_INTEGER},
    "seconds": {"minimum": 0, "maximum": MAX_DURATION_S},
    "weight": {"minimum": 0, "maximum": 100},
    "percent": {"minimum": 0, "maximum": 100},  # `expect 12%` (the checker refuses 0)
    "minute_of_day": {"minimum": 0, "maximum": 1439},
    "some": {"minItems": 1},  # a list that may not be empty
}


# --------------------------------------------------------------------------- expressions

ExprKind = Literal["lit", "dur", "ref", "list", "unary", "binary", "call"]


class Tag(NamedTuple):
    """One expression tag: what kind of node it heads, the DSL operator it stands for, and what it means."""

    kind: ExprKind
    op: str | None  # the operator as the DSL writes it (unary and binary tags); None for the rest
    meaning: str

    @property
    def operands(self) -> tuple[int, int | None]:
        """How many items follow the tag: (at least, at most); None for no upper bound."""
        return _OPERANDS[self.kind]


_OPERANDS: Final[dict[str, tuple[int, int | None]]] = {
    "lit": (1, 1),
    "dur": (1, 1),
    "ref": (1, 2),
    "list": (0, None),
    "unary": (1, 1),
    "binary": (2, 2),
    "call": (1, None),  # the function's name, then its arguments
}


def _binary(op: str, meaning: str) -> tuple[str, Tag]:
    return op, Tag("binary", op, meaning)


# Every expression node of a plan is a JSON array whose first item is one of these tags. The compiler writes them
# (compile/expr.py), the runtime compiles them into closures (runtime/expr.py), the schema checks them
# (runtime/plan_schema.py) and the report lifts them back into IR (analytics/plan_ir.py): all from this table.
EXPR_TAGS: Final[dict[str, Tag]] = dict(
    [
        ("lit", Tag("lit", None, "a literal: a string, number, bool or null")),
        ("dur", Tag("dur", None, "a duration literal, in seconds")),
        ("ref", Tag("ref", None, "a name: `profile`/`event` and a field, `journey` and an attribute, or `now`")),
        ("list", Tag("list", None, "a list of the expressions that follow")),
        ("not", Tag("unary", "not", "logical not (null stays null)")),
        ("neg", Tag("unary", "-", "arithmetic minus")),
        _binary("or", "either is true"),
        _binary("and", "both are true"),
        _binary("==", "equal (false when either is null, unless the other is the literal null)"),
        _binary("!=", "not equal (as `==`)"),
        _binary("<", "less than (false when either is null)"),
        _binary("<=", "at most"),
        _binary(">", "greater than"),
        _binary(">=", "at least"),
        _binary("in", "member of a list, or substring of a string"),
        _binary("not in", "not a member"),
        _binary("+", "sum, or concatenation of strings or lists (null when either is null)"),
        _binary("-", "difference"),
        _binary("*", "product"),
        _binary("/", "quotient"),
        _binary("%", "remainder"),
        ("call", Tag("call", None, "a call of a built-in function: its name, then its arguments")),
    ]
)

# The names an expression can read: root -> the attributes it takes (None: any field name; (): none).
REF_ROOTS: Final[dict[str, tuple[str, ...] | None]] = {
    "now": (),
    "profile": None,
    "event": None,
    "journey": ("entered_at", "variant"),
}

# --------------------------------------------------------------------------- values

Name = Annotated[str, Rule("name")]  # a non-empty name: a journey, step, event, channel, field, …
Version = Annotated[int, Rule("version")]
SafeInt = Annotated[int, Rule("safe_number")]
SafeNumber = Annotated[float, Rule("safe_number")]
StepId = Annotated[int, Def("step_id"), Rule("step_id")]  # the index of a step in `steps`
Seconds = Annotated[float, Def("duration"), Rule("seconds")]  # a duration in seconds (the writer writes integers)
Scalar = Annotated[None | bool | str | float, Def("scalar"), Rule("safe_number")]  # the value of a `lit`
Expr = Annotated[list[Any], Def("expr")]  # ["tag", operand, …]: see EXPR_TAGS
Args = dict[str, Expr]  # the `with { … }` map of an action
Line = Annotated[int | None, Rule("line")]


# --------------------------------------------------------------------------- the schema the plan carries


TypeName = Literal["string", "number", "bool", "timestamp", "duration", "list", "enum"]
TYPE_NAMES: Final[tuple[str, ...]] = get_args(TypeName)


@final
class TypeJson(TypedDict):
    """A field's type: a scalar, `list` (with `item`) or `enum` (with `members`)."""

    type: TypeName
    nullable: bool
    members: NotRequired[list[str]]  # enum only
    item: NotRequired[SchemaType]  # list only


SchemaType = Annotated[TypeJson, Def("type")]
Fields = Annotated[dict[str, SchemaType], Def("fields")]  # field name -> type


@final
class ChannelJson(TypedDict):
    """A channel of the schema: the cost of one send, and the profile field that must be true to send."""

    cost: SafeNumber
    requires: str | None


@final
class SchemaJson(TypedDict):
    """The schema the journey uses (empty when it has none): events are checked against it at run time."""

    name: str | None
    profile: Fields
    events: dict[str, Fields]  # event type -> its data fields
    channels: dict[str, ChannelJson]
    policy: NotRequired[PolicyJson]  # only when the schema has one: a plan without it stays byte for byte


@final
class PriorityJson(TypedDict):
    """`priority journeys [a, b]` / `priority experiences [x, y]`: first listed wins first."""

    kind: Literal["journeys", "experiences"]
    names: list[Name]


@final
class PolicyJson(TypedDict):
    """The schema's contact policy (`policy { … }`), shared by every journey that uses the schema.

    A send on a channel in `caps` waits `settle_s` of event time for the sends it competes with; then the slots
    go by `priority`, and a send that loses becomes what `conflict` says (`suppressed` with reason `policy`, or
    `delayed` to when a slot frees). `quiet` applies to the sends of every journey."""

    caps: dict[str, CapJson]  # channel -> the cap over all journeys
    priority: PriorityJson | None
    quiet: QuietJson | None
    settle_s: Seconds
    conflict: Literal["suppress", "delay"]


# --------------------------------------------------------------------------- actions


@final
class SendJson(TypedDict):
    """`send CHANNEL TEMPLATE with { … }`."""

    kind: Literal["send"]
    channel: Name
    template: Name
    args: Args


@final
class SetJson(TypedDict):
    """`set profile.FIELD = EXPR`."""

    kind: Literal["set"]
    field: Name
    value: Expr


@final
class EmitJson(TypedDict):
    """`emit EVENT with { … }`."""

    kind: Literal["emit"]
    event: Name
    args: Args


@final
class CallJson(TypedDict):
    """`call NAME with { … }`."""

    kind: Literal["call"]
    name: Name
    args: Args


Action = Annotated[SendJson | SetJson | EmitJson | CallJson, Def("action")]


# --------------------------------------------------------------------------- flows (`to` is a step id)


@final
class GotoJson(TypedDict):
    """`-> step`."""

    kind: Literal["goto"]
    to: StepId


@final
class SleepJson(TypedDict):
    """`wait 30d -> step`."""

    kind: Literal["sleep"]
    after_s: Seconds
    to: StepId


@final
class AfterJson(TypedDict):
    """`after 7d -> step`."""

    after_s: Seconds
    to: StepId


@final
class AtJson(TypedDict):
    """`at EXPR -> step` (a timestamp)."""

    at: Expr
    to: StepId


Arm = Annotated[list[Any], Items(Expr | None, StepId)]  # [guard or null, step id]


@final
class WaitJson(TypedDict):
    """`wait { on EVENT where GUARD -> step … after|at … }`.

    `on` maps each event type to its arms in source order: the first whose guard is true wins. `order` holds the
    event type of every arm in source order (the n-th time a type appears stands for its n-th arm in `on`), so
    the arms can be read back in the order they were written: the runtime reads only `on`. Bundles written
    before `order` existed lack it.
    """

    kind: Literal["wait"]
    on: dict[str, Annotated[list[Arm], Rule("some")]]
    timeout: AfterJson | AtJson | None
    order: NotRequired[list[Name]]


Branch = Annotated[list[Any], Items(Expr, StepId)]  # [condition, step id]


@final
class ChooseJson(TypedDict):
    """`choose { when COND -> step … otherwise -> step }`: the first true condition wins."""

    kind: Literal["choose"]
    branches: list[Branch]
    otherwise: StepId | None


@final
class VariantJson(TypedDict):
    """One variant of an experiment: its share of the customers (weights need not add up to 100)."""

    name: Name
    weight: Annotated[int, Rule("weight")]
    to: StepId
    control: bool


@final
class ExperimentJson(TypedDict):
    """`experiment NAME { variant … }`: a customer's bucket (0-99) picks the variant."""

    kind: Literal["experiment"]
    name: Name
    variants: Annotated[list[VariantJson], Rule("some")]


@final
class EndJson(TypedDict):
    """`end OUTCOME`."""

    kind: Literal["end"]
    outcome: str | None


Flow = Annotated[GotoJson | SleepJson | WaitJson | ChooseJson | ExperimentJson | EndJson, Def("flow")]


# --------------------------------------------------------------------------- the plan


@final
class StepJson(TypedDict):
    """One step; `id` is its index in `steps` (source order), `line` where it was written."""

    id: StepId
    name: Name
    stage: str | None
    line: Line
    actions: list[Action]
    flow: Flow


Step = Annotated[StepJson, Def("step")]


@final
class EntryJson(TypedDict):
    """`entry on EVENT where … key …` and the `audience`."""

    event: Name
    where: Expr | None
    key: Expr | None
    audience: Expr | None


ReentryMode = Literal["never", "always", "after"]
REENTRY_MODES: Final[tuple[str, ...]] = get_args(ReentryMode)


@final
class ReentryJson(TypedDict):
    """Whether a customer may enter again: `never` (also when the journey does not say), `always`, `after`."""

    mode: ReentryMode
    after_s: Seconds | None


@final
class ExitJson(TypedDict):
    """One `exit on EVENT where …` rule (the event type is its key in `exits`)."""

    where: Expr | None


@final
class GoalJson(TypedDict):
    """`goal NAME on EVENT where … within … value …`."""

    name: Name
    event: Name
    where: Expr | None
    within_s: Seconds | None
    value: Expr | None
    expect_pct: NotRequired[Annotated[float, Rule("percent")]]  # `expect 12%`: only when written


@final
class CapJson(TypedDict):
    """`cap CHANNEL MAX per DURATION` (the channel is its key in `caps`)."""

    max: SafeInt
    per_s: Seconds


@final
class QuietJson(TypedDict):
    """`quiet HH:MM-HH:MM`, as minutes of the day in the customer's zone; the end may lie before the start."""

    start_min: Annotated[int, Rule("minute_of_day")]
    end_min: Annotated[int, Rule("minute_of_day")]


# `from` is a Python keyword, so this object is written in TypedDict's functional form (closed all the same).
MigrationJson = TypedDict("MigrationJson", {"from": Version, "moves": dict[str, StepId], "keep": list[Name]})
MigrationJson.__doc__ = """`migrate from N { OLD -> NEW … keep OLD, … }`: how instances of version `from` move in.

    `moves` maps a step name of the old version to a step id of this plan; `keep` names old steps whose instances
    stay on the old version (the bundle then holds that version). `from` is below the plan's version, and no step
    is both moved and kept.
    """


@final
class PlanJson(TypedDict):
    """`journeys/<id>/<version>/plan.json`: one journey version, compiled."""

    format: Literal[1]
    journey: Name
    version: Version
    source: str | None
    title: str | None
    owner: str | None
    experience: str | None
    schema: Annotated[SchemaJson, Def("schema")]
    entry: EntryJson
    reentry: ReentryJson
    exits: dict[str, list[ExitJson]]  # event type -> its rules, in source order
    goals: list[GoalJson]
    caps: dict[str, CapJson]  # channel -> its cap
    quiet: QuietJson | None
    entry_step: StepId
    steps: Annotated[list[Step], Rule("some")]
    # Written only when the journey migrates (so other plans stay byte for byte as before); sorted by `from`.
    migrations: NotRequired[list[MigrationJson]]


# --------------------------------------------------------------------------- the index


Ref = Annotated[list[Any], Items(Name, Version)]  # [journey, version]


@final
class IndexJson(TypedDict):
    """`index.json`: the latest version of each journey (the one new customers enter).

    Bundles written before issue 13 also hold `entries`, `exits` and `goals` (event type -> [journey, version]
    pairs); nothing read them (the runtime builds its tables from the plans), so they are no longer written, and
    still accepted in this format.
    """

    latest: dict[str, Version]
    entries: NotRequired[dict[str, list[Ref]]]
    exits: NotRequired[dict[str, list[Ref]]]
    goals: NotRequired[dict[str, list[Ref]]]
