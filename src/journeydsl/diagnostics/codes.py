"""The one registry of diagnostic codes. Codes are stable: never renumber, only add.

`journeydsl check --explain CODE` and `docs/diagnostics.md` are made from this
module. Ranges: JD0xx input (syntax, YAML, files), JD1xx names, JD2xx types,
JD3xx graph, JD4xx experiments, JD5xx policy, JD6xx templates, JD7xx scenario files.

Each entry is code, name, summary, severity and explanation. Its failing and passing
examples are files in diagnostics/examples/ (`JD102.bad.journey`, `JD102.good.journey`),
read by `examples.example`: a new code adds its entry here and its two files there.
"""

from __future__ import annotations

from journeydsl.diagnostics.examples import example
from journeydsl.diagnostics.model import Code, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO


def _code(code: str, name: str, summary: str, severity: Severity, *, explanation: str) -> Code:
    """One entry, with its examples from diagnostics/examples/."""
    return Code(code, name, summary, severity, explanation, example(code, "bad"), example(code, "good"))


# JD0xx: reading input
SYNTAX_ERROR = _code(
    "JD001",
    "syntax-error",
    "the DSL text does not parse",
    E,
    explanation=(
        "The DSL text does not follow the grammar. The message names what the parser expected at that point, "
        "in words, and the caret points at the first token it could not use."
    ),
)
UNEXPECTED_EOF = _code(
    "JD002",
    "unexpected-end",
    "the file ends in the middle of a construct",
    E,
    explanation=(
        "The file stops in the middle of a construct, usually a missing closing `}`. The message names the "
        "block that is still open."
    ),
)
YAML_SYNTAX = _code(
    "JD003",
    "yaml-syntax",
    "the YAML text does not parse",
    E,
    explanation=("A YAML file that the YAML parser cannot read (bad indentation, an unclosed bracket or quote)."),
)
YAML_STRUCTURE = _code(
    "JD004",
    "yaml-structure",
    "a YAML document has a wrong key, type or shape",
    E,
    explanation=(
        "A YAML document parses but has an unknown key, a value of the wrong type or shape, or misses a "
        "required key. Unknown keys get a did-you-mean hint."
    ),
)
YAML_UNSAFE = _code(
    "JD005",
    "yaml-unsafe",
    "a YAML tag or alias that is not allowed",
    E,
    explanation=(
        "YAML is loaded safely: tags that would build objects (`!!python/object`, any non-standard tag) are "
        "refused, and so are documents with too many alias references (a 'billion laughs' bomb)."
    ),
)
FILE_ERROR = _code(
    "JD006",
    "file-error",
    "a file cannot be read (missing, not UTF-8, not a journey file)",
    E,
    explanation=(
        "A path on the command line does not exist, or a file cannot be read, or it is not UTF-8 text. "
        "Journey files are UTF-8."
    ),
)
BAD_LITERAL = _code(
    "JD007",
    "bad-literal",
    "a literal is malformed (duration, time of day, number)",
    E,
    explanation=(
        "A literal the grammar accepts but whose value is wrong: a duration unit other than s m h d w, a time"
        " of day outside 00:00-23:59, a weight that is not a whole number."
    ),
)
MISSING_VERSION = _code(
    "JD008",
    "missing-version",
    "a journey has no `version` (an integer >= 1)",
    E,
    explanation=(
        "Every journey has a `version`, an integer from 1. Bundles and running instances are pinned to "
        "(journey, version), so a journey without one cannot be deployed."
    ),
)
DUPLICATE_HEADER = _code(
    "JD009",
    "duplicate-header",
    "a header item or single policy is written twice",
    E,
    explanation=(
        "A header item (`title`, `version`, `owner`, …) or a single policy (`entry`, `audience`, `reentry`, "
        "`quiet`) is written twice; which one counts would be a guess."
    ),
)
MISSING_ENTRY = _code(
    "JD010",
    "missing-entry",
    "a journey needs exactly one `entry on EVENT`",
    E,
    explanation=(
        "A journey starts on exactly one event: `entry on EVENT [where EXPR] [key EXPR]`. Without it no "
        "customer ever enters."
    ),
)
NESTING_TOO_DEEP = _code(
    "JD011",
    "nesting-too-deep",
    "an expression, a type or a YAML document nests more than 64 levels deep",
    E,
    explanation=(
        "Expressions, types and YAML documents nest at most 64 levels. A name or literal is one level, and "
        "each operator, call, `not`, `-` and list adds one; parentheses add none. A chain `a + b + c + …` "
        "counts one level per operator, so a chain of more than 63 operators is too deep as well: group it "
        "in parentheses, or test many values with `x in [...]` instead of a long `or` chain. The limit keeps "
        "the checker, the bundle and the runtime within bounds that every journey stays far from."
    ),
)
INPUT_TOO_LARGE = _code(
    "JD012",
    "input-too-large",
    "a number, a duration, a name or a whole file is larger than journeys allow",
    E,
    explanation=(
        "Numbers lie within ±9007199254740991 (2^53 − 1, the integers every JSON reader keeps exact), "
        "durations are at most 100000d (about 273 years), names at most 128 characters (they become file "
        "names of templates, diagrams and docs pages), and a journey file is at most 1 MiB: a larger file "
        "is refused without being parsed. A `version` is a number too."
    ),
)

