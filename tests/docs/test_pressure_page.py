"""The docs site's contact pressure page: the static caps (always there when a journey sends), the simulated
figures with `journeydsl docs --pressure-events`, the header link, and the page in the browser."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from docs_site import FIXTURES, TEMPLATES
from test_docs_browser import _check_links, _severe, browser  # noqa: F401 (browser: the shared fixture)

from journeydsl.check import check_project
from journeydsl.cli import main
from journeydsl.docs import build_site
from journeydsl.docs.context import pressure_page
from journeydsl.ir import ContactPolicy, Duration, Journey, SharedCap
from journeydsl.project import Project, load_project

WEEK = Duration(7, "d")


def _project() -> Project:
    return load_project([FIXTURES], templates_dir=TEMPLATES)


def _with_policy(project: Project) -> dict[str, object]:
    """The fixtures' schemas, `customer` given a policy: email 4 per 7d (the own caps exceed it), push 30 per 7d."""
    schemas = dict(project.schemas())
    policy = ContactPolicy(caps=(SharedCap("email", 4, WEEK), SharedCap("push", 30, WEEK)))
    schemas["customer"] = dataclasses.replace(schemas["customer"], policy=policy)
    return schemas


def _most_by_hand(project: Project, schema: str, channel: str, window_s: int) -> list[tuple[str, int | None]]:
    """Each sending journey's own bound in the window, from the IR: max per cap window, times the cap windows that
    start inside the window; None without an own cap."""
    out = []
    for journey in sorted(project.journeys(), key=lambda j: j.name):
        sends = {a.channel for s in journey.step_map().values() for a in s.actions if hasattr(a, "template")}
        if journey.uses != schema or channel not in sends:
            continue
        cap = next((c for c in journey.caps if c.channel == channel), None)
        out.append((journey.name, None if cap is None else cap.max * math.ceil(window_s / cap.per.seconds)))
    return out


def test_caps_against_the_policy() -> None:
    project = _project()
    page = pressure_page(project.journeys(), _with_policy(project))  # type: ignore[arg-type]
    assert page is not None and page.simulated is None
    by_key = {(c.schema, c.channel): c for c in page.channels}
    email, push, sms = by_key["customer", "email"], by_key["customer", "push"], by_key["customer", "sms"]
    assert (email.shared, email.window, push.shared) == ("4 per 7d", "7d", "30 per 7d")
    for channel in (email, push, sms):
        expected = _most_by_hand(project, "customer", channel.channel, WEEK.seconds)
        assert [(row.journey, row.most) for row in channel.journeys] == expected
        bounds = [most for _, most in expected]
        assert channel.most == (None if None in bounds else sum(b or 0 for b in bounds))
    assert push.most == 7 + 14 and push.verdict.endswith("so the shared cap never binds")
    assert email.most is None and email.verdict.endswith("so the shared cap of 4 binds")
    assert sms.shared == "" and sms.verdict.startswith("no shared cap")


