"""The docs site in a real browser: headless Chromium (Debian's package) driven by Selenium.

Loads every page from file://, fails on any console error or broken link, types into the filter box and
saves a screenshot into the pytest tmp dir. It is skipped only when Chromium is missing AND
JOURNEYDSL_ALLOW_NO_BROWSER=1 is set; `make test` installs Chromium, so CI always runs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from docs_site import make_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
# Flags for this machine's closed network: no background traffic, no sandbox as root, a fresh profile.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1600",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if CHROMIUM is None or DRIVER is None:
        if os.environ.get("JOURNEYDSL_ALLOW_NO_BROWSER") == "1":
            pytest.skip("chromium/chromedriver not installed and JOURNEYDSL_ALLOW_NO_BROWSER=1")
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: run `make browser`")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("browser") / "site")


def _severe(driver: object) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]  # type: ignore[attr-defined]


def _check_links(driver: object, page: Path) -> list[str]:
    """Every link and asset on the page must be a file of the site or an anchor that exists."""
    from selenium.webdriver.common.by import By

    broken = []
    urls = driver.execute_script(  # type: ignore[attr-defined]
        "return Array.from(document.querySelectorAll('a[href], link[href], script[src], img[src]'))"
        ".map(e => e.href || e.src);"
    )
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme == "data":
            continue
        if parsed.scheme != "file":
            broken.append(f"{page.name}: external or unsupported link {url}")
            continue
        target = Path(unquote(parsed.path))
        if not target.is_file():
            broken.append(f"{page.name}: missing file {target}")
        elif parsed.fragment and target == page:
            found = driver.find_elements(By.ID, unquote(parsed.fragment))  # type: ignore[attr-defined]
            if not found:
                broken.append(f"{page.name}: no element #{parsed.fragment}")
    return broken


def test_every_page_loads_without_errors_or_broken_links(browser: object, site: Path, tmp_path: Path) -> None:
    pages = sorted(site.glob("*.html"))
    assert len(pages) >= 5
    problems: list[str] = []
    for page in pages:
        browser.get(page.as_uri())  # type: ignore[attr-defined]
        assert browser.title, page  # type: ignore[attr-defined]
        problems += [f"{page.name}: console: {message}" for message in _severe(browser)]
        problems += _check_links(browser, page)
        if page.name not in ("index.html", "pressure.html"):  # the journey pages draw a diagram
            svg = browser.execute_script(  # type: ignore[attr-defined]
                "const s = document.querySelector('.diagram svg'); return s ? s.getBBox().width : 0;"
            )
            assert svg > 100, f"{page.name}: the diagram is not drawn"
    assert problems == []
    browser.save_screenshot(str(tmp_path / "journey.png"))  # type: ignore[attr-defined]
    assert (tmp_path / "journey.png").stat().st_size > 1000


def test_filter_box(browser: object, site: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())  # type: ignore[attr-defined]

    def visible() -> list[str]:
        rows = browser.find_elements(By.CSS_SELECTOR, "#journeys tbody tr")  # type: ignore[attr-defined]
        return [row.find_element(By.TAG_NAME, "code").text for row in rows if row.is_displayed()]

    assert len(visible()) == 4
    box = browser.find_element(By.ID, "filter")  # type: ignore[attr-defined]
    box.send_keys("quote_requested")
    assert visible() == ["solar_onboarding"]
    assert browser.find_element(By.ID, "shown").text == "1 shown"  # type: ignore[attr-defined]
    box.clear()
    box.send_keys("maria solar")  # every word must match
    assert visible() == ["solar_onboarding"]
    box.clear()
    box.send_keys("no-such-journey")
    assert visible() == []
    assert browser.find_element(By.ID, "shown").text == "0 shown"  # type: ignore[attr-defined]
    browser.save_screenshot(str(tmp_path / "index-filtered.png"))  # type: ignore[attr-defined]
    assert (tmp_path / "index-filtered.png").stat().st_size > 1000
    assert _severe(browser) == []