# JD09x: the project file (`journeydsl.toml`, or `[tool.journeydsl]` in pyproject.toml); its examples are project
# files, checked by reading them as one (check/examples.py)
PROJECT_FILE = _code(
    "JD090",
    "project-file",
    "the project file (journeydsl.toml or [tool.journeydsl] in pyproject.toml) is wrong",
    E,
    explanation=(
        "The project file does not parse as TOML, names a key journeydsl does not know, or gives a value of the "
        "wrong type. Keys: sources, templates, store, signing-key, public-key, min-coverage, strict. Every "
        "command reads it first (walking up from the current folder), so a wrong project file stops them all "
        "with this finding, pointing at the key."
    ),
)


# JD1xx: names
DUPLICATE_NAME = _code(
    "JD101",
    "duplicate-name",
    "a journey, stage, step, variant, goal or schema name is used twice",
    E,
    explanation=(
        "Names must be unique in their scope: journeys in a project (same name and version; two versions of "
        "one journey may coexist), schemas, stages and steps in a journey, goals, experiments, and the "
        "variants of an experiment."
    ),
)
UNKNOWN_STEP = _code(
    "JD102",
    "unknown-step",
    "a transition goes to a step that does not exist",
    E,
    explanation=(
        "A transition (`->`, a `wait` arm, a `choose` branch, an experiment arm) names a step that the "
        "journey does not have. The hint suggests the closest step name."
    ),
)
UNKNOWN_EVENT = _code(
    "JD103",
    "unknown-event",
    "an event type that the schema does not declare",
    E,
    explanation=(
        "`entry`, `exit`, `goal`, `wait on` and `emit` name event types; each must be declared in the schema "
        "the journey `uses`."
    ),
)
UNKNOWN_FIELD = _code(
    "JD104",
    "unknown-field",
    "a profile or event field that the schema does not declare",
    E,
    explanation=(
        "`profile.F` must be a profile field of the schema; `event.F` a field of the current event (plus "
        "`event.id`, `event.type`, `event.at`); `set profile.F` and `emit E with {F: …}` likewise."
    ),
)
UNKNOWN_CHANNEL = _code(
    "JD105",
    "unknown-channel",
    "a channel that the schema does not declare",
    E,
    explanation=(
        "`send`, `cap` and a contact policy's `cap … across journeys` name channels; each must be declared in the "
        "schema with its cost and consent rule."
    ),
)
UNKNOWN_SCHEMA = _code(
    "JD107",
    "unknown-schema",
    "`uses` names a schema that cannot be found",
    E,
    explanation=(
        "`uses NAME` names the schema the journey is checked against. It is looked up among the files checked"
        " and, failing that, the journey files in the journey's own folder."
    ),
)
UNKNOWN_FUNCTION = _code(
    "JD108",
    "unknown-function",
    "a function that the expression language does not have",
    E,
    explanation=(
        "Expressions can call only the built-in functions: lower upper len contains starts_with coalesce min "
        "max abs round days_since hours_since."
    ),
)
UNKNOWN_NAME = _code(
    "JD109",
    "unknown-name",
    "a name that is not profile.*, event.*, journey.* or now",
    E,
    explanation=(
        "A name in an expression must be `profile.F`, `event.F`, `journey.entered_at`, `journey.variant` or `now`."
    ),
)
MISSING_SCHEMA = _code(
    "JD110",
    "missing-schema",
    "a journey has no `uses` and so no schema to check against",
    E,
    explanation=("Without `uses SCHEMA` nothing in the journey (events, fields, channels, types) can be checked."),
)
UNKNOWN_EXPERIENCE = _code(
    "JD111",
    "unknown-experience",
    "`experience` is not one of the four connected experiences",
    E,
    explanation=(
        "`experience` is one of the four connected experiences: respond_to_desire, curated_offering, "
        "coach_behavior, automatic_execution."
    ),
)
MIGRATION_UNKNOWN_STEP = _code(
    "JD112",
    "migration-unknown-step",
    "a migration names a step that its version does not have",
    E,
    explanation=(
        "In `migrate from N { OLD -> NEW }` NEW is a step of this version and OLD a step of version N; `keep` "
        "names steps of version N. The old steps are checked when the project holds version N of the journey "
        "(e.g. `journeydsl check journeys/ journeys/x.journey@HEAD~1`); otherwise `build --keep PREVIOUS` checks "
        "them against the kept plan. It is also reported when a step moved to reads an `event` field that none of "
        "the events that can have brought an instance into its old step has: after the move, the current event is "
        "still that one."
    ),
)
MIGRATION_INCOMPLETE = _code(
    "JD113",
    "migration-incomplete",
    "a step of the old version where instances wait is neither moved nor kept",
    E,
    explanation=(
        "Instances of the old version can be waiting at a `wait` step (for an event or a timer). A migration says "
        "where each of those steps goes: move it (`old -> new`) or keep its instances on the old version "
        "(`keep old`, and the bundle must hold that version: build with `--keep` or a `FILE@REV` source)."
    ),
)
MIGRATION_BAD_VERSION = _code(
    "JD114",
    "migration-bad-version",
    "a migration comes from a version that is not older, twice from one version, or moves a step twice",
    E,
    explanation=(
        "`migrate from N` takes instances of an older version: N is below the journey's `version`, and one block "
        "covers one old version. Within a block each old step is moved once or kept once, never both."
    ),
)
UNKNOWN_INTEGRATION = _code(
    "JD115",
    "unknown-integration",
    "a `call` names an integration its schema does not declare",
    E,
    explanation=(
        "A schema lists the integrations its journeys may call (`integration crm_task` in the DSL, "
        "`integrations: [crm_task]` in YAML), as it lists events and channels, so a misspelt `call` is found "
        "by `check` rather than by the system that receives the call record. The check applies once a schema "
        "declares at least one integration; the hint suggests the closest declared name."
    ),
)

