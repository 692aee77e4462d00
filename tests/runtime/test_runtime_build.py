"""The runtime reports its build: `make test` runs tests/runtime twice, on the editable (plain Python) install and
on the mypyc-compiled wheel (`make compiled`, with JOURNEYDSL_EXPECT_COMPILED=1), so that run cannot pass on
plain Python modules by mistake."""

from __future__ import annotations

import importlib
import os

from journeydsl.runtime import compiled, engine
from mypyc_modules import compiled_modules


def test_the_runtime_reports_the_build_it_runs() -> None:
    expected = os.environ.get("JOURNEYDSL_EXPECT_COMPILED") == "1"
    assert compiled() is expected
    assert str(engine.__file__).endswith(".py") is not expected


def test_every_module_the_hook_compiles_runs_compiled() -> None:
    expected = os.environ.get("JOURNEYDSL_EXPECT_COMPILED") == "1"
    plain = [name for name in compiled_modules() if str(importlib.import_module(name).__file__).endswith(".py")]
    assert plain == ([] if expected else list(compiled_modules()))


def test_version_says_which_build_runs() -> None:
    from click.testing import CliRunner

    from journeydsl.cli import main

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    expected = "compiled runtime (mypyc)" if os.environ.get("JOURNEYDSL_EXPECT_COMPILED") == "1" else "plain-Python"
    assert result.output.startswith("journeydsl ") and expected in result.output
