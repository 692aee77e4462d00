"""Scenario results as JUnit XML for CI: one <testsuite> per scenario file, one <testcase> per scenario.

Built with xml.etree so escaping is never done by hand; the coverage figures go
in the suites' <properties> and a `coverage` test case that fails below the minimum.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one scenario, as the reporters need it."""

    file: str
    line: int
    name: str
    journey: str
    passed: bool
    failure: str | None = None  # the short message
    details: str = ""  # the readable diff
    seconds: float = 0.0


def to_junit(
    results: Sequence[CaseResult],
    coverage_text: str | None = None,
    coverage_failure: str | None = None,
    problems: Sequence[str] = (),
) -> str:
    root = ET.Element("testsuites", name="journeydsl test")
    by_file: dict[str, list[CaseResult]] = {}
    for result in results:
        by_file.setdefault(result.file, []).append(result)
    for file, cases in by_file.items():
        suite = _suite(root, file, cases)
        for case in cases:
            element = ET.SubElement(
                suite,
                "testcase",
                name=case.name,
                classname=f"{case.journey}",
                file=file,
                line=str(case.line),
                time=f"{case.seconds:.3f}",
            )
            if not case.passed:
                failure = ET.SubElement(element, "failure", message=case.failure or "failed", type="ScenarioFailure")
                failure.text = case.details
    if problems:  # malformed scenario or journey files: an errored suite, so CI shows them
        suite = ET.SubElement(root, "testsuite", name="inputs", tests="1", failures="0", errors="1", skipped="0")
        element = ET.SubElement(suite, "testcase", name="load scenario and journey files", classname="journeydsl")
        message = f"{len(problems)} problem(s) in the input files"
        error = ET.SubElement(element, "error", message=message, type="InputError")
        error.text = "\n".join(problems)
    if coverage_text is not None:
        suite = ET.SubElement(
            root, "testsuite", name="coverage", tests="1", failures="1" if coverage_failure else "0", errors="0"
        )
        element = ET.SubElement(suite, "testcase", name="coverage", classname="journeydsl")
        if coverage_failure:
            ET.SubElement(element, "failure", message=coverage_failure, type="CoverageBelowMinimum")
        out = ET.SubElement(element, "system-out")
        out.text = coverage_text
    _totals(root)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(root: ET.Element, file: str, cases: Sequence[CaseResult]) -> ET.Element:
    failures = sum(1 for case in cases if not case.passed)
    return ET.SubElement(
        root,
        "testsuite",
        name=file,
        tests=str(len(cases)),
        failures=str(failures),
        errors="0",
        skipped="0",
        time=f"{sum(case.seconds for case in cases):.3f}",
    )


def _totals(root: ET.Element) -> None:
    for attribute in ("tests", "failures", "errors"):
        root.set(attribute, str(sum(int(suite.get(attribute, "0")) for suite in root)))