# JD2xx: types
TYPE_MISMATCH = _code(
    "JD201",
    "type-mismatch",
    "an operator or function gets operands of the wrong type",
    E,
    explanation=(
        "Operators and functions are typed: `and`/`or`/`not` take bools; `< <= > >=` two numbers, strings, "
        "timestamps or durations; `+ -` numbers, or timestamp ± duration (a timestamp), or timestamp − "
        "timestamp (a duration); `in` needs a list on the right; `==` compares compatible types."
    ),
)
CONDITION_NOT_BOOL = _code(
    "JD202",
    "condition-not-bool",
    "a `where`, `when` or `audience` expression is not bool",
    E,
    explanation=("`where`, `when` and `audience` decide something, so they must be bool expressions."),
)
VALUE_NOT_NUMBER = _code(
    "JD203",
    "value-not-number",
    "a goal `value` expression is not a number",
    E,
    explanation=("A goal's `value` adds up to the journey's value (its ROI), so it must be a number."),
)
SET_TYPE_MISMATCH = _code(
    "JD204",
    "set-type-mismatch",
    "a `set` value does not fit the profile field's type",
    E,
    explanation=("`set profile.F = X` must give F a value of its declared type (null only when F is nullable)."),
)
NOT_ENUM_MEMBER = _code(
    "JD205",
    "not-enum-member",
    "a string compared with or assigned to an enum is not a member",
    E,
    explanation=(
        "A string compared with, put in a list for, or assigned to an enum field must be one of the enum's "
        "members; otherwise the comparison is always false."
    ),
)
WRONG_ARITY = _code(
    "JD206",
    "wrong-arity",
    "a function is called with the wrong number of arguments",
    E,
    explanation=(
        "Each function takes a fixed number of arguments (`round` one or two, `coalesce`, `min` and `max` one or more)."
    ),
)
EVENT_FIELD_NOT_ON_ALL = _code(
    "JD207",
    "event-field-not-on-all",
    "`event.F` where some event types that can be current lack F",
    E,
    explanation=(
        "Inside a step, `event` is the last event the instance consumed: the entry event, or the `on` event "
        "of the `wait` arm that led there. When several can lead to a step, `event.F` must exist on all of "
        "them."
    ),
)

