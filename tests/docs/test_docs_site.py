"""The static docs site and the Markdown pages, read as files (the browser test opens them)."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner
from docs_site import FIXTURES, TEMPLATES, make_site
from markupsafe import escape

from journeydsl.cli import main
from journeydsl.docs.site import environment

JOURNEYS = ["abandoned_cart", "daily_move_coach", "day_of_travel", "solar_onboarding"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("docs") / "site")


def test_site_has_index_and_one_page_per_journey(site: Path) -> None:
    names = sorted(p.name for p in site.glob("*.html"))
    assert names == sorted(["index.html", "pressure.html", *(f"{name}.html" for name in JOURNEYS)])
    mds = sorted(["index.md", "pressure.md", *(f"{n}.md" for n in JOURNEYS)])
    assert sorted(p.name for p in (site / "md").glob("*.md")) == mds


def test_index_lists_each_journey_with_its_facts(site: Path) -> None:
    index = (site / "index.html").read_text(encoding="utf-8")
    for name in JOURNEYS:
        assert f'href="{name}.html"' in index
    row = index[index.index('href="solar_onboarding.html"') :].split("</tr>")[0]
    for fact in ("maria.lopez@sunco.example", "respond_to_desire", "recognize, request, respond, repeat", "signed"):
        assert fact in row
    assert "nudge_copy" in row and "quote_requested" in row
    assert 'id="filter"' in index and "<script>" in index


def test_journey_page_content(site: Path) -> None:
    page = (site / "solar_onboarding.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert "on quote_requested where profile.segment != &#34;churned&#34;" in page  # autoescaped
    for text in ("after 90d", "email: at most 3 per 7d", "21:00-08:00", "on unsubscribed", "nudge_copy"):
        assert text in page
    welcome = (TEMPLATES / "messages" / "email" / "welcome.j2").read_text(encoding="utf-8")
    first_line = welcome.strip().splitlines()[0]
    assert escape(first_line) in page  # the template's text is shown
    assert 'id="step-await_signature"' in page and 'href="#step-install"' in page


def test_no_external_assets(site: Path) -> None:
    for page in site.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', text), page


def test_diagnostics_are_listed(site: Path) -> None:
    # The fixtures' sends on `push` have no consent rule: an info note, shown on the page and counted.
    index = (site / "index.html").read_text(encoding="utf-8")
    counts = re.findall(r"<td>(\d+)</td>\s*</tr>", index)
    assert counts and any(int(count) > 0 for count in counts)


def test_markdown_has_mermaid(site: Path) -> None:
    text = (site / "md" / "solar_onboarding.md").read_text(encoding="utf-8")
    assert "```mermaid\nflowchart TB\n" in text
    assert '| entry | `on quote_requested where profile.segment != "churned"` |' in text
    assert "(solar_onboarding.md)" in (site / "md" / "index.md").read_text(encoding="utf-8")


def test_strict_undefined_fails_loudly() -> None:
    env = environment()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("journey.html").render(root="")


def test_docs_cli_bad_input_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.journey"
    bad.write_text('journey x {\n  version 1\n  owner "a"\n  entry on foo\n  stage s { step a { -> b } }\n}\n')
    result = CliRunner().invoke(main, ["docs", str(bad), "-o", str(tmp_path / "site")])
    assert result.exit_code == 1
    assert "JD102" in result.stderr
    assert not (tmp_path / "site").exists()


def test_docs_cli_replaces_an_old_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    out.mkdir()
    (out / "stale.html").write_text("old")
    result = CliRunner().invoke(main, ["docs", str(FIXTURES), "-o", str(out), "--templates", str(TEMPLATES)])
    assert result.exit_code == 0, result.stderr
    assert not (out / "stale.html").exists() and (out / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_a_goal_shows_what_it_expects(tmp_path: Path) -> None:
    """`goal … expect 60%` is in the goals table of the journey's page, HTML and Markdown."""
    journeys = Path(__file__).resolve().parents[2] / "journeys"
    out = tmp_path / "site"
    paths = [str(journeys / "customer.journey"), str(journeys / "service_move.journey")]
    result = CliRunner().invoke(main, ["docs", *paths, "-o", str(out), "--templates", str(TEMPLATES)])
    assert result.exit_code == 0, result.output
    page = (out / "service_move.html").read_text(encoding="utf-8")
    goals = page[page.index('<h2 id="goals">') :].split("</table>")[0]
    assert "<th>Expected</th>" in goals and "<td>60%</td>" in goals
    assert "| moved |" in (out / "md" / "service_move.md").read_text(encoding="utf-8").split("| Expected |")[1]
