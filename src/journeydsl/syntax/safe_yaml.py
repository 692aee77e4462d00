"""Safe YAML: the one reading of YAML text that every YAML reader of the package builds on.

The journey reader (syntax/yaml_loader.py) and the scenario reader (testing/yamlread.py) sit above it; it knows
nothing of either format. Text is composed (never constructed) into PyYAML nodes, which keep their marks, so
every diagnostic has a line and column and no tag can build an object. The limits are the same for every file:
- only the standard data tags (SAFE_TAGS); a document with any other tag is reported (JD005) and dropped;
- at most MAX_ALIASES alias references per document (JD005): a "billion laughs" file is an error, not a hang;
- mappings and lists nest at most MAX_YAML_NESTING levels (JD011), so composing never exhausts the stack;
- a walk over a document may visit MAX_EXPANSION_FACTOR times its distinct nodes (plus a floor): aliases
  under the count can still share big subtrees, and Budget stops a walk that expands them too far (JD005).
Positions: PyYAML counts lines and columns from 0, a Span from 1; `span_of` and `mark_span` convert.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from journeydsl.diagnostics import Sink, codes
from journeydsl.ir import Span
from journeydsl.syntax.limits import MAX_YAML_NESTING, clip
from journeydsl.syntax.yaml_indent import find_misindent, over_indented

MAX_ALIASES: Final = 100  # alias references per document; more is treated as an alias bomb
MAX_EXPANSION_FACTOR: Final = 10
MAX_EXPANSION_FLOOR: Final = 10_000

STD: Final = "tag:yaml.org,2002:"
STR_TAG, INT_TAG, FLOAT_TAG, BOOL_TAG, NULL_TAG, TIMESTAMP_TAG = (
    STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)
MERGE_TAG: Final = STD + "merge"
# Tags that only describe plain data; anything else (python/*, binary, set, merge keys, custom !tags) is refused.
SAFE_TAGS: Final = frozenset(STD + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp"))
_TAG_HINT = "YAML files here hold plain data: strings, numbers, booleans, times, lists and mappings"


# --------------------------------------------------------------------------- positions


def span_of(path: str, node: Node, end: Node | None = None) -> Span:
    """The span of a node (or from `node` to the end of `end`), counted from 1."""
    start, stop = node.start_mark, (end or node).end_mark
    return Span(path, start.line + 1, start.column + 1, stop.line + 1, stop.column + 1)


def mark_span(path: str, mark: yaml.Mark) -> Span:
    """One character at a PyYAML mark."""
    return Span(path, mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2)


def line_col(text: str, index: int) -> tuple[int, int]:
    """The line and column (from 1) of a character index into `text`."""
    index = max(0, min(index, len(text)))
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


# --------------------------------------------------------------------------- composing


class _AliasLimit(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("too many aliases")
        self.mark = mark


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("nested too deeply")
        self.mark = mark


class SafeComposer(yaml.SafeLoader):
    """SafeLoader's composer (only composing is used), counting alias references and nesting as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0
        self.depth = 0

    def compose_document(self) -> Node | None:
        self.alias_count = 0
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise _AliasLimit(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        # The composer recurses once per level: the limit is checked before the next level is read.
        collection = self.check_event(yaml.CollectionStartEvent)
        if collection:
            self.depth += 1
            if self.depth > MAX_YAML_NESTING:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
        try:
            return super().compose_node(parent, index)
        finally:
            if collection:
                self.depth -= 1


@dataclass(frozen=True)
class Document:
    """One composed document whose tags are all safe, and how many distinct nodes it has (aliases share nodes)."""

    root: Node
    distinct: int

    def budget(self) -> Budget:
        return Budget(MAX_EXPANSION_FACTOR * self.distinct + MAX_EXPANSION_FLOOR)


def compose(text: str, path: str, sink: Sink, *, single: bool = False) -> list[Document]:
    """The documents of `text`, composed within the limits; every problem goes to the sink with a position.

    With `single`, a second document is a syntax error (JD003), as for a scenario file. A document with a tag
    outside SAFE_TAGS is reported and left out, so nothing above ever sees a node that came with one.
    """
    nodes = _compose_with_libyaml(text)
    if nodes is None or (single and len(nodes) > 1):
        nodes = _compose_with_python(text, path, sink, single)
    documents: list[Document] = []
    for node in nodes:
        distinct, safe = _check_tags(node, path, sink)
        if safe:
            documents.append(Document(node, distinct))
    return documents


def _compose_with_python(text: str, path: str, sink: Sink, single: bool) -> list[Node]:
    """PyYAML's pure-Python composer: slower than libyaml's, but it stops at each limit with a position."""
    documents: list[Node] = []
    loader: SafeComposer | None = None
    try:
        loader = SafeComposer(text)
        if single:
            node = loader.get_single_node()
            documents.extend([node] if node is not None else [])
        while not single and loader.check_node():
            node = loader.get_node()
            if node is not None:
                documents.append(node)
    except _TooDeep as err:
        sink.report(
            codes.NESTING_TOO_DEEP,
            f"mappings and lists nest more than {MAX_YAML_NESTING} levels deep here",
            mark_span(path, err.mark),
            hint="a journey document needs about 8 levels: look for a runaway `[` or `{`, or indentation",
        )
    except _AliasLimit as err:
        sink.report(
            codes.YAML_UNSAFE,
            f"more than {MAX_ALIASES} alias references in one document",
            mark_span(path, err.mark),
            hint="aliases are bounded so that a small file cannot expand into a huge one",
        )
    except yaml.MarkedYAMLError as err:
        _report_marked(err, text, path, sink)
    except yaml.reader.ReaderError as err:
        line, col = line_col(text, err.position)
        what = f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        message = f"YAML syntax error: unacceptable character {what}: {err.reason}"
        sink.report(codes.YAML_SYNTAX, message, Span(path, line, col, line, col + 1))
    except yaml.YAMLError as err:
        sink.report(codes.YAML_SYNTAX, f"YAML syntax error: {err}", Span(path, 1, 1, 1, 1))
    except RecursionError:
        sink.report(codes.YAML_SYNTAX, "YAML syntax error: the text is nested too deeply", Span(path, 1, 1, 1, 1))
    finally:
        if loader is not None:
            loader.dispose()
    return documents


def _report_marked(err: yaml.MarkedYAMLError, text: str, path: str, sink: Sink) -> None:
    """JD003 for a YAML syntax error; an indentation error points at the line that broke its block's pattern."""
    mark = err.problem_mark or err.context_mark
    problem = err.problem or "the YAML text does not parse"
    found = None
    if mark is not None and "expected <block end>" in problem:
        found = find_misindent(text, mark.line, mark.column)
    if found is not None:
        span = Span(path, found.line, 1, found.line, max(found.found, 1) + 1)
        sink.report(codes.YAML_SYNTAX, found.message, span, hint=found.hint)
        return
    message = f"YAML syntax error: {problem}" + (f" ({err.context})" if err.context else "")
    hint = _syntax_hint(text, mark, err.context or "", problem) if mark is not None else None
    sink.report(
        codes.YAML_SYNTAX, message, mark_span(path, mark) if mark is not None else Span(path, 1, 1, 1, 1), hint=hint
    )


# What marks an expression in a line of YAML: a call, a list, a comparison or a word operator.
_EXPRESSION = re.compile(r"[(\[<>=]| (?:and|or|in|not) ")
SPLIT_HINT = (
    "YAML splits `{…}` and `[…]` at every comma, so an expression holding a comma (a function's arguments, a "
    'list) must be quoted: `where: \'coalesce(event.zip, "x") == "y"\'`'
)


def _syntax_hint(text: str, mark: yaml.Mark, context: str, problem: str = "") -> str | None:
    """A hint for the common slips: an unquoted expression split at a comma, a tab used for indentation."""
    lines = text.split("\n")
    line = lines[mark.line] if 0 <= mark.line < len(lines) else ""
    if "\t" in line[: len(line) - len(line.lstrip())] or line[mark.column : mark.column + 1] == "\t":
        return "indent with spaces: YAML does not accept tabs for indentation"
    if "mapping values are not allowed" in problem:
        over = over_indented(lines, mark.line)
        if over is not None:
            return over
    if ("{" in line or "[" in line) and (has_unbalanced_call(line) or ("flow" in context and _EXPRESSION.search(line))):
        return SPLIT_HINT
    return None


def has_unbalanced_call(text: str) -> bool:
    """Whether a piece of `text` between commas opens `(` it never closes or closes `)` it never opened.

    That is what YAML leaves of an unquoted `f(a, b)` in a flow collection, which it splits at each comma.
    """
    depth = 0
    quote = ""
    for char in text + ",":
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return True
        elif char == ",":
            if depth != 0:
                return True
            depth = 0
    return False


_CSafeLoader: Any = getattr(yaml, "CSafeLoader", None)


def _compose_with_libyaml(text: str) -> list[Node] | None:
    """libyaml's composer (several times faster), only for input that breaks no limit; else None.

    One pass over the events checks that the text parses, keeps to the alias bound and nests at most
    MAX_YAML_NESTING deep (libyaml's composer recurses on the C stack); only then does the C composer build the
    nodes, with the same marks as the Python one. Anything else goes to the Python composer, which reports it.
    """
    if _CSafeLoader is None:
        return None
    loader = None
    try:
        loader = _CSafeLoader(text)
        depth = aliases = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                aliases = 0
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if aliases > MAX_ALIASES or depth > MAX_YAML_NESTING:
                return None
        loader.dispose()
        loader = _CSafeLoader(text)
        documents: list[Node] = []
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                documents.append(node)
        return documents
    except Exception:  # noqa: BLE001 - any failure here means: let the Python composer report it
        return None
    finally:
        if loader is not None:
            loader.dispose()


def _check_tags(document: Node, path: str, sink: Sink) -> tuple[int, bool]:
    """Report every tag outside SAFE_TAGS (JD005); the number of distinct nodes, and whether all were safe."""
    seen: set[int] = set()
    stack: list[Node] = [document]
    safe = True
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag == MERGE_TAG:
            safe = False
            message = "merge keys (`<<`) are not supported"
            sink.report(codes.YAML_UNSAFE, message, span_of(path, node), hint="write the keys out")
        elif node.tag not in SAFE_TAGS:
            safe = False
            message = f"the YAML tag `{clip(str(node.tag), 60)}` is not allowed"
            sink.report(codes.YAML_UNSAFE, message, span_of(path, node), hint=_TAG_HINT)
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.extend((value, key))
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))
    return len(seen), safe