EMIT_MISSING_FIELD = _code(
    "JD208",
    "emit-missing-field",
    "an `emit` leaves out a field that its event declares as not nullable",
    W,
    explanation=(
        "An emitted event is an event like any other: journeys that enter or wait on it read its fields. "
        "`emit E with {…}` should give every field of E that is not nullable (`T?`)."
    ),
)

# JD3xx: graph
UNREACHABLE_STEP = _code(
    "JD301",
    "unreachable-step",
    "no path from the entry step reaches this step",
    W,
    explanation=("No path from the entry step (the first step of the first stage) reaches the step; it is dead code."),
)
INSTANT_LOOP = _code(
    "JD302",
    "instant-loop",
    "a cycle of steps with no `wait` loops forever within one event",
    E,
    explanation=(
        "`->`, `choose` and `experiment` go on within the same event. A cycle made only of them never waits, "
        "so an instance would loop forever; put a `wait` in the cycle."
    ),
)
WAIT_FOREVER = _code(
    "JD303",
    "wait-forever",
    "a `wait` with no `after` or `at`: a customer can wait forever",
    W,
    explanation=(
        "A `wait` with only `on` arms has no timeout: a customer who never sends those events waits forever. "
        "Add `after DURATION -> STEP` or `at EXPR -> STEP`."
    ),
)
CHOOSE_WITHOUT_OTHERWISE = _code(
    "JD304",
    "choose-without-otherwise",
    "a `choose` with no `otherwise`",
    W,
    explanation=(
        "When no `when` holds and there is no `otherwise`, the instance stops in the step with nowhere to go."
    ),
)
DEAD_BRANCH = _code(
    "JD305",
    "dead-branch",
    "a `when` after an always-true `when` can never be taken",
    W,
    explanation=(
        "`choose` takes the first true branch. After a branch that is always true (`true`, `not false`, `x or"
        " true`, a comparison of literals) the later branches can never be taken."
    ),
)

