"""The project's own documentation site: every Markdown page of docs/ as HTML, with the guide's navigation.

`python -m journeydsl.docs.guide_site DOCS_DIR OUT_DIR` (or `build_guide_site(docs, out)`) renders each
`DOCS_DIR/**/*.md` to the same relative path with `.html`, and the README beside DOCS_DIR (its title, first
paragraph and "Documentation" section: the links into the docs) as `index.html`. The Markdown stays the source:
GitHub renders the same pages, so the site must resolve the same links. Relative `.md` links become `.html`
links, headings get GitHub's anchors (`guide.slug`, numbered like `guide.anchors`), and a link whose file or
anchor does not exist stops the build (`guide.broken_links`, the check tests/docs/test_guide_links.py makes),
because a site with a dead link is worse than no new site.

The pages load nothing from outside (style inline, no scripts, no fonts; a remote image or raw HTML that would
fetch something is refused), so the site works from file:// and offline; the same input gives the same bytes;
and the folder is swapped in whole or not at all (`render.output.staged_tree`).
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup

from journeydsl.docs.guide import anchors, broken_links, slug
from journeydsl.docs.site import environment
from journeydsl.render.output import staged_tree

_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)
# Raw HTML that would make the browser fetch something (the site loads nothing from outside, and our pages need
# no more than `<a id>` and simple markup).
_LOADING_HTML = re.compile(r"<\s*(script|link|style|img|iframe|object|embed|video|audio|source|base)\b|url\(", re.I)
_README_SECTION = "documentation"  # the README heading whose section becomes the site's home page


class GuideSiteError(Exception):
    """A docs folder the site cannot be built from; the message says where and what to do."""


@dataclass
class _Source:
    """One Markdown page to render: where it is read from and where its HTML goes (relative to the site)."""

    path: Path  # absolute
    output: str  # posix path inside the site, e.g. "guide/tutorial.html"
    text: str
    shown: str  # the path in messages, from the folder above docs/
    original: str = ""  # the whole file when `text` is a part of it (the README's home page)
    title: str = ""
    headings: list[tuple[int, str, str]] = field(default_factory=list)  # (level, anchor, text)


@dataclass(frozen=True)
class NavEntry:
    label: str
    output: str  # the page's path inside the site


@dataclass(frozen=True)
class NavSection:
    title: str
    entries: tuple[NavEntry, ...]


def _markdown() -> MarkdownIt:
    # CommonMark as GitHub reads it, plus GitHub's tables; raw HTML is kept (our own pages use `<a id>`).
    return MarkdownIt("commonmark").enable("table")


def _read(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise GuideSiteError(f"{shown}:1:1: cannot read the page: {reason}\n  hint: fix or remove the file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise GuideSiteError(
            f"{shown}:{line}:{column}: the page is not UTF-8 (byte 0x{data[error.start]:02x})\n"
            "  hint: save the page as UTF-8"
        ) from None


def _readme_home(text: str) -> str | None:
    """The README's title, its first paragraph and its `## Documentation` section: the site's home page.
    None when the README has no such section (the site then has no home page but the guide's index)."""
    tokens = _markdown().parse(text)
    lines = text.splitlines(keepends=True)
    intro: list[str] = []
    start: int | None = None
    level = 0
    for index, token in enumerate(tokens):
        if token.map is None:
            continue
        if token.type == "heading_open" and token.tag == "h1" and not intro:
            intro = lines[token.map[0] : token.map[1]]
            after = tokens[index + 3] if index + 3 < len(tokens) else None
            if after is not None and after.type == "paragraph_open" and after.map is not None:
                intro += ["\n", *lines[after.map[0] : after.map[1]]]
            intro.append("\n")
        if token.type != "heading_open":
            continue
        depth = int(token.tag[1])
        if start is None and tokens[index + 1].content.strip().lower() == _README_SECTION:
            start, level = token.map[0], depth
        elif start is not None and depth <= level:
            return "".join(intro + lines[start : token.map[0]])
    return None if start is None else "".join(intro + lines[start:])


def _inline_text(token: Token) -> str:
    """The text a heading or link shows, without its Markdown."""
    return "".join(child.content for child in token.children or () if child.type in ("text", "code_inline"))


def _link_text(after: Sequence[Token]) -> str:
    """The text of a link, from the tokens after its `link_open` up to its `link_close`."""
    words: list[str] = []
    for token in after:
        if token.type == "link_close":
            break
        if token.type in ("text", "code_inline"):
            words.append(token.content)
    return "".join(words)


def _collect(docs: Path) -> tuple[list[_Source], Path | None]:
    """The pages of `docs` (sorted, so the output does not depend on the file system's order) and the README."""
    root = docs.parent
    sources: list[_Source] = []
    for path in sorted(docs.rglob("*.md")):
        relative = path.relative_to(docs)
        if any(part.startswith(".") for part in relative.parts) or path.is_dir():
            continue
        shown = path.relative_to(root).as_posix()
        sources.append(_Source(path, relative.with_suffix(".html").as_posix(), _read(path, shown), shown))
    if not sources:
        raise GuideSiteError(
            f"{docs}: no Markdown pages (*.md) in this folder\n  hint: pass the project's docs/ folder"
        )
    readme = root / "README.md"
    taken = {source.output for source in sources}
    if readme.is_file() and "index.html" not in taken:
        whole = _read(readme, "README.md")
        section = _readme_home(whole)
        if section is not None:
            sources.insert(0, _Source(readme, "index.html", section, "README.md", whole))
            return sources, readme
    return sources, None


def _locate(source: _Source, block: Token, needle: str) -> tuple[int, int]:
    """(line, column) from 1 of `needle` in the page's file: within the block when the page is the whole file."""
    lines = (source.original or source.text).splitlines()
    first = block.map[0] if block.map is not None and not source.original else 0
    for number in range(first, len(lines)):
        column = lines[number].find(needle)
        if column >= 0:
            return number + 1, column + 1
    return first + 1, 1


def _relative_href(target: str, page: str) -> str:
    """The href from site page `page` to site file `target` (both posix paths from the site's root)."""
    return posixpath.relpath(target, posixpath.dirname(page) or ".")


class _Renderer:
    """Renders the collected pages; knows every page's output path so links can be rewritten."""

    def __init__(self, docs: Path, sources: list[_Source]) -> None:
        self.docs = docs.resolve()
        self.md = _markdown()
        self.outputs = {source.path.resolve(): source.output for source in sources}
        self.assets: dict[Path, str] = {}  # linked files of docs/ that are not pages: copied as they are
        # The home page holds only part of the README: a link to another of its sections has no target on the site.
        self.anchors = {source.output: anchors(source.text) for source in sources}

    def _rewrite(self, href: str, source: _Source) -> str | None:
        """The site's href for a Markdown link target, or None when it leaves the docs (shown as text)."""
        if not href or href.startswith("#") or _EXTERNAL.match(href):
            return href
        path_part, hash_mark, fragment = href.partition("#")
        target = (source.path.parent / unquote(path_part)).resolve()
        if target.is_dir() and (target / "README.md").is_file():
            target = target / "README.md"
        output = self.outputs.get(target)
        if output is not None and fragment and unquote(fragment) not in self.anchors[output]:
            return None
        if output is None:
            if not target.is_relative_to(self.docs) or not target.is_file():
                return None
            output = target.relative_to(self.docs).as_posix()
            self.assets[target] = output
        return quote(_relative_href(output, source.output)) + hash_mark + fragment

    def _prepare(self, tokens: list[Token], source: _Source) -> None:
        """Give headings GitHub's ids and rewrite link targets, in place."""
        seen: dict[str, int] = {}
        for index, token in enumerate(tokens):
            if token.type == "heading_open":
                inline = tokens[index + 1]
                base = slug(inline.content)
                count = seen.get(base, 0)
                seen[base] = count + 1
                anchor = base if count == 0 else f"{base}-{count}"
                token.attrSet("id", anchor)
                text = _inline_text(inline)
                source.headings.append((int(token.tag[1]), anchor, text))
                if token.tag == "h1" and not source.title:
                    source.title = text
            if token.type == "html_block":
                self._refuse_loading(token.content, token, source)
            if token.type == "inline":
                for child in token.children or ():
                    if child.type == "html_inline":
                        self._refuse_loading(child.content, token, source)
                self._links(token.children or [], source, token)

    def _refuse_loading(self, html: str, block: Token, source: _Source) -> None:
        match = _LOADING_HTML.search(html)
        if match is None:
            return
        line, column = _locate(source, block, match.group(0))
        raise GuideSiteError(
            f"{source.shown}:{line}:{column}: raw HTML `{match.group(0)}` would load something into the page\n"
            "  hint: use Markdown (an image as ![text](file-in-docs.svg)); the site loads nothing from outside"
        )

    def _links(self, children: list[Token], source: _Source, block: Token) -> None:
        opened: list[Token] = []
        for child in children:
            if child.type == "link_open":
                href = self._rewrite(str(child.attrGet("href") or ""), source)
                if href is None:
                    # A file of the repository outside docs/: the site cannot serve it, so it is named, not linked.
                    child.tag = "span"
                    child.attrs = {"class": "outside", "title": f"in the repository: {child.attrGet('href')}"}
                else:
                    child.attrSet("href", href)
                opened.append(child)
            elif child.type == "link_close" and opened:
                child.tag = opened.pop().tag
            elif child.type == "image":
                raw = str(child.attrGet("src") or "")
                if _EXTERNAL.match(raw) and not raw.startswith("data:"):
                    line, column = _locate(source, block, raw)
                    raise GuideSiteError(
                        f"{source.shown}:{line}:{column}: the image {raw} would be loaded from outside the site\n"
                        "  hint: put the image in docs/ and link it by a relative path"
                    )
                src = self._rewrite(raw, source)
                child.attrSet("src", src or "data:,")

    def render(self, source: _Source) -> str:
        tokens = self.md.parse(source.text)
        self._prepare(tokens, source)
        if not source.title:
            source.title = source.path.stem
        return str(self.md.renderer.render(tokens, self.md.options, {}))


def _nav_key(source: _Source) -> tuple[int, str]:
    return source.output.count("/"), source.output


def _guide_order(docs: Path, sources: list[_Source]) -> list[NavSection]:
    """The sidebar: the guide's index order (docs/guide/README.md's links), then every other page by path."""
    by_path = {source.path.resolve(): source for source in sources}
    placed: set[str] = set()
    sections: list[NavSection] = []
    home = [NavEntry("Home", source.output) for source in sources if source.output == "index.html"]
    placed.update(entry.output for entry in home)
    index = (docs / "guide" / "README.md").resolve()
    guide: list[NavEntry] = []
    if index in by_path:
        guide.append(NavEntry(by_path[index].title or "Guide", by_path[index].output))
        placed.add(by_path[index].output)
        for token in _markdown().parse(by_path[index].text):
            children = token.children or []
            for position, child in enumerate(children):
                if child.type != "link_open":
                    continue
                href = str(child.attrGet("href") or "").partition("#")[0]
                target = by_path.get((index.parent / unquote(href)).resolve()) if href else None
                if target is None or target.output in placed:
                    continue
                label = _link_text(children[position + 1 :])
                guide.append(NavEntry(label or target.title, target.output))
                placed.add(target.output)
    if home:
        sections.append(NavSection("", tuple(home)))
    if guide:
        sections.append(NavSection("Guide", tuple(guide)))
    # The other pages: the top folder's first, then each subfolder's, by path (the same order on every machine).
    others = sorted((source for source in sources if source.output not in placed), key=_nav_key)
    rest = tuple(NavEntry(source.title, source.output) for source in others)
    if rest:
        sections.append(NavSection("More" if guide else "Pages", rest))
    return sections


def _check_target(docs: Path, out: Path) -> None:
    if not docs.exists():
        raise GuideSiteError(f"{docs}: no such folder\n  hint: pass the folder of Markdown pages, e.g. docs/")
    if not docs.is_dir():
        raise GuideSiteError(f"{docs}: not a folder\n  hint: pass the folder of Markdown pages, e.g. docs/")
    docs_real, out_real = docs.resolve(), out.resolve()
    if docs_real == out_real or docs_real.is_relative_to(out_real):
        # The site replaces its output folder whole: that folder must not hold the pages it is built from.
        raise GuideSiteError(
            f"{out}: the output folder holds the docs it would replace\n"
            "  hint: write the site elsewhere, e.g. out/guide"
        )
    if out.exists() and not out.is_dir():
        raise GuideSiteError(f"{out}: exists and is not a folder\n  hint: remove it or choose another output folder")


def build_guide_site(docs: Path, out: Path) -> list[Path]:
    """Render the docs folder into `out` (replaced whole); the written files, sorted. Raises GuideSiteError."""
    docs, out = Path(docs), Path(out)
    _check_target(docs, out)
    docs = docs.resolve()  # pages are keyed and linked by their resolved paths, whatever the caller passed
    sources, readme = _collect(docs)
    pages = [source.path for source in sources if source.path != readme]
    problems = broken_links(pages + ([readme] if readme else []), docs.parent)
    if problems:
        listed = "\n".join(problems)
        raise GuideSiteError(f"{listed}\n  hint: fix the link or the heading it names; the site keeps no dead links")
    renderer = _Renderer(docs, sources)
    bodies = {source.output: renderer.render(source) for source in sources}
    nav = _guide_order(docs, sources)
    home = nav[0].entries[0].output  # the README's page, else the guide's index, else the first page
    template = environment().get_template("guide.html")
    written: list[Path] = []
    with staged_tree(out) as staging:
        for source in sources:
            html = template.render(
                title=source.title,
                body=Markup(bodies[source.output]),  # noqa: S704 - markdown-it escaped the page's text and code
                nav=nav,
                current=source.output,
                headings=[heading for heading in source.headings if heading[0] == 2],
                href=lambda target, page=source.output: _relative_href(target, page),
                home=home,
                source=source.shown,
            )
            target = staging / source.output
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            written.append(out / source.output)
        for asset, output in sorted(renderer.assets.items()):
            (staging / output).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(asset, staging / output)
            written.append(out / output)
    return sorted(written)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m journeydsl.docs.guide_site",
        description="Build the project's documentation site from its docs/ folder.",
    )
    parser.add_argument("docs", type=Path, help="the folder of Markdown pages (docs/)")
    parser.add_argument("out", type=Path, help="the site's folder (replaced whole)")
    args = parser.parse_args(argv)
    try:
        written = build_guide_site(args.docs, args.out)
    except GuideSiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # writing the site: a full disk, a folder we may not write
        print(
            f"error: {error.filename or args.out}: {error.strerror or error}\n  hint: check the output folder",
            file=sys.stderr,
        )
        return 1
    pages = sum(1 for path in written if path.suffix == ".html")
    print(f"wrote {pages} pages to {os.fspath(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
