"""Fuzzing the two doors of untrusted input: journey files (both forms) and bundles (issue 12).

Journey files: random bytes and mutated example journeys go through `load_project` and `check_project`,
which must never raise, must give every diagnostic a position in the file, and must finish in bounded
time; every output format renders them. Bundles: mutated plan.json content in an unsigned bundle whose
hashes are recomputed (all a signature-less attacker can do) either loads, and then the engine runs
events on it without an exception, or is refused with a BundleError; never anything else. A plan the
loader accepts is also valid under the published JSON Schema (checked with `jsonschema`).

The seeded corpus under tests/fuzz_corpus/ keeps inputs that once broke something, and runs on every
test run: journeys/<CODE>-*.journey* must give that code, journeys/any-* only the invariants; and
bundles/refused-*.plan.json must be refused, bundles/runs-*.plan.json must load and run.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeydsl.check import check_project
from journeydsl.compile import compile_project
from journeydsl.diagnostics import Diagnostic
from journeydsl.diagnostics.lines import source_lines
from journeydsl.diagnostics.render import FORMATS, render
from journeydsl.project import load_project
from journeydsl.runtime import Engine
from journeydsl.runtime.bundle import BundleError, canonical_json, load_bundle, manifest_revision
from journeydsl.runtime.plan_schema import PLAN_SCHEMA

REPO = Path(__file__).resolve().parents[1]
JOURNEYS = REPO / "journeys"
TEMPLATES = REPO / "templates"
CORPUS = Path(__file__).resolve().parent / "fuzz_corpus"
SCHEMA_FILE = JOURNEYS / "customer.journey"
EXAMPLES = sorted(p for p in JOURNEYS.iterdir() if p.name.endswith((".journey", ".journey.yaml")) and p != SCHEMA_FILE)
SECONDS = 10  # per check of one file: generous for a shared machine; the files here take milliseconds
# A few seconds per test in the suite; JD_FUZZ_EXAMPLES=2000 for a longer hunt on a developer's machine.
FUZZ = settings(
    max_examples=int(os.environ.get("JD_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# --------------------------------------------------------------------------- journey files


def check_file(data: bytes, name: str) -> list[Diagnostic]:
    """Check one file (next to the example schema) and assert the invariants; returns its diagnostics."""
    with tempfile.TemporaryDirectory(prefix="jd-fuzz-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        (Path(tmp) / "customer.journey").write_bytes(SCHEMA_FILE.read_bytes())
        started = time.perf_counter()
        project = load_project([path], templates_dir=TEMPLATES)
        diags = check_project(project)
        assert time.perf_counter() - started < SECONDS
        text = project.sources.get(str(path))
        for diag in diags:
            assert diag.span is not None, diag
            assert diag.span.line >= 1 and diag.span.col >= 1, diag
            if diag.span.file == str(path) and text is not None:
                assert diag.span.line <= len(source_lines(text, str(path))) + 1, diag
        for fmt in FORMATS:
            out = render(fmt, diags, project.sources)
            assert len(out) < 10_000 * (len(diags) + 1) + 100_000, fmt  # bounded excerpts and messages
        return diags


NASTY = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "not ",
    " + ",
    " or ",
    "-",
    "abs(",
    '"',
    "\\",
    "#",
    "\n",
    ":",
    "- ",
    "&a ",
    "*a",
    "!!python/object ",
    "9" * 30,
    "1" * 5000,
    "9" * 40 + "d",
    "0.",
    "->",
    "\t",
    "\x00",
    "\ufeff",
    "é",
    "\r\n",
    "\u2028",
    "step",
    "wait",
    "%",
    "list<",
    ">",
]


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    """An example journey (either form) with a few random insertions, deletions and repetitions."""
    source = draw(st.sampled_from(EXAMPLES))
    text = source.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "repeat", "truncate"]))
        if action == "insert":
            piece = draw(st.lists(st.sampled_from(NASTY) | st.text(max_size=3), min_size=1, max_size=4))
            text = text[:at] + "".join(piece) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
        elif action == "repeat":  # a piece of the file many times over: long lines, deep brackets
            piece = text[at : at + draw(st.integers(1, 12))]
            text = text[:at] + piece * draw(st.integers(2, 400)) + text[at:]
        else:
            text = text[:at]
    return text.encode("utf-8", "surrogatepass"), source.name


@FUZZ
@given(mutated())
def test_mutated_example_journeys_check_without_raising(case: tuple[bytes, str]) -> None:
    check_file(*case)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["x.journey", "x.journey.yaml"]))
def test_random_bytes_check_without_raising(data: bytes, name: str) -> None:
    check_file(data, name)


@pytest.mark.parametrize(
    "path",
    sorted((CORPUS / "journeys").iterdir()),
    ids=lambda p: p.name,
)
def test_journey_corpus(path: Path) -> None:
    diags = check_file(path.read_bytes(), path.name)
    expected = path.name.split("-", 1)[0]
    if expected != "any":
        assert expected in {d.code.code for d in diags}, [d.code.code for d in diags]


# --------------------------------------------------------------------------- bundles

PLAN = "journeys/solar_onboarding/3/plan.json"


@functools.cache
def good_files() -> dict[str, bytes]:
    project = load_project([JOURNEYS / "solar_onboarding.journey", SCHEMA_FILE], templates_dir=TEMPLATES)
    return compile_project(project, ["journeys/"])


def with_plan(data: bytes) -> dict[str, bytes]:
    """The good bundle, unsigned, with PLAN replaced by `data` and every hash and the revision recomputed."""
    files = dict(good_files())
    files[PLAN] = data
    manifest = json.loads(files["manifest.json"])
    manifest["files"][PLAN] = hashlib.sha256(data).hexdigest()
    manifest["revision"] = manifest_revision(manifest)
    files["manifest.json"] = canonical_json(manifest)
    return files


def _event(n: int, kind: str, at: str, **data: Any) -> dict[str, Any]:
    return {"id": f"e{n}", "type": kind, "customer_id": f"c{n % 3}", "at": at, "data": data}


EVENTS = [
    {
        **_event(1, "quote_requested", "2026-03-02T10:00:00Z", roof_area_m2=45, zip="10115", email="a@b.c"),
        "profile": {"segment": "new", "consent_email": True, "consent_sms": True, "tz": "Europe/Berlin"},
    },
    _event(2, "quote_requested", "2026-03-02T22:30:00Z", roof_area_m2=10, zip="10115"),
    _event(3, "quote_requested", "2026-03-03T09:00:00Z", roof_area_m2=20, zip="10115"),
    _event(4, "contract_signed", "2026-03-04T12:00:00Z", amount=12000),
    _event(5, "unsubscribed", "2026-03-20T12:00:00Z"),
    _event(6, "contract_cancelled", "2026-04-20T12:00:00Z"),
]


def outcome(data: bytes) -> str:
    """`refused` (a BundleError) or `ran` (loaded, and the engine ran every event and timer). Anything else raises."""
    files = with_plan(data)
    try:
        bundle = load_bundle(files)
    except BundleError:
        return "refused"
    checker = jsonschema.Draft202012Validator(PLAN_SCHEMA)
    plan = bundle.plans[("solar_onboarding", 3)]
    assert checker.is_valid(plan), [e.message for e in checker.iter_errors(plan)][:3]
    engine = Engine.open(bundle)
    for event in EVENTS:
        engine.process(copy.deepcopy(event))
    engine.advance("2027-01-01T00:00:00Z")
    engine.close()
    return "ran"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 20)
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([2**53, 2**63, 2**64, 10**30, -(2**63) - 1, 1e300, 0.5, 3.0])
    | st.text(max_size=8)
    | st.sampled_from(["lit", "ref", "call", "+", "not", "goto", "wait", "end", "now", "profile", "event", "round"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated_plans(draw: st.DrawFn) -> bytes:
    """The solar plan with a few values replaced, keys removed or added, list items dropped or duplicated."""
    plan = json.loads(good_files()[PLAN])
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(plan)))
        if not path:
            continue
        parent: Any = plan
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "remove", "add", "duplicate", "nudge"]))
        if action == "replace":
            parent[last] = draw(JSON_VALUES)
        elif action == "remove":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
        elif action == "duplicate" and isinstance(parent, list):
            parent.insert(last, copy.deepcopy(parent[last]))
        elif action == "nudge" and type(parent[last]) is int:  # step ids and targets just out of range
            parent[last] += draw(st.sampled_from([-1, 1, 13, 14, -100]))
    return canonical_json(plan) if draw(st.booleans()) else json.dumps(plan).encode()


@FUZZ
@given(mutated_plans())
def test_mutated_plans_load_and_run_or_are_refused(data: bytes) -> None:
    assert outcome(data) in ("refused", "ran")


@FUZZ
@given(st.data())
def test_mutated_plan_bytes_load_and_run_or_are_refused(draw: st.DataObject) -> None:
    data = bytearray(good_files()[PLAN])
    for _ in range(draw.draw(st.integers(1, 4))):
        at = draw.draw(st.integers(0, len(data) - 1))
        data[at] = draw.draw(st.sampled_from(b'0123456789-.,:[]{}"e '))
    assert outcome(bytes(data)) in ("refused", "ran")


def test_the_unchanged_plan_runs() -> None:
    assert outcome(good_files()[PLAN]) == "ran"


@pytest.mark.parametrize("path", sorted((CORPUS / "bundles").iterdir()), ids=lambda p: p.name)
def test_bundle_corpus(path: Path) -> None:
    expected = {"refused": "refused", "runs": "ran"}[path.name.split("-", 1)[0]]
    assert outcome(path.read_bytes()) == expected