# JD4xx: experiments
WEIGHTS_SUM = _code(
    "JD401",
    "weights-sum",
    "experiment weights do not sum to 100",
    E,
    explanation=("An experiment splits customers by a hash into 100 buckets; the weights must cover exactly 100%."),
)
WEIGHT_RANGE = _code(
    "JD402",
    "weight-range",
    "an experiment weight is outside 1-99",
    E,
    explanation=("A 0% arm never gets a customer and a 100% arm is not an experiment: each weight is 1-99%."),
)
MULTIPLE_CONTROLS = _code(
    "JD403",
    "multiple-controls",
    "an experiment has more than one control",
    E,
    explanation=("The control (holdout) is what the variants are compared with; an experiment has at most one."),
)
CONTROL_REACHES_SEND = _code(
    "JD404",
    "control-reaches-send",
    "an experiment's control arm sends a message right away (holdout contamination)",
    W,
    explanation=(
        "The control arm (`control N%`, or a variant named `control`) is the holdout the variants are measured "
        "against: the lift of a variant is what its customers do beyond what the holdout does untouched. A send "
        "the control arm reaches before it first waits gives the holdout a message as part of the experiment, "
        "so the comparison measures one message against another. Sends after a wait are follow-ups every arm "
        "can share and are not reported. Point the control arm at a wait or an end, or make it a variant."
    ),
)

# JD5xx: policy
MISSING_OWNER = _code(
    "JD501",
    "missing-owner",
    "a journey has no owner (no accountable journey product manager)",
    W,
    explanation=("Journeys are products: each has an accountable owner, the journey product manager."),
)
MISSING_GOAL = _code(
    "JD502",
    "missing-goal",
    "a journey has no goal, so it has no journey ROI",
    W,
    explanation=(
        "Without a goal a journey has no conversions and no journey ROI (value of conversions over the cost "
        "of the sends)."
    ),
)
NO_CONSENT_RULE = _code(
    "JD503",
    "no-consent-rule",
    "a send on a channel whose schema has no `requires`",
    N,
    explanation=(
        "A note: the channel declares no `requires profile.F`, so sends on it go out without a consent check."
        " Fine for transactional channels; add `requires` if the channel needs consent."
    ),
)
EXIT_ON_ENTRY_EVENT = _code(
    "JD504",
    "exit-on-entry-event",
    "an exit on the entry event ends instances it starts",
    W,
    explanation=(
        "Exits are checked before anything else, so an `exit on` the entry event ends the running instance "
        "when the event comes again; usually `reentry` is what was meant."
    ),
)
EMIT_LOOP = _code(
    "JD505",
    "emit-loop",
    "journeys emit each other's entry events with no wait between",
    E,
    explanation=(
        "Journey A emits, right after entry and with no `wait` first, the event that enters journey B, and B "
        "does the same for A (or a longer cycle): the journeys would trigger each other without end."
    ),
)
POLICY_CAP_TWICE = _code(
    "JD506",
    "policy-cap-twice",
    "a schema's contact policy caps one channel twice",
    E,
    explanation=(
        "A `policy` (issue 19) holds one shared cap per channel: `cap email 3 per 7d across journeys` counts the "
        "sends of every journey that uses the schema. Two caps on one channel would leave the reader to guess "
        "which one holds (the runtime keeps the first). Keep one; a journey that should send less on the channel "
        "says so with its own `cap`."
    ),
)
BAD_POLICY_CAP = _code(
    "JD507",
    "bad-policy-cap",
    "a shared cap allows no send at all (`max` below 1) or has an empty window (`per 0d`)",
    E,
    explanation=(
        "`cap CHANNEL MAX per DURATION across journeys` allows MAX sends to one customer in any window of "
        "DURATION. A MAX below 1 would suppress every send on the channel, and a window of zero length counts "
        "nothing; to stop a channel, remove it from the journeys instead."
    ),
)
LONG_SETTLE = _code(
    "JD508",
    "long-settle",
    "a contact policy's `settle` is longer than a day: every capped send waits that long",
    W,
    explanation=(
        "A send on a channel with a shared cap waits `settle` (event time; 1m when not written) for the sends "
        "it competes with, so that the slots go by priority rather than by arrival. Every such send waits the "
        "whole time, even with nothing to compete with: a settle of hours or days delays every welcome email "
        "by as much. A minute or a few cover sends caused by the same event."
    ),
)
UNKNOWN_PRIORITY_NAME = _code(
    "JD509",
    "unknown-priority-name",
    "a contact policy's `priority` names a journey no journey of the schema is, or no experience",
    E,
    explanation=(
        "`priority journeys [a, b]` lists journeys that use the schema, first listed first; `priority experiences "
        "[x, y]` lists experiences (`respond_to_desire`, `curated_offering`, `coach_behavior`, "
        "`automatic_execution`), a fixed vocabulary that may rank an experience no journey has yet. A name "
        "nothing has is most likely a typo, and would leave the journey meant to win at the back of the queue. "
        "Journey names are checked when journeys of the schema are checked with it (checking the schema file "
        "alone cannot know its journeys)."
    ),
)
PRIORITY_NAME_TWICE = _code(
    "JD510",
    "priority-name-twice",
    "a contact policy's `priority` lists one name twice",
    E,
    explanation=("The priority is an order: a name listed twice has two places in it. Keep the one where it belongs."),
)
JOURNEY_CAP_ABOVE_POLICY = _code(
    "JD511",
    "journey-cap-above-policy",
    "a journey's own cap allows more sends than its schema's shared cap",
    W,
    explanation=(
        "A journey's `cap email 2 per 1d` allows up to 2 × ⌈7d / 1d⌉ = 14 sends in the 7 days of a shared "
        "`cap email 3 per 7d across journeys`; the shared cap lets only 3 through, over all journeys, and "
        "suppresses (or delays) the rest by priority. The journey's own cap then promises sends the policy "
        "will not make: lower it to what the policy allows, or raise the policy if the journey needs more."
    ),
)
BAD_EXPECT = _code(
    "JD512",
    "bad-expect",
    "a goal's `expect` is not a percentage above 0 and at most 100",
    E,
    explanation=(
        "`expect 12%` is the share of the journey's entries expected to reach the goal; the report sets the "
        "actual conversion rate against it. A share of 0% or of more than 100% cannot be reached or missed."
    ),
)

