"""The project's documentation site built from docs/ (journeydsl.docs.guide_site), read as files and in Chromium.

The real docs/ is built once into a temp folder: every page has its HTML page, every internal link resolves to
a file and its fragment to an element id, nothing is loaded from outside, and two builds give the same bytes.
Small made-up docs folders test the link rewriting, the escaping and the bad input. The browser part reuses
test_docs_browser.py's headless Chromium: it opens the home page and follows one link.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from selenium.webdriver.remote.webdriver import WebDriver
from test_docs_browser import _severe
from test_docs_browser import browser as browser  # the module's headless Chromium, reused as a fixture

from journeydsl.docs.guide import markdown_pages, slug
from journeydsl.docs.guide_site import build_guide_site, main

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Elements whose attribute makes the browser load something (a plain <a href> only links).
LOADS = {("img", "src"), ("script", "src"), ("link", "href"), ("iframe", "src"), ("source", "src"), ("embed", "src")}


class _Page(HTMLParser):
    """The ids, links and loaded resources of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.loads: list[str] = []
        self.tags: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"
        for name, value in attrs:
            if name in ("id", "name") and value is not None and (name == "id" or tag == "a"):
                self.ids.add(value)
            if (tag, name) in LOADS and value is not None:
                self.loads.append(value)
            if name in ("href", "src") and value is not None:
                self.hrefs.append(value)

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _read(page: Path) -> _Page:
    parsed = _Page()
    parsed.feed(page.read_text(encoding="utf-8"))
    return parsed


def _internal_problems(site: Path) -> list[str]:
    """Every href/src of every page that is not external must name a file of the site, and an id of it."""
    problems: list[str] = []
    pages = {page: _read(page) for page in sorted(site.rglob("*.html"))}
    for page, parsed in pages.items():
        for href in parsed.hrefs:
            url = urlparse(href)
            if url.scheme in ("http", "https", "mailto", "data"):
                continue
            assert not url.scheme and not url.netloc, f"{page.name}: {href}"
            target = (page.parent / unquote(url.path)).resolve() if url.path else page
            shown = f"{page.relative_to(site)}: {href}"
            if not target.is_file():
                problems.append(f"{shown}: no file {target}")
            elif url.fragment and unquote(url.fragment) not in (pages.get(target) or _read(target)).ids:
                problems.append(f"{shown}: no element #{url.fragment}")
    return problems


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guide") / "site"
    build_guide_site(DOCS, out)
    return out


def test_every_page_of_docs_has_its_html_page(site: Path) -> None:
    pages = sorted(DOCS.rglob("*.md"))
    assert DOCS / "guide" / "tutorial.md" in pages and len(pages) >= 10
    for page in pages:
        html = site / page.relative_to(DOCS).with_suffix(".html")
        assert html.is_file(), html
    assert (site / "index.html").is_file()  # the README's documentation links
    built = {path.relative_to(site) for path in site.rglob("*.html")}
    assert built == {page.relative_to(DOCS).with_suffix(".html") for page in pages} | {Path("index.html")}


def test_every_internal_link_resolves_to_a_file_and_an_id(site: Path) -> None:
    problems = _internal_problems(site)
    assert not problems, "\n".join(problems)
    # And the links are there: the home page links the tutorial, a guide page links an anchor of another page.
    assert "guide/tutorial.html" in _read(site / "index.html").hrefs
    assert any("#" in href and not href.startswith("#") for href in _read(site / "guide" / "tutorial.html").hrefs)


