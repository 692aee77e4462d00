"""Every plan is validated completely when a bundle loads: a hand-made plan is refused with its JSON path.

A "hand-made plan" is a plan.json edited in an unsigned bundle whose hashes and revision are recomputed:
everything but a signature vouches for it, so only the plan's own check stands between it and the engine.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from compile_support import solar_journey

from journeydsl.cli import main
from journeydsl.compile import compile_project, write_bundle
from journeydsl.compile.expr import BINARY_OPS, UNARY_TAGS
from journeydsl.ir import FUNCTIONS
from journeydsl.project import Project, load_project
from journeydsl.runtime import Engine
from journeydsl.runtime.bundle import BundleError, canonical_json, load_bundle, manifest_revision
from journeydsl.runtime.expr import _BUILDERS, _FUNCTIONS
from journeydsl.runtime.plan import FLOW_KINDS
from journeydsl.runtime.plan_schema import (
    ANNOTATIONS,
    BINARY_TAGS,
    EXPR_TAGS,
    INDEX_SCHEMA,
    KEYWORDS,
    MAX_EXPR_DEPTH,
    PLAN_SCHEMA,
    PlanFormatError,
    validate_index,
    validate_plan,
)

REPO = Path(__file__).resolve().parents[2]
PLAN = "journeys/solar_onboarding/3/plan.json"


def rewrite(files: dict[str, bytes], name: str, change: Callable[[Any], object]) -> dict[str, bytes]:
    """An unsigned bundle with `name` changed in place and every hash and the revision made consistent again."""
    data = json.loads(files[name])
    change(data)
    out = {n: d for n, d in files.items() if n != "signatures.json"}
    out[name] = canonical_json(data)
    manifest = json.loads(out["manifest.json"])
    manifest["files"][name] = hashlib.sha256(out[name]).hexdigest()
    manifest["revision"] = manifest_revision(manifest)
    out["manifest.json"] = canonical_json(manifest)
    return out


@pytest.fixture
def files(project_factory: Callable[..., Project]) -> dict[str, bytes]:
    return compile_project(project_factory(solar_journey(3)), ["journeys/"])


@pytest.fixture
def plan(files: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(files[PLAN])  # type: ignore[no-any-return]


def _refused(plan: dict[str, Any]) -> PlanFormatError:
    with pytest.raises(PlanFormatError) as info:
        validate_plan(plan)
    return info.value


# --------------------------------------------------------------------------- the schema itself


def test_the_schemas_are_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(PLAN_SCHEMA)
    jsonschema.Draft202012Validator.check_schema(INDEX_SCHEMA)
    assert PLAN_SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schemas_use_only_keywords_the_loader_interprets() -> None:
    def keywords(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("properties", "$defs"):
                    for sub in value.values():
                        found |= keywords(sub)
                else:
                    found.add(key)
                    found |= keywords(value)
        elif isinstance(node, list):
            for item in node:
                found |= keywords(item)
        return found

    used = keywords(PLAN_SCHEMA) | keywords(INDEX_SCHEMA)
    assert used - KEYWORDS - ANNOTATIONS == set()


def test_the_schema_knows_what_the_runtime_and_the_compiler_know() -> None:
    assert set(EXPR_TAGS) == set(_BUILDERS)
    assert set(BINARY_TAGS) == BINARY_OPS and {"not", "neg"} == set(UNARY_TAGS.values())
    call = PLAN_SCHEMA["$defs"]["expr"]["allOf"][-1]["then"]
    assert set(call["prefixItems"][1]["enum"]) == set(_FUNCTIONS) == set(FUNCTIONS)
    kinds = {b["properties"]["kind"]["const"] for b in PLAN_SCHEMA["$defs"]["flow"]["anyOf"]}
    assert kinds == set(FLOW_KINDS)


def test_every_example_journey_compiles_to_plans_that_validate() -> None:
    project = load_project([REPO / "journeys"], templates_dir=REPO / "templates")
    files = compile_project(project, ["journeys/"])
    plans = [json.loads(data) for name, data in files.items() if name.endswith("/plan.json")]
    assert len(plans) == len(project.journeys()) >= 7
    checker = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    for plan in plans:
        validate_plan(plan)
        assert [e.message for e in checker.iter_errors(plan)] == [], plan["journey"]
    index = json.loads(files["index.json"])
    validate_index(index)
    jsonschema.validate(index, INDEX_SCHEMA)
    assert set(load_bundle(files).plans) == {(p["journey"], p["version"]) for p in plans}


# --------------------------------------------------------------------------- what is refused, and where


def _step(plan: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in plan["steps"] if s["name"] == name)  # type: ignore[no-any-return]


def _nested(depth: int) -> list[Any]:
    node: list[Any] = ["ref", "event", "roof_area_m2"]
    for _ in range(depth - 1):
        node = ["neg", node]
    return node


CASES: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "goto-target-missing",
        lambda p: p["steps"][0]["flow"].update(to=99),
        "$.steps[0].flow.to",
        "step 99 does not exist (the plan has 14 steps)",
    ),
    (
        "negative-target",
        lambda p: p["steps"][2]["flow"].update(to=-1),
        "$.steps[2].flow.to",
        "step -1 does not exist (the plan has 14 steps)",
    ),
    (
        "wait-arm-target",
        lambda p: _step(p, "await_signature")["flow"]["on"]["contract_signed"][0].__setitem__(1, 14),
        "$.steps[5].flow.on.contract_signed[0][1]",
        "step 14 does not exist (the plan has 14 steps)",
    ),
    (
        "timeout-target",
        lambda p: _step(p, "last_call")["flow"]["timeout"].update(to=40),
        "$.steps[9].flow.timeout.to",
        "step 40 does not exist (the plan has 14 steps)",
    ),
    (
        "choose-otherwise",
        lambda p: _step(p, "size_roof")["flow"].update(otherwise=20),
        "$.steps[1].flow.otherwise",
        "step 20 does not exist (the plan has 14 steps)",
    ),
    (
        "variant-target",
        lambda p: _step(p, "nudge")["flow"]["variants"][1].update(to=-3),
        "$.steps[6].flow.variants[1].to",
        "step -3 does not exist (the plan has 14 steps)",
    ),
    ("entry-step", lambda p: p.update(entry_step=14), "$.entry_step", "step 14 does not exist (the plan has 14 steps)"),
    (
        "target-as-float",
        lambda p: p["steps"][0]["flow"].update(to=1.0),
        "$.steps[0].flow.to",
        "expected an integer (written without a fraction), got 1.0",
    ),
    (
        "target-as-text",
        lambda p: p["steps"][0]["flow"].update(to="1"),
        "$.steps[0].flow.to",
        "expected an integer, got a string",
    ),
    (
        "unknown-flow-kind",
        lambda p: p["steps"][0]["flow"].update(kind="jump"),
        "$.steps[0].flow.kind",
        "unknown kind 'jump'; expected one of: choose, end, experiment, goto, sleep, wait",
    ),
    (
        "unknown-action-kind",
        lambda p: p["steps"][0]["actions"][0].update(kind="fax"),
        "$.steps[0].actions[0].kind",
        "unknown kind 'fax'; expected one of: call, emit, send, set",
    ),
    (
        "unknown-tag",
        lambda p: p["entry"].update(where=["eval", "1"]),
        "$.entry.where[0]",
        "unknown expression tag 'eval'; expected one of:",
    ),
    (
        "binary-arity",
        lambda p: p["entry"]["where"].append(["lit", 1]),
        "$.entry.where",
        "expected a list of 3 items, got 4",
    ),
    (
        "unknown-function",
        lambda p: p["entry"].update(where=["call", "system", ["lit", "rm"]]),
        "$.entry.where[1]",
        "'system' is not one of: abs, coalesce,",
    ),
    (
        "call-arity",
        lambda p: p["entry"].update(where=["call", "lower", ["lit", "a"], ["lit", "b"]]),
        "$.entry.where",
        "lower() takes 1 argument, got 2",
    ),
    (
        "coalesce-arity",
        lambda p: p["entry"].update(where=["call", "coalesce", *[["lit", 1]] * 65]),
        "$.entry.where",
        "coalesce() takes 1 to 64 arguments, got 65",
    ),
    (
        "unknown-name",
        lambda p: p["entry"].update(where=["ref", "os", "environ"]),
        "$.entry.where[1]",
        "'os' is not one of: profile, event",
    ),
    (
        "name-not-text",
        lambda p: p["entry"].update(where=["ref", "event", ["x"]]),
        "$.entry.where[2]",
        "expected a string, got a list",
    ),
    (
        "deep-expression",
        lambda p: p["entry"].update(where=_nested(MAX_EXPR_DEPTH + 1)),
        "$.entry.where",
        f"the expression is nested more than {MAX_EXPR_DEPTH} levels deep",
    ),
    (
        "literal-list",
        lambda p: p["entry"].update(where=["lit", [1, 2]]),
        "$.entry.where[1]",
        "expected null or true or false or a string or a number, got a list",
    ),
    (
        "literal-too-large",
        lambda p: p["entry"].update(where=["lit", 2**53]),
        "$.entry.where[1]",
        "9007199254740992 is above the maximum 9007199254740991",
    ),
    (
        "duration-too-long",
        lambda p: _step(p, "install")["flow"].update(after_s=10**12),
        "$.steps[10].flow.after_s",
        "1000000000000 is above the maximum 8640000000",
    ),
    (
        "negative-duration",
        lambda p: p["reentry"].update(after_s=-5),
        "$.reentry.after_s",
        "-5 is below the minimum 0",
    ),
    ("missing-key", lambda p: p["steps"][3].pop("flow"), "$.steps[3]", "missing key 'flow'"),
    ("extra-key", lambda p: p["steps"][3].update(eval="x"), "$.steps[3].eval", "unexpected key 'eval'"),
    (
        "step-ids-out-of-order",
        lambda p: p["steps"][3].update(id=4),
        "$.steps[3].id",
        "step ids run 0..n-1 in order: expected 3, got 4",
    ),
    ("no-steps", lambda p: p.update(steps=[], entry_step=0), "$.entry_step", "step 0 does not exist"),
    (
        "quiet-minutes",
        lambda p: p["quiet"].update(start_min=1440),
        "$.quiet.start_min",
        "1440 is above the maximum 1439",
    ),
    (
        "weight",
        lambda p: _step(p, "nudge")["flow"]["variants"][0].update(weight=True),
        "$.steps[6].flow.variants[0].weight",
        "expected an integer, got true or false",
    ),
    (
        "nested-type",
        lambda p: p["schema"]["profile"]["interests"].update(item={"type": "string", "nullable": False, "item": None}),
        "$.schema.profile.interests.item.item",
        "expected an object, got null",
    ),
    (
        "wait-order-short",
        lambda p: _step(p, "await_signature")["flow"]["order"].pop(),
        "$.steps[5].flow.order",
        "names 'quote_requested' 0 times, but `on` holds 1 arm of it",
    ),
    (
        "wait-order-unknown-event",
        lambda p: _step(p, "await_signature")["flow"]["order"].append("unsubscribed"),
        "$.steps[5].flow.order",
        "names 'unsubscribed' 1 time, but `on` holds 0 arms of it",
    ),
    (
        "event-name-key",
        lambda p: p["exits"].update({"bad key": [{"where": 5}]}),
        '$.exits["bad key"][0].where',
        "expected null or an expression, got an integer",
    ),
]


@pytest.mark.parametrize(("change", "path", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_plan_is_refused_with_its_json_path(
    plan: dict[str, Any], change: Callable[[dict[str, Any]], None], path: str, reason: str
) -> None:
    validate_plan(copy.deepcopy(plan))
    change(plan)
    err = _refused(plan)
    assert err.path == path and err.reason.startswith(reason), str(err)
    assert str(err) == f"{path}: {err.reason}"


def test_the_version_must_be_a_positive_integer_below_2_53(plan: dict[str, Any]) -> None:
    for version, reason in [(0, "0 is below the minimum 1"), (2**53, "is above the maximum"), (True, "expected an")]:
        plan["version"] = version
        assert reason in str(_refused(plan))


def test_numbers_must_be_finite(plan: dict[str, Any]) -> None:
    _step(plan, "install")["flow"]["after_s"] = float("inf")
    assert "inf is not a finite number" in str(_refused(plan))
    _step(plan, "install")["flow"]["after_s"] = 60
    plan["entry"]["where"] = ["lit", float("nan")]
    assert "nan is not a finite number" in str(_refused(plan))


def test_a_plan_nested_beyond_any_plan_is_refused_before_it_is_walked(plan: dict[str, Any]) -> None:
    node: Any = 1
    for _ in range(5000):
        node = [node]
    plan["title"] = node
    assert str(_refused(plan)) == "$: nested more than 80 levels deep"


def test_the_deepest_expression_the_front_end_allows_loads_and_runs(plan: dict[str, Any]) -> None:
    plan["entry"]["where"] = [">=", _nested(MAX_EXPR_DEPTH - 1), ["lit", -1e9]]
    validate_plan(plan)
    assert jsonschema.Draft202012Validator(PLAN_SCHEMA).is_valid(plan)


# --------------------------------------------------------------------------- through load_bundle and the CLI


def _bad_target(plan: dict[str, Any]) -> None:
    plan["steps"][3]["flow"]["to"] = 9 + 90


def test_load_bundle_refuses_a_hand_made_plan_naming_file_and_path(files: dict[str, bytes]) -> None:
    bad = rewrite(files, PLAN, _bad_target)
    with pytest.raises(BundleError) as info:
        load_bundle(bad)
    assert str(info.value) == f"{PLAN}: $.steps[3].flow.to: step 99 does not exist (the plan has 14 steps)"
    with pytest.raises(BundleError, match=r"\$\.steps\[3\]\.flow\.to: step 99 does not exist"):
        Engine.open(bad)


def test_the_index_is_checked_too(files: dict[str, bytes]) -> None:
    with pytest.raises(BundleError, match=r"^index.json: \$\.latest\.solar_onboarding: expected an integer"):
        load_bundle(rewrite(files, "index.json", lambda i: i["latest"].update(solar_onboarding=[3])))
    with pytest.raises(BundleError, match=r"^index.json: \$\.latest: names solar_onboarding v4, which the bundle"):
        load_bundle(rewrite(files, "index.json", lambda i: i["latest"].update(solar_onboarding=4)))
    with pytest.raises(BundleError, match=r"^index.json: \$: missing key 'latest'"):
        load_bundle(rewrite(files, "index.json", lambda i: i.pop("latest")))


def test_a_bundle_written_before_issue_13_still_loads_and_runs(files: dict[str, bytes]) -> None:
    """Format 1 as it was: index.json with `entries`, `exits` and `goals`, waits without `order`."""

    def old_index(index: dict[str, Any]) -> None:
        index.update(
            entries={"quote_requested": [["solar_onboarding", 3]]},
            exits={"unsubscribed": [["solar_onboarding", 3]], "contract_cancelled": [["solar_onboarding", 3]]},
            goals={"contract_signed": [["solar_onboarding", 3]]},
        )

    def old_plan(plan: dict[str, Any]) -> None:
        for step in plan["steps"]:
            step["flow"].pop("order", None)

    old = rewrite(rewrite(files, "index.json", old_index), PLAN, old_plan)
    bundle = load_bundle(old)
    assert "order" not in _step(bundle.plans[("solar_onboarding", 3)], "await_signature")["flow"]
    assert bundle.index["latest"] == {"solar_onboarding": 3} and "entries" in bundle.index
    engine = Engine.open(bundle)
    engine.process(json.loads(_events_text(1)))
    assert [r["kind"] for r in engine.store.actions()][:1] == ["enter"]
    with pytest.raises(BundleError, match=r"^index.json: \$\.entries\.quote_requested\[0\]: expected a list of 2"):
        load_bundle(rewrite(old, "index.json", lambda i: i["entries"]["quote_requested"][0].append(4)))


def _events_text(count: int) -> str:
    return "\n".join(
        json.dumps(
            {
                "id": f"e{n}",
                "type": "quote_requested",
                "customer_id": f"c{n}",
                "at": "2026-03-01T10:00:00Z",
                "data": {"roof_area_m2": 20, "zip": "10115"},
                "profile": {"segment": "new", "consent_email": True, "consent_sms": True},
            }
        )
        for n in range(count)
    )


def _events(path: Path, count: int) -> Path:
    path.write_text(_events_text(count) + "\n", encoding="utf-8")
    return path


def test_run_and_verify_refuse_a_hand_made_plan(files: dict[str, bytes], tmp_path: Path) -> None:
    bundle = write_bundle(rewrite(files, PLAN, _bad_target), tmp_path / "hand-made")
    events = _events(tmp_path / "events.jsonl", 3000)
    runner = CliRunner()
    result = runner.invoke(main, ["run", str(bundle), "--events", str(events)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == (
        f"error: refusing bundle {bundle}: {PLAN}: $.steps[3].flow.to: step 99 does not exist (the plan has 14 steps)\n"
    )
    verify = runner.invoke(main, ["verify", str(bundle)])
    assert verify.exit_code == 1 and "REFUSED" in verify.stderr
    assert f"{PLAN}: $.steps[3].flow.to: step 99 does not exist" in verify.stderr


def test_run_on_sqlite_refuses_a_version_beyond_2_53(files: dict[str, bytes], tmp_path: Path) -> None:
    """Before, a version of 2**63 loaded and crashed SQLite; now nothing past the plan check runs."""
    big = 2**63

    def bump(plan: dict[str, Any]) -> None:
        plan["version"] = big

    renamed = {n.replace("/3/", f"/{big}/"): d for n, d in rewrite(files, PLAN, bump).items()}
    manifest = json.loads(renamed["manifest.json"])
    manifest["files"] = {n.replace("/3/", f"/{big}/"): h for n, h in manifest["files"].items()}
    manifest["journeys"][0]["version"] = big
    manifest["revision"] = manifest_revision(manifest)
    renamed["manifest.json"] = canonical_json(manifest)
    bundle = write_bundle(renamed, tmp_path / "big")
    events = _events(tmp_path / "events.jsonl", 2)
    result = CliRunner().invoke(
        main, ["run", str(bundle), "--events", str(events), "--store", f"sqlite:///{tmp_path / 's.db'}"]
    )
    assert result.exit_code == 1, result.output
    assert f"$.version: {big} is above the maximum 9007199254740991" in result.stderr