# JD6xx: templates
UNKNOWN_TEMPLATE = _code(
    "JD601",
    "unknown-template",
    "a `send` names a message template that does not exist",
    E,
    explanation=(
        "`send CHANNEL NAME` renders `templates/messages/CHANNEL/NAME.j2` (or under `--templates DIR`); the "
        "file must exist. The hint suggests the closest template of that channel."
    ),
)
TEMPLATE_UNDEFINED = _code(
    "JD602",
    "template-undefined",
    "a template uses a variable that is not in `with`, `profile` or `event`",
    E,
    explanation=(
        "A template sees the send's `with` keys, `profile` and `event`, nothing else (templates render with "
        "StrictUndefined, so a missing variable would fail at send time)."
    ),
)
TEMPLATE_SYNTAX = _code(
    "JD603",
    "template-syntax",
    "a message template is not valid Jinja2",
    E,
    explanation=("A message template is not valid Jinja2; the diagnostic points at the template file and line."),
)

TEMPLATE_REFUSED_METHOD = _code(
    "JD604",
    "template-refused-method",
    "a template uses a method the runtime refuses: one that changes data, or a Python internal",
    E,
    explanation=(
        "Templates render in a read-only sandbox: they read `profile`, `event` and the `with` values but cannot "
        "change them. A method that changes a dict or a list (`update`, `pop`, `setdefault`, `clear`, "
        "`append`, `sort`, …), however the template reaches it (`profile.update(…)`, "
        "`(profile|attr('update'))(…)`, `profile['pop'](…)`), and any name starting with `_` is refused at send "
        "time: the send becomes an `error` record and nothing changes. Change the profile with "
        "`set profile.F = …` in the journey, which leaves a `set` record. The diagnostic points at the template."
    ),
)
TEMPLATE_UNBOUNDED = _code(
    "JD605",
    "template-unbounded",
    "a template loop or repetition has no visible bound, or one over the runtime's limits",
    W,
    explanation=(
        "A render is bounded: `range()` gives at most 10,000 items, a value a template builds (`'-' * n`) has at "
        "most 262,144 characters, a body at most 65,536, and a render stops after 100,000 loop iterations and "
        "calls, or one second; a send over a limit becomes an `error` record. The checker warns of a `range(…)` "
        "or a repetition whose size it cannot see (read from data: `range([n, 100]|min)` shows the bound), of "
        "constant ones over the limits, and of nested loops whose counts multiply past the step limit. "
        "Looping over a list itself (`{% for x in profile.interests %}`) needs no bound."
    ),
)