def test_headings_carry_githubs_anchors_so_the_markdown_links_resolve(site: Path) -> None:
    language = _read(site / "guide" / "language.html")
    heading = next(
        line.lstrip("#").strip()
        for line in (DOCS / "guide" / "language.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    )
    assert slug(heading) in language.ids
    # Every relative Markdown link of docs/ became a .html link: no .md target is left on any page.
    for page in site.rglob("*.html"):
        assert not [h for h in _read(page).hrefs if urlparse(h).path.endswith(".md")], page


def test_the_sidebar_follows_the_guides_index(site: Path) -> None:
    text = (site / "guide" / "runtime.html").read_text(encoding="utf-8")
    nav = text[text.index('<nav class="sidebar"') : text.index("</nav>")]
    order = ["README.html", "tutorial.html", "language.html", "scenarios.html", "runtime.html", "cli.html"]
    positions = [nav.index(f'href="{page}"') for page in order]
    assert positions == sorted(positions)
    assert (
        nav.index('href="cli.html"')
        < nav.index('href="../bundle-format.html"')
        < nav.index('href="../architecture.html"')
    )
    assert '<a href="runtime.html" aria-current="page">' in nav
    # Every page of the site is in every sidebar.
    for page in site.rglob("*.html"):
        assert f'href="{os.path.relpath(page, site / "guide")}"' in nav, page


def test_nothing_is_loaded_from_outside(site: Path) -> None:
    for page in site.rglob("*.html"):
        parsed = _read(page)
        assert all(load.startswith("data:") or not urlparse(load).scheme for load in parsed.loads), page
        assert "script" not in parsed.tags, page
        css = "".join(parsed.styles)
        assert "@import" not in css and "url(" not in css and "@font-face" not in css, page
        assert "//" not in "".join(load for load in parsed.loads), page


def test_the_build_is_deterministic(site: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    build_guide_site(DOCS, again)
    first = {path.relative_to(site): path.read_bytes() for path in sorted(site.rglob("*")) if path.is_file()}
    second = {path.relative_to(again): path.read_bytes() for path in sorted(again.rglob("*")) if path.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_the_markdown_link_check_and_the_site_agree() -> None:
    # The site refuses dead links with the same check as test_guide_links.py; it holds for the real docs.
    assert DOCS / "guide" / "README.md" in markdown_pages(ROOT)


# --------------------------------------------------------------------------- made-up docs folders


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
    return root / "docs"


def test_links_anchors_escaping_and_assets(tmp_path: Path) -> None:
    docs = _write(
        tmp_path,
        {
            "README.md": "# proj\n\nIntro.\n\n## Install\n\nx\n\n## Documentation\n\n"
            "Read [the guide](docs/guide/README.md).\n\n## Other\n\nnot on the site\n",
            "src/code.py": "x = 1\n",
            "docs/guide/README.md": "# Guide\n\n| page | |\n|---|---|\n"
            "| [Second](../b.md) | b |\n| [First **one**](a.md) | a |\n",
            "docs/guide/a.md": "# A page\n\n## Part\n\n## Part\n\n## The `run` command\n\n"
            "[b's part](../b.md#part-1) [self](#the-run-command) [code](../../src/code.py) [pic](../pic.svg)\n\n"
            "```html\n<script>alert('x & y')</script>\n```\n\nInline `<b>` too.\n",
            "docs/b.md": "# B\n\n## Part\n\n## Part\n\n![logo](pic.svg)\n\n"
            "[docs](../README.md#documentation) [other](../README.md#other) [readme](../README.md)\n",
            "docs/pic.svg": '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        },
    )
    out = tmp_path / "site"
    written = build_guide_site(docs, out)
    assert [path.relative_to(out).as_posix() for path in written] == [
        "b.html",
        "guide/README.html",
        "guide/a.html",
        "index.html",
        "pic.svg",
    ]
    a = (out / "guide" / "a.html").read_text(encoding="utf-8")
    assert '<h2 id="part">Part</h2>' in a and '<h2 id="part-1">Part</h2>' in a
    assert '<h2 id="the-run-command">' in a
    assert '<a href="../b.html#part-1">' in a and '<a href="#the-run-command">' in a and 'href="../pic.svg"' in a
    # A file of the repository outside docs/ is named, not linked (the site cannot serve it).
    assert '<span class="outside" title="in the repository: ../../src/code.py">code</span>' in a
    assert "<script>" not in a and "&lt;script&gt;alert('x &amp; y')&lt;/script&gt;" in a
    assert "<code>&lt;b&gt;</code>" in a
    b = (out / "b.html").read_text(encoding="utf-8")
    assert '<img src="pic.svg" alt="logo"' in b
    # The README is on the site only as the home page: a link to another of its sections is named, not linked.
    assert '<a href="index.html#documentation">docs</a>' in b and '<a href="index.html">readme</a>' in b
    assert '<span class="outside" title="in the repository: ../README.md#other">other</span>' in b
    home = (out / "index.html").read_text(encoding="utf-8")
    assert '<a href="guide/README.html">the guide</a>' in home and "Intro." in home
    assert "not on the site" not in home and "Install" not in home.split("<article")[1]
    # The sidebar: the guide's index order (Second before First), labels from the index's links.
    nav = a[a.index("<nav") : a.index("</nav>")]
    assert nav.index(">Second</a>") < nav.index(">First one</a>")
    assert _internal_problems(out) == []


def test_without_a_readme_there_is_no_home_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, {"docs/x.md": "# X\n\n[y](sub/y.md)\n", "docs/sub/y.md": "Y without a heading\n"})
    monkeypatch.chdir(tmp_path)  # relative folders, as `make demo` passes them
    build_guide_site(Path("docs"), Path("site"))
    out = tmp_path / "site"
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")) == ["sub/y.html", "x.html"]
    assert "<title>y · journeydsl guide</title>" in (out / "sub" / "y.html").read_text(encoding="utf-8")
    assert _internal_problems(out) == []
    assert '<header class="site"><a href="../x.html">' in (out / "sub" / "y.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- bad input


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err


def test_a_missing_docs_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _fails([str(tmp_path / "nope"), str(tmp_path / "out")], capsys)
    assert "nope: no such folder" in err and "hint:" in err
    assert not (tmp_path / "out").exists()
    (tmp_path / "file").write_text("x", encoding="utf-8")
    assert "file: not a folder" in _fails([str(tmp_path / "file"), str(tmp_path / "out")], capsys)
    (tmp_path / "empty").mkdir()
    assert "no Markdown pages" in _fails([str(tmp_path / "empty"), str(tmp_path / "out")], capsys)


def test_unreadable_pages_name_file_line_and_column(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _write(tmp_path, {"docs/ok.md": "# ok\n", "docs/bad.md": b"# Bad\n\nab\xffc\n"})
    err = _fails([str(docs), str(tmp_path / "out")], capsys)
    assert "docs/bad.md:3:3: the page is not UTF-8 (byte 0xff)" in err and "hint: save the page as UTF-8" in err
    (docs / "bad.md").unlink()
    (docs / "gone.md").symlink_to(tmp_path / "missing.md")
    err = _fails([str(docs), str(tmp_path / "out")], capsys)
    assert "docs/gone.md:1:1: cannot read the page: No such file or directory" in err


def test_a_dead_link_stops_the_build_and_keeps_the_old_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _write(tmp_path, {"docs/a.md": "# A\n\n[ok](b.md)\n", "docs/b.md": "# B\n"})
    out = tmp_path / "out"
    assert main([str(docs), str(out)]) == 0
    assert capsys.readouterr().out == f"wrote 2 pages to {out}\n"
    before = {path: path.read_bytes() for path in out.rglob("*")}
    (docs / "a.md").write_text("# A\n\n[ok](b.md)\nand [bad](b.md#nope) [gone](c.md)\n", encoding="utf-8")
    err = _fails([str(docs), str(out)], capsys)
    assert "docs/a.md:4:5: `b.md#nope`: no heading of b.md has the anchor #nope" in err
    assert "docs/a.md:4:22: `c.md` names no file" in err
    assert {path: path.read_bytes() for path in out.rglob("*")} == before  # all or nothing
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left


def test_pages_that_would_load_from_outside_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _write(tmp_path, {"docs/a.md": "# A\n\ntext\nand ![x](https://example.com/x.png)\n"})
    err = _fails([str(docs), str(tmp_path / "out")], capsys)
    assert "docs/a.md:4:10: the image https://example.com/x.png would be loaded from outside the site" in err
    (docs / "a.md").write_text("# A\n\n<div>\n  <script src=x.js></script>\n</div>\n", encoding="utf-8")
    err = _fails([str(docs), str(tmp_path / "out")], capsys)
    assert "docs/a.md:4:3: raw HTML `<script` would load something into the page" in err
    (docs / "a.md").write_text('# A\n\nfine <a id="here"></a> and `<script>` in code\n', encoding="utf-8")
    (tmp_path / "README.md").write_text("# p\n\n## Documentation\n\n[a](docs/a.md) <img src=x.png>\n", encoding="utf-8")
    err = _fails([str(docs), str(tmp_path / "out")], capsys)
    assert "README.md:5:16: raw HTML `<img` would load something into the page" in err
    assert not (tmp_path / "out").exists()


def test_the_output_must_not_hold_the_docs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _write(tmp_path, {"docs/a.md": "# A\n"})
    for out in (docs, tmp_path):
        assert "holds the docs it would replace" in _fails([str(docs), str(out)], capsys)
    assert (docs / "a.md").is_file()
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    assert "taken: exists and is not a folder" in _fails([str(docs), str(tmp_path / "taken")], capsys)


def test_an_output_folder_that_cannot_be_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    docs = _write(tmp_path, {"docs/a.md": "# A\n", "blocker": "a file where a folder should be\n"})
    err = _fails([str(docs), str(tmp_path / "blocker" / "site")], capsys)
    assert "blocker" in err and "hint: check the output folder" in err


def test_the_command_line_exits_1_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "journeydsl.docs.guide_site", str(tmp_path / "nope"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- in the browser


def test_the_home_page_opens_and_a_link_leads_to_the_tutorial(browser: WebDriver, site: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((site / "index.html").as_uri())
    assert browser.title.endswith("journeydsl guide")
    link = browser.find_element(By.CSS_SELECTOR, 'article a[href="guide/tutorial.html"]')
    link.click()
    WebDriverWait(browser, 10).until(lambda driver: driver.current_url.endswith("/guide/tutorial.html"))
    heading = browser.find_element(By.TAG_NAME, "h1")
    assert heading.text and heading.get_attribute("id") == slug(heading.text)
    current = browser.find_element(By.CSS_SELECTOR, 'nav.sidebar a[aria-current="page"]')
    assert (current.get_attribute("href") or "").endswith("/guide/tutorial.html")
    # The stylesheet applied (the sidebar sits beside the page), with nothing failing in the console.
    assert browser.execute_script("return getComputedStyle(document.querySelector('main.guide')).display") == "grid"
    assert _severe(browser) == []
    browser.save_screenshot(str(tmp_path / "tutorial.png"))
    assert (tmp_path / "tutorial.png").stat().st_size > 1000
