"""The docs site's steps table names the outcome of each end step, in HTML and Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_site import make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("docs-outcomes") / "site")


def _row(page: str, step: str) -> str:
    return page[page.index(f'<tr id="step-{step}">') :].split("</tr>")[0]


def test_an_end_step_shows_its_outcome(site: Path) -> None:
    page = (site / "abandoned_cart.html").read_text(encoding="utf-8")
    assert 'end: outcome <code class="outcome">recovered</code>' in _row(page, "recovered")
    assert 'end: outcome <code class="outcome">abandoned</code>' in _row(page, "abandoned")
    markdown = (site / "md" / "abandoned_cart.md").read_text(encoding="utf-8")
    assert "| `recovered` | end |  | end: outcome `recovered` |" in markdown


def test_a_step_that_goes_on_shows_no_outcome(site: Path) -> None:
    page = (site / "abandoned_cart.html").read_text(encoding="utf-8")
    rows = page.split('<tr id="step-')[1:]
    going_on = [row for row in rows if "→" in row.split("</tr>")[0]]
    assert going_on and all("outcome" not in row.split("</tr>")[0] for row in going_on)
