"""The guide's tables against the code they describe: a function, record kind, store or unit added to the code
fails here until the page names it."""

from __future__ import annotations

import re
from pathlib import Path

from journeydsl.check import types as check_types
from journeydsl.ir import DURATION_UNITS, EXPERIENCES, FUNCTIONS
from journeydsl.runtime import core, expr
from journeydsl.runtime.stores import STORE_MODULES
from journeydsl.testing.scenario import SEND_STATUSES

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide"


def _page(name: str) -> str:
    return (GUIDE / name).read_text(encoding="utf-8")


def test_every_function_is_in_the_functions_table() -> None:
    page = _page("language.md")
    table = page[page.index("### Functions") : page.index("### Types of expressions")]
    assert set(FUNCTIONS) == set(expr._FUNCTIONS), "the checker and the runtime disagree on the functions"
    missing = [name for name in FUNCTIONS if f"`{name}(" not in table]
    assert not missing, f"functions missing from language.md's table: {missing}"
    documented = set(re.findall(r"`([a-z_]+)\(", table))
    assert documented <= set(FUNCTIONS), f"language.md names functions that do not exist: {documented - set(FUNCTIONS)}"


def test_every_name_an_expression_can_read_is_in_the_names_table() -> None:
    page = _page("language.md")
    table = page[page.index("### Names") : page.index("### Operators and precedence")]
    for name in check_types._TOP_NAMES:
        assert f"`{name.rstrip('.')}" in table, name
    for field in check_types._BUILTIN_EVENT_FIELDS:
        assert f"`event.{field}`" in table, field


def test_experiences_and_duration_units_are_listed() -> None:
    page = _page("language.md")
    for experience in EXPERIENCES:
        assert f"`{experience}`" in page, experience
    durations = page[page.index("## Durations and timestamps") :]
    for unit in DURATION_UNITS:
        assert re.search(rf"`[0-9]+{unit}`", durations), f"no example of the unit {unit}"


def test_every_record_kind_is_in_the_records_table() -> None:
    source = Path(core.__file__).read_text(encoding="utf-8")
    kinds = set(re.findall(r'_record\(\s*"([a-z_]+)"', source)) | set(re.findall(r'"kind": "([a-z_]+)"', source))
    assert {"enter", "send", "end", "error"} <= kinds  # the reading works
    page = _page("runtime.md")
    table = page[page.index("## Records") : page.index("## Time")]
    missing = sorted(kind for kind in kinds if f"| `{kind}` |" not in table)
    assert not missing, f"record kinds missing from runtime.md's table: {missing}"


def test_every_store_scheme_is_in_the_stores_table() -> None:
    page = _page("runtime.md")
    table = page[page.index("## Stores") : page.index("## The outbox and delivery")]
    modules = set(STORE_MODULES.values())
    for module in modules:
        schemes = [scheme for scheme, owner in STORE_MODULES.items() if owner == module]
        assert any(f"`{scheme}:/" in table for scheme in schemes), f"no URL of {module} in runtime.md"


def test_send_statuses_and_reasons_are_explained() -> None:
    page = _page("scenarios.md")
    for status in SEND_STATUSES:
        assert f"`{status}`" in page
    source = Path(core.__file__).read_text(encoding="utf-8")
    reasons = set(re.findall(r'status, reason = "suppressed", "([a-z_]+)"', source))
    assert reasons == {"consent", "cap"}, reasons
    for reason in reasons:
        assert f"`{reason}`" in page and f"`{reason}`" in _page("runtime.md")
