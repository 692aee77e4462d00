"""The user guide's Markdown (docs/guide/ and the other pages of docs/): what tests read out of it.

The guide is plain Markdown that GitHub, an editor and any wiki render as they are; this module reads the parts
that must stay true, so tests can hold the pages to the code:

- `fenced_blocks`: the code blocks with their info string. The tutorial marks what a reader does in it:
  ```` ```journey file=journeys/shop.journey ```` (write this file), ```` ```sh run ```` (run these commands,
  `run=1` when the command is meant to fail with exit status 1), ```` ```diff edit=PATH ```` (change the `-`
  lines of PATH into the `+` lines) and ```` ```text output ```` (what the command before prints: each line shown
  must appear in that order). The language reference pairs a ```` ```journey ```` block with the
  ```` ```yaml ```` block after it.
- `anchors` and `links`: GitHub's heading anchors and the relative links of a page, and `broken_links`, which
  checks that every relative link of a set of pages names a file that exists and, with `#anchor`, a heading
  of that file.

It imports nothing of the package: Markdown in, plain data out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_HTML_ID = re.compile(r"""<a\s+(?:[^>]*\s)?(?:id|name)=["']([^"']+)["']""")
# An inline link or image: `[text](target "title")`; the text may hold one level of brackets.
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1)(?:[^\n]|\n(?![ \t]*\n)))+?\1")
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, the other words of its info string, its text and where it starts."""

    lang: str
    words: tuple[str, ...]
    text: str
    line: int  # the line of the opening fence, from 1
    attrs: dict[str, str] = field(default_factory=dict, compare=False)

    def has(self, word: str) -> bool:
        return word in self.attrs


def _attrs(words: Iterable[str]) -> dict[str, str]:
    """`file=a.journey run` -> {"file": "a.journey", "run": ""}."""
    found: dict[str, str] = {}
    for word in words:
        key, _, value = word.partition("=")
        found[key] = value
    return found


def fenced_blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown page, in order (an unclosed fence runs to the end, as in CommonMark)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match is None:
            index += 1
            continue
        fence, indent = match["fence"], len(match["indent"])
        words = tuple(match["info"].split())
        start = index
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(fence[0] * len(fence)) and set(closing) == {fence[0]}:
                break
            line = lines[index]
            # Content lines lose up to the fence's own indentation.
            strip = min(indent, len(line) - len(line.lstrip(" ")))
            body.append(line[strip:])
            index += 1
        index += 1
        lang = words[0] if words else ""
        blocks.append(Block(lang, words[1:], "\n".join(body) + ("\n" if body else ""), start + 1, _attrs(words[1:])))
    return blocks


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of the lines outside fenced code blocks."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        match = _FENCE.match(line)
        if fence is None and match is not None:
            fence = match["fence"]
            continue
        if fence is not None:
            closing = line.strip()
            if closing.startswith(fence) and set(closing) == {fence[0]}:
                fence = None
            continue
        yield number, line


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: the text as shown, lower case, punctuation dropped, spaces as `-`."""
    shown = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    shown = re.sub(r"<[^>]+>", "", shown)  # inline HTML shows nothing of its tags
    kept = "".join(
        char
        for char in shown.strip().lower()
        if char in " -_" or unicodedata.category(char)[0] in ("L", "N") or unicodedata.category(char) == "Mn"
    )
    return kept.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors a page has: one per heading (`-1`, `-2` for repeats, as GitHub numbers them) and `<a id>`s."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(text):
        found.update(_HTML_ID.findall(line))
        match = _HEADING.match(line)
        if match is None:
            continue
        base = slug(match[2])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


@dataclass(frozen=True)
class Link:
    line: int
    column: int
    target: str


def links(text: str) -> list[Link]:
    """The relative links of a page (not in code), with where they are; external and `mailto:` links are left out."""
    prose_lines = dict(_prose_lines(text))
    total = len(text.splitlines())
    # Code blocks become empty lines and code spans (which may run over a line break) spaces: offsets stay put.
    prose = "\n".join(prose_lines.get(number, "") for number in range(1, total + 1))
    prose = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)
    found: list[Link] = []
    for match in _LINK.finditer(prose):
        target = match.group(1)
        if target and not _EXTERNAL.match(target):
            line = prose.count("\n", 0, match.start()) + 1
            column = match.start() - (prose.rfind("\n", 0, match.start()) + 1) + 1
            found.append(Link(line, column, target))
    return found


def broken_links(pages: Iterable[Path], root: Path) -> list[str]:
    """`page:line:col: problem` for every relative link of `pages` that names no file, or no anchor of it."""
    problems: list[str] = []
    cache: dict[Path, set[str]] = {}
    for page in sorted(pages):
        text = page.read_text(encoding="utf-8")
        shown = page.relative_to(root) if page.is_relative_to(root) else page
        for link in links(text):
            path_part, _, anchor = link.target.partition("#")
            target = (page.parent / path_part).resolve() if path_part else page.resolve()
            where = f"{shown}:{link.line}:{link.column}"
            if not target.exists():
                problems.append(f"{where}: `{link.target}` names no file ({path_part} does not exist)")
                continue
            if not anchor:
                continue
            if target.suffix != ".md":
                problems.append(f"{where}: `{link.target}` has an anchor, but {path_part} is not a Markdown page")
                continue
            if target not in cache:
                cache[target] = anchors(target.read_text(encoding="utf-8"))
            if anchor not in cache[target]:
                problems.append(f"{where}: `{link.target}`: no heading of {target.name} has the anchor #{anchor}")
    return problems


def markdown_pages(root: Path) -> list[Path]:
    """The Markdown pages users read: README.md, journeys/README.md and everything under docs/."""
    pages = [root / "README.md", root / "journeys" / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in pages if page.is_file()]