# JD7xx: scenario tests (`*.scenario.yaml`)
SCENARIO_STRUCTURE = _code(
    "JD701",
    "scenario-structure",
    "a scenario file has a wrong key, type or shape",
    E,
    explanation=(
        "A `*.scenario.yaml` file (SPEC section 9) has a key that is not allowed where it stands, a value of the "
        "wrong kind (a mapping where a list belongs), or misses what it needs (`scenarios`, an event's `type` "
        "and `at`). Unknown keys get a did-you-mean hint. Only the scenario with the problem is left out."
    ),
)
SCENARIO_BAD_VALUE = _code(
    "JD702",
    "scenario-bad-value",
    "a scenario time, duration or name is malformed (RFC 3339 `at`, `8d`)",
    E,
    explanation=(
        "Event times are RFC 3339 with a UTC offset (`2026-01-01T10:00:00Z`), so a run means the same on every "
        "machine; `advance` takes a duration (`8d`, `12h`, `8d12h`) or such a time; step, experiment and "
        "variant names are identifiers; a send `status` is `sent`, `suppressed` or `delayed`."
    ),
)
SCENARIO_UNKNOWN_JOURNEY = _code(
    "JD703",
    "scenario-unknown-journey",
    "a scenario names a journey that is not among the loaded files",
    E,
    explanation=(
        "`journeydsl test` loads the journeys of the paths it is given and of each scenario file's folder; the "
        "scenario's `journey:` must name one of them. The hint suggests the closest name."
    ),
)

SCENARIO_UNKNOWN_EVENT = _code(
    "JD704",
    "scenario-unknown-event",
    "a scenario sends an event type the journey's schema does not declare",
    E,
    explanation=(
        "Each event of a scenario has a `type` that must be an event of the schema its journey `uses`. "
        "`journeydsl check` reads the scenario files beside the journeys it checks and reports such a type "
        "where it is written, with the closest declared name, instead of leaving the engine to turn the event "
        "away when `journeydsl test` runs it."
    ),
)

SCENARIO_BAD_DATA = _code(
    "JD705",
    "scenario-bad-data",
    "a scenario's event data or profile has an undeclared field or a value of the wrong type",
    E,
    explanation=(
        "The `data` of a scenario's event and its `profile` are read against the schema the journey `uses`: "
        "each field must be declared there (the engine ignores any other, so a misspelt field reads as null), "
        'and its value must fit the field\'s type: a number written `"55"` in quotes is a string, a zip code '
        "written `80331` without quotes is a number, an enum takes one of its members, a timestamp an RFC 3339 "
        "time. `journeydsl check` reports it where it is written, instead of the engine turning the event away "
        "when `journeydsl test` runs it."
    ),
)


def all_codes() -> list[Code]:
    """Every code in this module, ordered by code."""
    return sorted((v for v in globals().values() if isinstance(v, Code)), key=lambda c: c.code)


def lookup(code_or_name: str) -> Code | None:
    """Find a code by `JD102` or by `unknown-step` (case-insensitive)."""
    wanted = code_or_name.strip().lower()
    for code in all_codes():
        if wanted in (code.code.lower(), code.name):
            return code
    return None