def test_only_the_latest_version_counts_and_no_senders_no_page() -> None:
    project = _project()
    solar = next(j for j in project.journeys() if j.name == "solar_onboarding")
    old = dataclasses.replace(solar, version=(solar.version or 1) - 1, caps=())  # an older version without caps
    page = pressure_page([old, solar], {})
    assert page is not None
    rows = [row for c in page.channels if c.channel == "email" for row in c.journeys]
    assert [(row.journey, row.cap) for row in rows] == [("solar_onboarding", "3 per 7d")]
    silent: Journey = dataclasses.replace(solar, stages=())
    assert pressure_page([silent], {}) is None


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A site built by `journeydsl docs --pressure-events` and the `pressure --format json` of the same events."""
    tmp = tmp_path_factory.mktemp("pressure-page")
    runner = CliRunner()
    events = tmp / "events.jsonl"
    made = runner.invoke(main, ["synth", str(FIXTURES), "--customers", "150", "-o", str(events)])
    assert made.exit_code == 0, made.stderr
    site = tmp / "site"
    args = ["docs", str(FIXTURES), "-o", str(site), "--templates", str(TEMPLATES), "--pressure-events", str(events)]
    built = runner.invoke(main, args)
    assert built.exit_code == 0, built.stderr
    args = ["pressure", str(FIXTURES), "--templates", str(TEMPLATES), "--events", str(events), "--format", "json"]
    pressed = runner.invoke(main, args)
    assert pressed.exit_code == 0, pressed.stderr
    return {"site": site, "report": json.loads(pressed.stdout), "stderr": built.stderr}


def test_simulated_figures_on_the_page(simulated: dict[str, object]) -> None:
    site, report = simulated["site"], simulated["report"]
    assert isinstance(site, Path) and isinstance(report, dict)
    html = (site / "pressure.html").read_text(encoding="utf-8")
    table = html[html.index('id="simulated-channels"') :].split("</table>")[0]
    for channel in report["channels"]:
        d, w = channel["per_day"], channel["per_week"]
        row = table[table.index(f'href="#sim-{channel["channel"]}"') :].split("</tr>")[0]
        cells = re.findall(r"<td>(.*?)</td>", row, re.S)  # the row starts inside the first cell
        assert cells == [
            f"{channel['messages']:,}",
            f"{channel['customers']:,}",
            f"{d['p50']} / {d['p90']} / {d['p99']} / {d['max']}",
            f"{w['p50']} / {w['p90']} / {w['p99']} / {w['max']}",
            f"{channel['suppressed']:,}",
        ]
        section = html[html.index(f'id="sim-{channel["channel"]}"') :].split("</section>")[0]
        for journey in channel["journeys"]:
            assert f"<tr><td><code>{journey['journey']}</code></td><td>{journey['messages']:,}</td>" in section
    assert f"run together until {report['run']['until']}" in html
    md = (site / "md" / "pressure.md").read_text(encoding="utf-8")
    email = next(c for c in report["channels"] if c["channel"] == "email")
    assert f"| `email` | {email['messages']} | {email['customers']} |" in md
    assert "dead letter: " in str(simulated["stderr"])  # synth's bad events, reported as `run` does


def test_static_page_and_header_links(tmp_path: Path) -> None:
    project = _project()
    site = tmp_path / "site"
    build_site(
        project.journey_files(), site, TEMPLATES, check_project(project), [str(FIXTURES)], schemas=_with_policy(project)
    )
    html = (site / "pressure.html").read_text(encoding="utf-8")
    assert 'id="no-simulation"' in html and 'id="simulated-channels"' not in html
    assert "Shared cap: <strong>4 per 7d</strong> across journeys" in html
    assert "<tr><td><code>abandoned_cart</code></td><td>3 per 1d</td><td>21</td></tr>" in html
    for page in ("index.html", "solar_onboarding.html", "pressure.html"):
        assert '<a href="pressure.html">Contact pressure</a>' in (site / page).read_text(encoding="utf-8")
    assert "[contact pressure](pressure.md)" in (site / "md" / "index.md").read_text(encoding="utf-8")


def test_docs_with_a_bad_events_file_writes_nothing(tmp_path: Path) -> None:
    events = tmp_path / "bad.jsonl"
    events.write_text("{nope\n")
    site = tmp_path / "site"
    args = ["docs", str(FIXTURES), "-o", str(site), "--templates", str(TEMPLATES), "--pressure-events", str(events)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert f"error: --pressure-events: no event of {events} could be run" in result.stderr
    assert f"{events}:1:2: not JSON" in result.stderr
    assert not site.exists()


def test_the_simulated_page_in_the_browser(
    browser: object,  # noqa: F811 (pytest passes the fixture imported above)
    simulated: dict[str, object],
    tmp_path: Path,
) -> None:
    site = simulated["site"]
    assert isinstance(site, Path)
    page = site / "pressure.html"
    browser.get(page.as_uri())  # type: ignore[attr-defined]
    assert browser.title == "Contact pressure · journeys"  # type: ignore[attr-defined]
    assert _severe(browser) == [] and _check_links(browser, page) == []
    rows = browser.execute_script(  # type: ignore[attr-defined]
        "return document.querySelectorAll('#simulated-channels tbody tr').length;"
    )
    report = simulated["report"]
    assert isinstance(report, dict) and rows == len(report["channels"]) > 0
    browser.save_screenshot(str(tmp_path / "pressure.png"))  # type: ignore[attr-defined]
    assert (tmp_path / "pressure.png").stat().st_size > 1000


def test_docs_reads_the_policy_written_in_the_schema(tmp_path: Path) -> None:
    journeys = tmp_path / "journeys"
    shutil.copytree(FIXTURES, journeys)
    schema = journeys / "customer.journey"
    text = schema.read_text(encoding="utf-8")
    head = text.index("schema customer {") + len("schema customer {")
    policy = "\n  policy {\n    cap push 21 per 7d across journeys\n  }\n"
    schema.write_text(text[:head] + policy + text[head:], encoding="utf-8")
    site = tmp_path / "site"
    result = CliRunner().invoke(main, ["docs", str(journeys), "-o", str(site), "--templates", str(TEMPLATES)])
    assert result.exit_code == 0, result.stderr
    html = (site / "pressure.html").read_text(encoding="utf-8")
    push = html[html.index('id="caps-customer-push"') :].split("</section>")[0]
    # abandoned_cart 1 per 1d and daily_move_coach 2 per 1d: 7 + 14 in a week, exactly the shared cap
    assert "Shared cap: <strong>21 per 7d</strong> across journeys" in push
    assert "allow at most 21 per 7d, so the shared cap never binds" in push
