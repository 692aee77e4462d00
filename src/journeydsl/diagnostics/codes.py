"""The one registry of diagnostic codes. Codes are stable: never renumber, only add.

`journeydsl check --explain CODE` and `docs/diagnostics.md` are made from this
module. Ranges: JD0xx input (syntax, YAML, files), JD1xx names, JD2xx types,
JD3xx graph, JD4xx experiments, JD5xx policy, JD6xx templates.
"""

from __future__ import annotations

from journeydsl.diagnostics.model import Code, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

# JD0xx: reading input
SYNTAX_ERROR = Code("JD001", "syntax-error", "the DSL text does not parse", E)
UNEXPECTED_EOF = Code("JD002", "unexpected-end", "the file ends in the middle of a construct", E)
YAML_SYNTAX = Code("JD003", "yaml-syntax", "the YAML text does not parse", E)
YAML_STRUCTURE = Code("JD004", "yaml-structure", "a YAML document has a wrong key, type or shape", E)
YAML_UNSAFE = Code("JD005", "yaml-unsafe", "a YAML tag or alias that is not allowed", E)
FILE_ERROR = Code("JD006", "file-error", "a file cannot be read (missing, not UTF-8, not a journey file)", E)
BAD_LITERAL = Code("JD007", "bad-literal", "a literal is malformed (duration, time of day, number)", E)
MISSING_VERSION = Code("JD008", "missing-version", "a journey has no `version` (an integer >= 1)", E)
DUPLICATE_HEADER = Code("JD009", "duplicate-header", "a header item or single policy is written twice", E)
MISSING_ENTRY = Code("JD010", "missing-entry", "a journey needs exactly one `entry on EVENT`", E)

# JD1xx: names
DUPLICATE_NAME = Code(
    "JD101", "duplicate-name", "a journey, stage, step, variant, goal or schema name is used twice", E
)
UNKNOWN_STEP = Code("JD102", "unknown-step", "a transition goes to a step that does not exist", E)
UNKNOWN_EVENT = Code("JD103", "unknown-event", "an event type that the schema does not declare", E)
UNKNOWN_FIELD = Code("JD104", "unknown-field", "a profile or event field that the schema does not declare", E)
UNKNOWN_CHANNEL = Code("JD105", "unknown-channel", "a channel that the schema does not declare", E)
UNKNOWN_SCHEMA = Code("JD107", "unknown-schema", "`uses` names a schema that cannot be found", E)
UNKNOWN_FUNCTION = Code("JD108", "unknown-function", "a function that the expression language does not have", E)
UNKNOWN_NAME = Code("JD109", "unknown-name", "a name that is not profile.*, event.*, journey.* or now", E)
MISSING_SCHEMA = Code("JD110", "missing-schema", "a journey has no `uses` and so no schema to check against", E)
UNKNOWN_EXPERIENCE = Code("JD111", "unknown-experience", "`experience` is not one of the four connected experiences", E)

# JD2xx: types
TYPE_MISMATCH = Code("JD201", "type-mismatch", "an operator or function gets operands of the wrong type", E)
CONDITION_NOT_BOOL = Code("JD202", "condition-not-bool", "a `where`, `when` or `audience` expression is not bool", E)
VALUE_NOT_NUMBER = Code("JD203", "value-not-number", "a goal `value` expression is not a number", E)
SET_TYPE_MISMATCH = Code("JD204", "set-type-mismatch", "a `set` value does not fit the profile field's type", E)
NOT_ENUM_MEMBER = Code("JD205", "not-enum-member", "a string compared with or assigned to an enum is not a member", E)
WRONG_ARITY = Code("JD206", "wrong-arity", "a function is called with the wrong number of arguments", E)
EVENT_FIELD_NOT_ON_ALL = Code(
    "JD207", "event-field-not-on-all", "`event.F` where some event types that can be current lack F", E
)

# JD3xx: graph
UNREACHABLE_STEP = Code("JD301", "unreachable-step", "no path from the entry step reaches this step", W)
INSTANT_LOOP = Code("JD302", "instant-loop", "a cycle of steps with no `wait` loops forever within one event", E)
WAIT_FOREVER = Code("JD303", "wait-forever", "a `wait` with no `after` or `at`: a customer can wait forever", W)
CHOOSE_WITHOUT_OTHERWISE = Code("JD304", "choose-without-otherwise", "a `choose` with no `otherwise`", W)
DEAD_BRANCH = Code("JD305", "dead-branch", "a `when` after an always-true `when` can never be taken", W)

# JD4xx: experiments
WEIGHTS_SUM = Code("JD401", "weights-sum", "experiment weights do not sum to 100", E)
WEIGHT_RANGE = Code("JD402", "weight-range", "an experiment weight is outside 1-99", E)
MULTIPLE_CONTROLS = Code("JD403", "multiple-controls", "an experiment has more than one control", E)

# JD5xx: policy
MISSING_OWNER = Code("JD501", "missing-owner", "a journey has no owner (no accountable journey product manager)", W)
MISSING_GOAL = Code("JD502", "missing-goal", "a journey has no goal, so it has no journey ROI", W)
NO_CONSENT_RULE = Code("JD503", "no-consent-rule", "a send on a channel whose schema has no `requires`", N)
EXIT_ON_ENTRY_EVENT = Code("JD504", "exit-on-entry-event", "an exit on the entry event ends instances it starts", W)
EMIT_LOOP = Code("JD505", "emit-loop", "journeys emit each other's entry events with no wait between", E)

# JD6xx: templates
UNKNOWN_TEMPLATE = Code("JD601", "unknown-template", "a `send` names a message template that does not exist", E)
TEMPLATE_UNDEFINED = Code(
    "JD602", "template-undefined", "a template uses a variable that is not in `with`, `profile` or `event`", E
)
TEMPLATE_SYNTAX = Code("JD603", "template-syntax", "a message template is not valid Jinja2", E)

# JD7xx: scenario tests (`*.scenario.yaml`)
SCENARIO_STRUCTURE = Code("JD701", "scenario-structure", "a scenario file has a wrong key, type or shape", E)
SCENARIO_BAD_VALUE = Code(
    "JD702", "scenario-bad-value", "a scenario time, duration or name is malformed (RFC 3339 `at`, `8d`)", E
)
SCENARIO_UNKNOWN_JOURNEY = Code(
    "JD703", "scenario-unknown-journey", "a scenario names a journey that is not among the loaded files", E
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