# --------------------------------------------------------------------------- walking


class ExpansionLimit(Exception):
    """A walk over a document ran out of its Budget: aliases expand the document too far."""


class Budget:
    """The node visits a walk over one document may still make (Document.budget)."""

    def __init__(self, visits: int) -> None:
        self.left = visits

    def spend(self, visits: int = 1) -> None:
        self.left -= visits
        if self.left < 0:
            raise ExpansionLimit()


def report_expansion(sink: Sink, span: Span) -> None:
    sink.report(
        codes.YAML_UNSAFE,
        "the document's aliases expand into too many nodes",
        span,
        hint="write the document out instead of repeating anchors",
    )


# Only the scalar constructors are used, called directly: construct_object() would cache every node forever.
_CONSTRUCTOR = yaml.SafeLoader("")
_SCALARS: dict[str, Callable[[ScalarNode], Any]] = {
    INT_TAG: _CONSTRUCTOR.construct_yaml_int,
    FLOAT_TAG: _CONSTRUCTOR.construct_yaml_float,
    BOOL_TAG: _CONSTRUCTOR.construct_yaml_bool,
    NULL_TAG: _CONSTRUCTOR.construct_yaml_null,
    TIMESTAMP_TAG: _CONSTRUCTOR.construct_yaml_timestamp,
}


def scalar_value(node: Node) -> Any:
    """The value of an int, float, bool, null or timestamp scalar; the text of any other node.

    Raises ValueError for a malformed one: an int of more than 4,300 digits, a timestamp in month 13.
    """
    construct = _SCALARS.get(node.tag)
    if construct is None or not isinstance(node, ScalarNode):
        return node.value
    try:
        return construct(node)
    except ValueError:
        raise
    except Exception as err:  # noqa: BLE001 - `!!bool maybe` is a KeyError, `!!timestamp soon` an AttributeError
        raise ValueError(f"`{clip(str(node.value), 40)}` is not a valid {node.tag.removeprefix(STD)}") from err
