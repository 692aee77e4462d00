"""`journeydsl convert` and `journeydsl schema` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from journeydsl.cli import main
from journeydsl.syntax import load_yaml, parse_dsl

HERE = Path(__file__).parent
SPEC_YAML = HERE / "spec_example.journey.yaml"


def test_convert_yaml_to_dsl_on_stdout() -> None:
    result = CliRunner().invoke(main, ["convert", str(SPEC_YAML), "--to", "dsl"])
    assert result.exit_code == 0, result.output
    converted, diagnostics = parse_dsl(result.stdout, "out.journey")
    original, _ = load_yaml(SPEC_YAML.read_text(encoding="utf-8"), str(SPEC_YAML))
    assert diagnostics == []
    assert converted.journeys == original.journeys


def test_convert_dsl_to_yaml_into_a_file(tmp_path: Path) -> None:
    dsl = tmp_path / "j.journey"
    dsl.write_text("journey j {\n  version 1\n  entry on e\n  stage a { step s { end done } }\n}\n", encoding="utf-8")
    out = tmp_path / "j.journey.yaml"
    result = CliRunner().invoke(main, ["convert", str(dsl), "--to", "yaml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    loaded, diagnostics = load_yaml(out.read_text(encoding="utf-8"), str(out))
    assert diagnostics == []
    assert loaded.journeys == parse_dsl(dsl.read_text(encoding="utf-8"), str(dsl))[0].journeys


def test_convert_of_a_broken_file_prints_diagnostics_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journey.yaml"
    bad.write_text("journey: j\nstages:\n  a:\n    s: {nxt: t}\n", encoding="utf-8")
    out = tmp_path / "out.journey"
    result = CliRunner().invoke(main, ["convert", str(bad), "--to", "dsl", "-o", str(out)])
    assert result.exit_code == 1
    assert f"{bad}:4:9: error[JD004 yaml-structure]" in result.stderr
    assert "did you mean `next`?" in result.stderr
    assert not out.exists()


def test_convert_of_a_missing_file_is_a_diagnostic(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "nope.journey"), "--to", "yaml"])
    assert result.exit_code == 1
    assert "JD006" in result.stderr


def test_convert_needs_a_target_form() -> None:
    result = CliRunner().invoke(main, ["convert", str(SPEC_YAML)])
    assert result.exit_code == 2


def test_schema_prints_the_json_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["$defs"]) >= {"journey", "schema", "step", "action"}
    assert result.stdout.startswith('{\n  "$schema"')  # indent 2
