"""The failing and passing example of each diagnostic code, one file each, shipped as package data.

`JD102.bad.journey` triggers JD102 and `JD102.good.journey` is the same file fixed; a YAML example is
`….journey.yaml` and a scenario-file example (JD7xx) `….scenario.yaml`, so each file opens in an editor as what it
is and can be checked as it stands (tests/check/test_check_docs.py checks each name against its text). The registry
(codes.py) stays a short table of code, name, summary, severity and explanation; `example` is the one reader of
these files, for the registry, and through it for `check --explain`, docs/diagnostics.md and the tests that run
every example.

Where it sits: in the diagnostics package, which imports only the IR; it reads files and imports nothing else.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

# JD006 is about bytes that are not UTF-8: its failing example is stored, and run, as Latin-1.
LATIN1_BAD: frozenset[str] = frozenset({"JD006"})

Which = Literal["bad", "good"]


@functools.cache
def example_files() -> dict[tuple[str, str], str]:
    """(code, "bad" or "good") -> the file name, for every example in this folder (listed once per process)."""
    found: dict[tuple[str, str], str] = {}
    for entry in resources.files(__name__).iterdir():
        code, _, rest = entry.name.partition(".")
        which, _, suffix = rest.partition(".")
        if code.startswith("JD") and which in ("bad", "good") and suffix:
            found[(code, which)] = entry.name
    return found


def example(code: str, which: Which) -> str:
    """The text of a code's failing ("bad") or passing ("good") example; "" when it has none."""
    name = example_files().get((code, which))
    if name is None:
        return ""
    data = resources.files(__name__).joinpath(name).read_bytes()
    return data.decode("latin-1" if which == "bad" and code in LATIN1_BAD else "utf-8")
