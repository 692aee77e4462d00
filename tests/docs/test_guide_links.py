"""Every relative link and anchor of the Markdown pages resolves; and the Markdown reading of docs/guide.py."""

from __future__ import annotations

from pathlib import Path

from journeydsl.docs.guide import anchors, broken_links, fenced_blocks, links, markdown_pages, slug

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ["README.md", "tutorial.md", "language.md", "scenarios.md", "runtime.md", "cli.md"]


def test_every_link_of_the_docs_resolves() -> None:
    pages = markdown_pages(ROOT)
    assert ROOT / "README.md" in pages and ROOT / "docs" / "guide" / "language.md" in pages
    problems = broken_links(pages, ROOT)
    assert not problems, "\n".join(problems)


def test_the_guide_has_its_pages_and_links_them_all() -> None:
    index = (ROOT / "docs" / "guide" / "README.md").read_text(encoding="utf-8")
    targets = {link.target for link in links(index)}
    for page in GUIDE[1:]:
        assert (ROOT / "docs" / "guide" / page).is_file()
        assert page in targets
    for page in ("bundle-format.md", "diagnostics.md", "operations.md", "live-changes.md"):
        assert f"../{page}" in targets


def test_the_readme_links_the_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = {link.target for link in links(readme)}
    for page in GUIDE:
        assert f"docs/guide/{page}" in targets, page
    for page in ("bundle-format.md", "diagnostics.md", "operations.md", "live-changes.md"):
        assert f"docs/{page}" in targets, page


# --------------------------------------------------------------------------- the reading itself


def test_slugs_are_githubs() -> None:
    assert slug("The `journeydsl run` command") == "the-journeydsl-run-command"
    assert slug("Event time: the future and late events") == "event-time-the-future-and-late-events"
    assert slug("The runtime as a service (issue 15)") == "the-runtime-as-a-service-issue-15"
    assert slug("[Links](x.md) & more") == "links--more"


def test_anchors_number_repeats_and_skip_code() -> None:
    text = '# Title\n## Part\n## Part\n```\n# not a heading\n```\n<a id="here"></a>\n'
    assert anchors(text) == {"title", "part", "part-1", "here"}


def test_links_skip_code_and_external_targets() -> None:
    text = (
        "See [a](a.md#x) and [web](https://example.com), `[no](code.md)`,\n"
        "```\n[no](block.md)\n```\n"
        "![img](pic.png) [mail](mailto:x@y.z)\n"
    )
    assert [(link.line, link.column, link.target) for link in links(text)] == [(1, 5, "a.md#x"), (5, 1, "pic.png")]


def test_broken_links_name_page_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A\n\n[ok](b.md#b) [gone](c.md) [bad](b.md#nope) [self](#a)\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n", encoding="utf-8")
    (tmp_path / "x.txt").write_text("x", encoding="utf-8")
    (tmp_path / "d.md").write_text("[anchor on text](x.txt#y)\n", encoding="utf-8")
    problems = broken_links([tmp_path / "a.md", tmp_path / "d.md"], tmp_path)
    assert problems == [
        "a.md:3:14: `c.md` names no file (c.md does not exist)",
        "a.md:3:27: `b.md#nope`: no heading of b.md has the anchor #nope",
        "d.md:1:1: `x.txt#y` has an anchor, but x.txt is not a Markdown page",
    ]


def test_fenced_blocks_read_info_strings() -> None:
    text = "```sh run=1\njourneydsl check x\n```\n\n  ~~~yaml file=a.yaml\n  a: 1\n  ~~~\n```\nunclosed\n"
    blocks = fenced_blocks(text)
    assert [(b.lang, b.attrs, b.text, b.line) for b in blocks] == [
        ("sh", {"run": "1"}, "journeydsl check x\n", 1),
        ("yaml", {"file": "a.yaml"}, "a: 1\n", 5),
        ("", {}, "unclosed\n", 8),
    ]
