"""The one registry of diagnostic codes. Codes are stable: never renumber, only add.

`journeydsl check --explain CODE` and `docs/diagnostics.md` are made from this
module. Ranges: JD0xx input (syntax, YAML, files), JD1xx names, JD2xx types,
JD3xx graph, JD4xx experiments, JD5xx policy, JD6xx templates.
"""

from __future__ import annotations

from journeydsl.diagnostics.model import Code, Severity

E, W, N = Severity.ERROR, Severity.WARNING, Severity.INFO

# JD0xx: reading input
SYNTAX_ERROR = Code(
    "JD001",
    "syntax-error",
    "the DSL text does not parse",
    E,
    explanation=(
        "The DSL text does not follow the grammar. The message names what the parser expected at that point, "
        "in words, and the caret points at the first token it could not use."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome => done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNEXPECTED_EOF = Code(
    "JD002",
    "unexpected-end",
    "the file ends in the middle of a construct",
    E,
    explanation=(
        "The file stops in the middle of a construct, usually a missing closing `}`. The message names the "
        "block that is still open."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
YAML_SYNTAX = Code(
    "JD003",
    "yaml-syntax",
    "the YAML text does not parse",
    E,
    explanation=("A YAML file that the YAML parser cannot read (bad indentation, an unclosed bracket or quote)."),
    bad_example="""\
journey: welcome
version: 1
owner: [ana@shop.example
""",
    good_example="""\
journey: welcome
version: 1
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      next: done
    done:
      end: null
""",
)
YAML_STRUCTURE = Code(
    "JD004",
    "yaml-structure",
    "a YAML document has a wrong key, type or shape",
    E,
    explanation=(
        "A YAML document parses but has an unknown key, a value of the wrong type or shape, or misses a "
        "required key. Unknown keys get a did-you-mean hint."
    ),
    bad_example="""\
journey: welcome
version: 1
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      nxt: done
    done:
      end: null
""",
    good_example="""\
journey: welcome
version: 1
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      next: done
    done:
      end: null
""",
)
YAML_UNSAFE = Code(
    "JD005",
    "yaml-unsafe",
    "a YAML tag or alias that is not allowed",
    E,
    explanation=(
        "YAML is loaded safely: tags that would build objects (`!!python/object`, any non-standard tag) are "
        "refused, and so are documents with too many alias references (a 'billion laughs' bomb)."
    ),
    bad_example="""\
journey: welcome
version: 1
owner: !!python/object:os.system ana
uses: shop
entry: {on: signed_up}
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      next: done
    done:
      end: null
""",
    good_example="""\
journey: welcome
version: 1
owner: ana@shop.example
uses: shop
entry: {on: signed_up}
goals:
  - {name: ordered, on: order_placed, within: 30d, value: event.amount}
stages:
  recognize:
    hello:
      do:
        - send: {channel: email, template: welcome}
      next: done
    done:
      end: null
""",
)
FILE_ERROR = Code(
    "JD006",
    "file-error",
    "a file cannot be read (missing, not UTF-8, not a journey file)",
    E,
    explanation=(
        "A path on the command line does not exist, or a file cannot be read, or it is not UTF-8 text. "
        "Journey files are UTF-8."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  title "Café"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  title "Café"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
BAD_LITERAL = Code(
    "JD007",
    "bad-literal",
    "a literal is malformed (duration, time of day, number)",
    E,
    explanation=(
        "A literal the grammar accepts but whose value is wrong: a duration unit other than s m h d w, a time"
        " of day outside 00:00-23:59, a weight that is not a whole number."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  quiet 25:00-08:00
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  quiet 21:00-08:00
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
MISSING_VERSION = Code(
    "JD008",
    "missing-version",
    "a journey has no `version` (an integer >= 1)",
    E,
    explanation=(
        "Every journey has a `version`, an integer from 1. Bundles and running instances are pinned to "
        "(journey, version), so a journey without one cannot be deployed."
    ),
    bad_example="""\
journey welcome {
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
DUPLICATE_HEADER = Code(
    "JD009",
    "duplicate-header",
    "a header item or single policy is written twice",
    E,
    explanation=(
        "A header item (`title`, `version`, `owner`, …) or a single policy (`entry`, `audience`, `reentry`, "
        "`quiet`) is written twice; which one counts would be a guess."
    ),
    bad_example="""\
journey welcome {
  version 1
  version 2
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 2
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
MISSING_ENTRY = Code(
    "JD010",
    "missing-entry",
    "a journey needs exactly one `entry on EVENT`",
    E,
    explanation=(
        "A journey starts on exactly one event: `entry on EVENT [where EXPR] [key EXPR]`. Without it no "
        "customer ever enters."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
NESTING_TOO_DEEP = Code(
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
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  audience profile.ltv
    + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1
    > 100
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  audience profile.ltv + 64 > 100
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
INPUT_TOO_LARGE = Code(
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
    bad_example="""\
journey welcome {
  version 9007199254740993
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 2
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)

# JD1xx: names
DUPLICATE_NAME = Code(
    "JD101",
    "duplicate-name",
    "a journey, stage, step, variant, goal or schema name is used twice",
    E,
    explanation=(
        "Names must be unique in their scope: journeys in a project (same name and version; two versions of "
        "one journey may coexist), schemas, stages and steps in a journey, goals, experiments, and the "
        "variants of an experiment."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step hello { end }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_STEP = Code(
    "JD102",
    "unknown-step",
    "a transition goes to a step that does not exist",
    E,
    explanation=(
        "A transition (`->`, a `wait` arm, a `choose` branch, an experiment arm) names a step that the "
        "journey does not have. The hint suggests the closest step name."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> don }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_EVENT = Code(
    "JD103",
    "unknown-event",
    "an event type that the schema does not declare",
    E,
    explanation=(
        "`entry`, `exit`, `goal`, `wait on` and `emit` name event types; each must be declared in the schema "
        "the journey `uses`."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signedup
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_FIELD = Code(
    "JD104",
    "unknown-field",
    "a profile or event field that the schema does not declare",
    E,
    explanation=(
        "`profile.F` must be a profile field of the schema; `event.F` a field of the current event (plus "
        "`event.id`, `event.type`, `event.at`); `set profile.F` and `emit E with {F: …}` likewise."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.segmnt != "vip"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.segment != "vip"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_CHANNEL = Code(
    "JD105",
    "unknown-channel",
    "a channel that the schema does not declare",
    E,
    explanation=("`send` and `cap` name channels; each must be declared in the schema with its cost and consent rule."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send mail welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_SCHEMA = Code(
    "JD107",
    "unknown-schema",
    "`uses` names a schema that cannot be found",
    E,
    explanation=(
        "`uses NAME` names the schema the journey is checked against. It is looked up among the files checked"
        " and, failing that, the journey files in the journey's own folder."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shops
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_FUNCTION = Code(
    "JD108",
    "unknown-function",
    "a function that the expression language does not have",
    E,
    explanation=(
        "Expressions can call only the built-in functions: lower upper len contains starts_with coalesce min "
        "max abs round days_since hours_since."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where lowercase(event.plan) == "pro"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where lower(event.plan) == "pro"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_NAME = Code(
    "JD109",
    "unknown-name",
    "a name that is not profile.*, event.*, journey.* or now",
    E,
    explanation=(
        "A name in an expression must be `profile.F`, `event.F`, `journey.entered_at`, `journey.variant` or `now`."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where customer.ltv > 100
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.ltv > 100
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
MISSING_SCHEMA = Code(
    "JD110",
    "missing-schema",
    "a journey has no `uses` and so no schema to check against",
    E,
    explanation=("Without `uses SCHEMA` nothing in the journey (events, fields, channels, types) can be checked."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
UNKNOWN_EXPERIENCE = Code(
    "JD111",
    "unknown-experience",
    "`experience` is not one of the four connected experiences",
    E,
    explanation=(
        "`experience` is one of the four connected experiences: respond_to_desire, curated_offering, "
        "coach_behavior, automatic_execution."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  experience curated_offer
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  experience curated_offering
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)

# JD2xx: types
TYPE_MISMATCH = Code(
    "JD201",
    "type-mismatch",
    "an operator or function gets operands of the wrong type",
    E,
    explanation=(
        "Operators and functions are typed: `and`/`or`/`not` take bools; `< <= > >=` two numbers, strings, "
        "timestamps or durations; `+ -` numbers, or timestamp ± duration (a timestamp), or timestamp − "
        "timestamp (a duration); `in` needs a list on the right; `==` compares compatible types."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.ltv > "100"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.ltv > 100
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
CONDITION_NOT_BOOL = Code(
    "JD202",
    "condition-not-bool",
    "a `where`, `when` or `audience` expression is not bool",
    E,
    explanation=("`where`, `when` and `audience` decide something, so they must be bool expressions."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  audience profile.ltv
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  audience profile.ltv > 0
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
VALUE_NOT_NUMBER = Code(
    "JD203",
    "value-not-number",
    "a goal `value` expression is not a number",
    E,
    explanation=("A goal's `value` adds up to the journey's value (its ROI), so it must be a number."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.id
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
SET_TYPE_MISMATCH = Code(
    "JD204",
    "set-type-mismatch",
    "a `set` value does not fit the profile field's type",
    E,
    explanation=("`set profile.F = X` must give F a value of its declared type (null only when F is nullable)."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { set profile.ltv = "high" send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { set profile.ltv = 0 send email welcome -> done }
    step done { end }
  }
}
""",
)
NOT_ENUM_MEMBER = Code(
    "JD205",
    "not-enum-member",
    "a string compared with or assigned to an enum is not a member",
    E,
    explanation=(
        "A string compared with, put in a list for, or assigned to an enum field must be one of the enum's "
        "members; otherwise the comparison is always false."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.segment == "gold"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where profile.segment == "vip"
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
WRONG_ARITY = Code(
    "JD206",
    "wrong-arity",
    "a function is called with the wrong number of arguments",
    E,
    explanation=(
        "Each function takes a fixed number of arguments (`round` one or two, `coalesce`, `min` and `max` one or more)."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where len(event.plan, 2) > 0
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up where len(event.plan) > 0
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
EVENT_FIELD_NOT_ON_ALL = Code(
    "JD207",
    "event-field-not-on-all",
    "`event.F` where some event types that can be current lack F",
    E,
    explanation=(
        "Inside a step, `event` is the last event the instance consumed: the entry event, or the `on` event "
        "of the `wait` arm that led there. When several can lead to a step, `event.F` must exist on all of "
        "them."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      wait {
        on order_placed -> thanks
        after 3d -> thanks
      }
    }
    step thanks { send email offer with { discount: event.amount } -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      wait {
        on order_placed -> thanks
        after 3d -> done
      }
    }
    step thanks { send email offer with { discount: event.amount } -> done }
    step done { end }
  }
}
""",
)

EMIT_MISSING_FIELD = Code(
    "JD208",
    "emit-missing-field",
    "an `emit` leaves out a field that its event declares as not nullable",
    W,
    explanation=(
        "An emitted event is an event like any other: journeys that enter or wait on it read its fields. "
        "`emit E with {…}` should give every field of E that is not nullable (`T?`)."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { emit cart_updated with { cart_id: "c-1" } -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { emit cart_updated with { cart_id: "c-1", total: 0 } -> done }
    step done { end }
  }
}
""",
)

# JD3xx: graph
UNREACHABLE_STEP = Code(
    "JD301",
    "unreachable-step",
    "no path from the entry step reaches this step",
    W,
    explanation=("No path from the entry step (the first step of the first stage) reaches the step; it is dead code."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step reminder { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
INSTANT_LOOP = Code(
    "JD302",
    "instant-loop",
    "a cycle of steps with no `wait` loops forever within one event",
    E,
    explanation=(
        "`->`, `choose` and `experiment` go on within the same event. A cycle made only of them never waits, "
        "so an instance would loop forever; put a `wait` in the cycle."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> again }
    step again { -> hello }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> again }
    step again { wait 7d -> hello }
  }
}
""",
)
WAIT_FOREVER = Code(
    "JD303",
    "wait-forever",
    "a `wait` with no `after` or `at`: a customer can wait forever",
    W,
    explanation=(
        "A `wait` with only `on` arms has no timeout: a customer who never sends those events waits forever. "
        "Add `after DURATION -> STEP` or `at EXPR -> STEP`."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      wait {
        on order_placed -> done
      }
    }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      wait {
        on order_placed -> done
        after 14d -> done
      }
    }
    step done { end }
  }
}
""",
)
CHOOSE_WITHOUT_OTHERWISE = Code(
    "JD304",
    "choose-without-otherwise",
    "a `choose` with no `otherwise`",
    W,
    explanation=(
        "When no `when` holds and there is no `otherwise`, the instance stops in the step with nowhere to go."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      choose {
        when profile.ltv > 100 -> vip
      }
    }
    step vip { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      choose {
        when profile.ltv > 100 -> vip
        otherwise -> done
      }
    }
    step vip { send email welcome -> done }
    step done { end }
  }
}
""",
)
DEAD_BRANCH = Code(
    "JD305",
    "dead-branch",
    "a `when` after an always-true `when` can never be taken",
    W,
    explanation=(
        "`choose` takes the first true branch. After a branch that is always true (`true`, `not false`, `x or"
        " true`, a comparison of literals) the later branches can never be taken."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      choose {
        when true -> vip
        when profile.ltv > 100 -> vip
        otherwise -> done
      }
    }
    step vip { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      choose {
        when profile.ltv > 100 -> vip
        otherwise -> done
      }
    }
    step vip { send email welcome -> done }
    step done { end }
  }
}
""",
)

# JD4xx: experiments
WEIGHTS_SUM = Code(
    "JD401",
    "weights-sum",
    "experiment weights do not sum to 100",
    E,
    explanation=("An experiment splits customers by a hash into 100 buckets; the weights must cover exactly 100%."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 50% -> a
        variant long 30% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 50% -> a
        variant long 40% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
)
WEIGHT_RANGE = Code(
    "JD402",
    "weight-range",
    "an experiment weight is outside 1-99",
    E,
    explanation=("A 0% arm never gets a customer and a 100% arm is not an experiment: each weight is 1-99%."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 90% -> a
        variant long 0% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 50% -> a
        variant long 40% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
)
MULTIPLE_CONTROLS = Code(
    "JD403",
    "multiple-controls",
    "an experiment has more than one control",
    E,
    explanation=("The control (holdout) is what the variants are compared with; an experiment has at most one."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 50% -> a
        control 40% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      experiment copy {
        variant short 50% -> a
        variant long 40% -> a
        control 10% -> done
      }
    }
    step a { send email welcome -> done }
    step done { end }
  }
}
""",
)

# JD5xx: policy
MISSING_OWNER = Code(
    "JD501",
    "missing-owner",
    "a journey has no owner (no accountable journey product manager)",
    W,
    explanation=("Journeys are products: each has an accountable owner, the journey product manager."),
    bad_example="""\
journey welcome {
  version 1
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
MISSING_GOAL = Code(
    "JD502",
    "missing-goal",
    "a journey has no goal, so it has no journey ROI",
    W,
    explanation=(
        "Without a goal a journey has no conversions and no journey ROI (value of conversions over the cost "
        "of the sends)."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
NO_CONSENT_RULE = Code(
    "JD503",
    "no-consent-rule",
    "a send on a channel whose schema has no `requires`",
    N,
    explanation=(
        "A note: the channel declares no `requires profile.F`, so sends on it go out without a consent check."
        " Fine for transactional channels; add `requires` if the channel needs consent."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send push ping -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
EXIT_ON_ENTRY_EVENT = Code(
    "JD504",
    "exit-on-entry-event",
    "an exit on the entry event ends instances it starts",
    W,
    explanation=(
        "Exits are checked before anything else, so an `exit on` the entry event ends the running instance "
        "when the event comes again; usually `reentry` is what was meant."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  exit on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  exit on unsubscribed
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
EMIT_LOOP = Code(
    "JD505",
    "emit-loop",
    "journeys emit each other's entry events with no wait between",
    E,
    explanation=(
        "Journey A emits, right after entry and with no `wait` first, the event that enters journey B, and B "
        "does the same for A (or a longer cycle): the journeys would trigger each other without end."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { emit cart_updated with { cart_id: "c-1", total: 0 } -> done }
    step done { end }
  }
}

journey cart {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on cart_updated
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { emit signed_up with { plan: "pro" } -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { emit cart_updated with { cart_id: "c-1", total: 0 } -> done }
    step done { end }
  }
}

journey cart {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on cart_updated
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { wait 1d -> nudge }
    step nudge { emit signed_up with { plan: "pro" } -> done }
    step done { end }
  }
}
""",
)

# JD6xx: templates
UNKNOWN_TEMPLATE = Code(
    "JD601",
    "unknown-template",
    "a `send` names a message template that does not exist",
    E,
    explanation=(
        "`send CHANNEL NAME` renders `templates/messages/CHANNEL/NAME.j2` (or under `--templates DIR`); the "
        "file must exist. The hint suggests the closest template of that channel."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcom -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)
TEMPLATE_UNDEFINED = Code(
    "JD602",
    "template-undefined",
    "a template uses a variable that is not in `with`, `profile` or `event`",
    E,
    explanation=(
        "A template sees the send's `with` keys, `profile` and `event`, nothing else (templates render with "
        "StrictUndefined, so a missing variable would fail at send time)."
    ),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email offer -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email offer with { discount: 10 } -> done }
    step done { end }
  }
}
""",
)
TEMPLATE_SYNTAX = Code(
    "JD603",
    "template-syntax",
    "a message template is not valid Jinja2",
    E,
    explanation=("A message template is not valid Jinja2; the diagnostic points at the template file and line."),
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email broken -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email welcome -> done }
    step done { end }
  }
}
""",
)

TEMPLATE_REFUSED_METHOD = Code(
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
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email optin -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello {
      set profile.consent_email = true
      send email welcome -> done
    }
    step done { end }
  }
}
""",
)
TEMPLATE_UNBOUNDED = Code(
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
    bad_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email picks_by_index -> done }
    step done { end }
  }
}
""",
    good_example="""\
journey welcome {
  version 1
  owner "ana@shop.example"
  uses shop
  entry on signed_up
  goal ordered on order_placed within 30d value event.amount
  stage recognize {
    step hello { send email picks -> done }
    step done { end }
  }
}
""",
)

# JD7xx: scenario tests (`*.scenario.yaml`)
SCENARIO_STRUCTURE = Code(
    "JD701",
    "scenario-structure",
    "a scenario file has a wrong key, type or shape",
    E,
    explanation=(
        "A `*.scenario.yaml` file (SPEC section 9) has a key that is not allowed where it stands, a value of the "
        "wrong kind (a mapping where a list belongs), or misses what it needs (`scenarios`, an event's `type` "
        "and `at`). Unknown keys get a did-you-mean hint. Only the scenario with the problem is left out."
    ),
    bad_example="""\
journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
    expect: {pth: [hello, done]}
""",
    good_example="""\
journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
    expect: {path: [hello, done]}
""",
)
SCENARIO_BAD_VALUE = Code(
    "JD702",
    "scenario-bad-value",
    "a scenario time, duration or name is malformed (RFC 3339 `at`, `8d`)",
    E,
    explanation=(
        "Event times are RFC 3339 with a UTC offset (`2026-01-01T10:00:00Z`), so a run means the same on every "
        "machine; `advance` takes a duration (`8d`, `12h`, `8d12h`) or such a time; step, experiment and "
        "variant names are identifiers; a send `status` is `sent`, `suppressed` or `delayed`."
    ),
    bad_example="""\
journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00}
      - {advance: 8 days}
""",
    good_example="""\
journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
      - {advance: 8d}
""",
)
SCENARIO_UNKNOWN_JOURNEY = Code(
    "JD703",
    "scenario-unknown-journey",
    "a scenario names a journey that is not among the loaded files",
    E,
    explanation=(
        "`journeydsl test` loads the journeys of the paths it is given and of each scenario file's folder; the "
        "scenario's `journey:` must name one of them. The hint suggests the closest name."
    ),
    bad_example="""\
journey: welcom
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
""",
    good_example="""\
journey: welcome
scenarios:
  - name: signs up
    events:
      - {type: signed_up, at: 2026-01-01T10:00:00Z}
""",
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
