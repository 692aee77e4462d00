"""JUnit XML is well-formed and counts what happened."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from journeydsl.testing.junit import CaseResult, to_junit


def test_junit_is_well_formed_and_counts_failures() -> None:
    results = [
        CaseResult("j/a.scenario.yaml", 3, "passes", "solar", True),
        CaseResult("j/a.scenario.yaml", 9, 'fails <&> "quotes"', "solar", False, "path differs", "- a\n+ b"),
        CaseResult("j/b.scenario.yaml", 3, "other", "cart", True),
    ]
    text = to_junit(results, coverage_text="total 100%", coverage_failure=None, problems=["x.yaml:1:1 JD701 bad"])
    root = ET.fromstring(text.split("?>", 1)[1])
    assert root.tag == "testsuites"
    assert root.get("tests") == "5" and root.get("failures") == "1" and root.get("errors") == "1"
    suites = {suite.get("name"): suite for suite in root}
    assert set(suites) == {"j/a.scenario.yaml", "j/b.scenario.yaml", "inputs", "coverage"}
    failing = [case for case in suites["j/a.scenario.yaml"] if case.find("failure") is not None]
    assert [case.get("name") for case in failing] == ['fails <&> "quotes"']
    failure = failing[0].find("failure")
    assert failure is not None and failure.get("message") == "path differs" and failure.text == "- a\n+ b"


def test_coverage_below_minimum_is_a_failure() -> None:
    text = to_junit([], coverage_text="total 50%", coverage_failure="coverage 50.0% is below 100%")
    root = ET.fromstring(text.split("?>", 1)[1])
    assert root.get("failures") == "1"
