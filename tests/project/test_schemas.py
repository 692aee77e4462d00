"""schemas/: the JSON Schemas of scenario files and of the project file accept what journeydsl accepts (the repo's
scenarios, the init scaffold) and refuse mutated copies; they name the same keys as the loaders."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from journeydsl.cli.init import scaffold
from journeydsl.project_file import KEYS, parse_config
from journeydsl.testing import scenario as scenario_loader

REPO = Path(__file__).resolve().parents[2]
SCENARIO = json.loads((REPO / "schemas" / "scenario.schema.json").read_text())
PROJECT = json.loads((REPO / "schemas" / "project.schema.json").read_text())


def plain(value: Any) -> Any:
    """YAML as an editor's YAML language server sees it: times are strings (YAML 1.2 has no timestamp type)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def errors(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def test_the_schemas_are_valid_json_schemas() -> None:
    jsonschema.Draft202012Validator.check_schema(SCENARIO)
    jsonschema.Draft202012Validator.check_schema(PROJECT)


REPO_SCENARIOS = sorted((REPO / "journeys").glob("*.scenario.yaml"))


@pytest.mark.parametrize("path", REPO_SCENARIOS, ids=lambda p: p.name)
def test_the_repositorys_scenario_files_pass(path: Path) -> None:
    assert errors(SCENARIO, plain(yaml.safe_load(path.read_text()))) == []


def test_there_are_scenario_files_to_test() -> None:
    assert len(REPO_SCENARIOS) >= 5


@pytest.mark.parametrize("form", ["dsl", "yaml"])
def test_the_init_scaffold_passes(form: str) -> None:
    files = scaffold(form, "welcome")
    assert errors(SCENARIO, plain(yaml.safe_load(files["journeys/welcome.scenario.yaml"]))) == []
    assert errors(PROJECT, tomllib.loads(files["journeydsl.toml"])) == []


def _scaffold_scenarios() -> dict[str, Any]:
    data: dict[str, Any] = plain(yaml.safe_load(scaffold("dsl", "welcome")["journeys/welcome.scenario.yaml"]))
    return data


MUTATIONS = {
    "a misspelled expect key": lambda d: d["scenarios"][0].update(expcet=d["scenarios"][0].pop("expect")),
    "an event without `at`": lambda d: d["scenarios"][0]["events"][0].pop("at"),
    "a time without an offset": lambda d: d["scenarios"][0]["events"][0].update(at="2026-03-02 10:00"),
    "an unknown send status": lambda d: d["scenarios"][0]["expect"]["sends"][0].update(status="bounced"),
    "a step name with a dash": lambda d: d["scenarios"][0]["expect"].update(path=["hello-there"]),
    "an advance of nonsense": lambda d: d["scenarios"][1]["events"][1].update(advance="soon"),
    "a goal value as text": lambda d: d["scenarios"][0]["expect"].update(goals=[{"name": "g", "value": "40"}]),
    "no scenarios": lambda d: d.pop("scenarios"),
    "a scenario without a name": lambda d: d["scenarios"][0].pop("name"),
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_a_mutated_scenario_file_fails(mutation: str) -> None:
    data = copy.deepcopy(_scaffold_scenarios())
    assert errors(SCENARIO, data) == []
    MUTATIONS[mutation](data)
    assert errors(SCENARIO, data) != []


def test_the_scenario_schema_names_the_loaders_keys() -> None:
    defs = SCENARIO["$defs"]
    assert set(SCENARIO["properties"]) == set(scenario_loader.FILE_KEYS)
    assert set(defs["scenario"]["properties"]) == set(scenario_loader.SCENARIO_KEYS)
    assert set(defs["event"]["properties"]) == set(scenario_loader.EVENT_KEYS)
    assert set(defs["expect"]["properties"]) == set(scenario_loader.EXPECT_KEYS)
    send = defs["expect"]["properties"]["sends"]["items"]
    assert set(send["properties"]) == set(scenario_loader.SEND_KEYS)
    assert send["properties"]["status"]["enum"] == list(scenario_loader.SEND_STATUSES)


def test_the_project_schema_names_the_project_files_keys() -> None:
    assert set(PROJECT["properties"]) == set(KEYS)


PROJECT_SAMPLES = [
    'sources = ["journeys"]\ntemplates = "t"\nstrict = true\nmin-coverage = 80\n',
    'store = "sqlite:///state.db"\nsigning-key = "k.key"\npublic-key = "k.pub"\nmin-coverage = 0\n',
    'sources = "journeys"\n',
    "sources = []\n",
    "min-coverage = 100.5\n",
    'min-coverage = "80"\n',
    'strict = "yes"\n',
    'store = "state.db"\n',
    'tempaltes = "t"\n',
    'templates = ""\n',
]


@pytest.mark.parametrize("text", PROJECT_SAMPLES)
def test_the_project_schema_agrees_with_the_reader(text: str) -> None:
    """A file the schema refuses is one `journeydsl` refuses with a diagnostic, and the other way round."""
    _, diagnostics = parse_config(text, "journeydsl.toml")
    assert (errors(PROJECT, tomllib.loads(text)) == []) == (diagnostics == []), diagnostics
