"""The project file: `journeydsl.toml`, or a `[tool.journeydsl]` table in `pyproject.toml`.

`find_config(start)` walks up from `start` (the folder the paths on the command line share, else the current
folder) to the filesystem root, as ruff and pytest do; the nearest folder holding either file wins, and when one
folder holds both, `journeydsl.toml` wins (a note says so). Every relative path in the file is relative to the
folder that holds it, the project root, so a command gives the same answer from any folder of the project.

Bad input (TOML syntax, an unknown key, a value of the wrong type) is a diagnostic at the file's line and column,
never an exception. Where it sits: a layer of its own above `ir` and `diagnostics`; it reads no journey.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeydsl.diagnostics import codes
from journeydsl.diagnostics.model import Diagnostic, Severity, Sink
from journeydsl.ir import Span

PROJECT_FILE = "journeydsl.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "journeydsl")

PROJECT_FILE_CODE = codes.PROJECT_FILE  # JD090


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _is_store(value: Any) -> bool:
    return _is_str(value) and "://" in value


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_str(item) for item in value)


def _is_percent(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


# key -> (the test its value passes, what the value must be, said in an error)
KEYS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "sources": (_is_str_list, 'a non-empty list of folder or file paths, e.g. ["journeys"]'),
    "templates": (_is_str, 'a folder path, e.g. "templates"'),
    "store": (_is_store, 'a store URL (memory://, sqlite:///PATH, postgresql://...), e.g. "sqlite:///state.db"'),
    "signing-key": (_is_str, 'the path of a private key made by `journeydsl keygen`, e.g. "keys/team.key"'),
    "public-key": (_is_str, 'the path of a public key, e.g. "keys/team.pub"'),
    "min-coverage": (_is_percent, "a number of percent from 0 to 100, e.g. 80"),
    "strict": (_is_bool, "true or false"),
}


@dataclass
class ProjectConfig:
    """The settings of one project; every default applies when there is no project file."""

    root: Path  # the folder holding the project file (absolute); the current folder when there is none
    file: Path | None = None  # the project file, None when none was found
    sources: tuple[str, ...] = ("journeys",)
    templates: str = "templates"
    store: str | None = None
    signing_key: str | None = None
    public_key: str | None = None
    min_coverage: float | None = None
    strict: bool = False
    diagnostics: list[Diagnostic] = field(default_factory=list)
    text: str = ""  # the project file's text, for caret lines

    @property
    def found(self) -> bool:
        return self.file is not None

    @property
    def has_errors(self) -> bool:
        return any(d.severity is Severity.ERROR for d in self.diagnostics)

    def path(self, value: str) -> Path:
        """A path the project file names, made absolute against the project root."""
        return self.root / value

    def store_url(self) -> str | None:
        """The default store; a relative `sqlite:///PATH` is relative to the project root, not to the caller."""
        if self.store is None or not self.store.startswith("sqlite:///"):
            return self.store
        rest = self.store[len("sqlite:///") :]
        if rest.startswith("/"):
            return self.store
        return "sqlite:///" + str(self.root / rest)

    def sources_text(self) -> dict[str, str]:
        """The project file's text under the name its diagnostics use (for caret lines)."""
        if self.file is None:
            return {}
        return {self.display_name(): self.text}

    def display_name(self) -> str:
        return PROJECT_FILE if self.file is None else self.file.name


# --------------------------------------------------------------------------- finding the file


def _has_tool_table(path: Path) -> bool:
    """Whether a pyproject.toml holds `[tool.journeydsl]` (a cheap look first: most never name us)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "journeydsl" not in text:
        return False
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        # A broken pyproject.toml that names journeydsl is ours to report: load_config parses it again.
        return re.search(r"^\s*\[\s*tool\s*\.\s*journeydsl\s*[\].]", text, re.MULTILINE) is not None
    tool = data.get("tool")
    return isinstance(tool, dict) and "journeydsl" in tool


def find_project_file(start: Path) -> tuple[Path | None, list[Path]]:
    """The nearest project file at or above `start`, and the files it shadows in its own folder."""
    folder = start.resolve()
    while True:
        own = folder / PROJECT_FILE
        pyproject = folder / PYPROJECT
        pyproject_counts = pyproject.is_file() and _has_tool_table(pyproject)
        if own.is_file():
            return own, [pyproject] if pyproject_counts else []
        if pyproject_counts:
            return pyproject, []
        if folder.parent == folder:
            return None, []
        folder = folder.parent


def discovery_start(paths: Sequence[str], cwd: Path) -> Path:
    """Where the walk up starts: the deepest folder all `paths` share (pytest's rule), else `cwd`.

    `FILE@REV` counts as FILE; a path that does not exist counts as its parent folder.
    """
    folders: list[Path] = []
    for raw in paths:
        path = Path(strip_revision(raw))
        absolute = path if path.is_absolute() else cwd / path
        folders.append(absolute if absolute.is_dir() else absolute.parent)
    if not folders:
        return cwd
    try:
        return Path(os.path.commonpath([str(f.resolve()) for f in folders]))
    except ValueError:  # paths on different drives share no folder
        return cwd


def strip_revision(spec: str) -> str:
    """`x.journey@HEAD~1` -> `x.journey`; a file that exists under the whole name keeps it."""
    if "@" not in spec or Path(spec).exists():
        return spec
    return spec.rsplit("@", 1)[0]


# --------------------------------------------------------------------------- reading the file


_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def _decode_error_span(err: tomllib.TOMLDecodeError, name: str) -> tuple[str, Span]:
    """tomllib says where in its message (`... (at line 3, column 9)`); the message without it, and the span."""
    text = str(err)
    found = _TOML_POSITION.search(text)
    if found is None:
        return text, Span(name, 1, 1, 1, 1)
    line, col = int(found.group(1)), int(found.group(2))
    return text[: found.start()].rstrip(), Span(name, line, col, line, col + 1)


def _key_span(text: str, name: str, table: tuple[str, ...], key: str) -> Span:
    """Where `key` is written inside `table` (the whole file for journeydsl.toml's top level), value included."""
    in_table = not table
    header = re.compile(r"^\s*\[\s*([^\]\[]+?)\s*\]\s*(#.*)?$")
    key_line = re.compile(r"^(\s*)(\"?)" + re.escape(key) + r"\2\s*=\s*(.*?)\s*(#.*)?$")
    dotted = ".".join(table)
    for number, line in enumerate(text.splitlines(), start=1):
        found_header = header.match(line)
        if found_header:
            name_in_header = re.sub(r"\s*\.\s*", ".", found_header.group(1))
            in_table = name_in_header == dotted if table else False
            if table and name_in_header == f"{dotted}.{key}":  # a sub-table: the header is the key
                start = line.index("[") + 1
                return Span(name, number, start, number, len(line.rstrip()) + 1)
            continue
        if in_table:
            found_key = key_line.match(line)
            if found_key:
                start = len(found_key.group(1)) + 1
                return Span(name, number, start, number, max(start + 1, len(line.split("#")[0].rstrip()) + 1))
    return Span(name, 1, 1, 1, 1)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return "an empty string" if value == "" else f"{value!r}"
    if isinstance(value, list):
        return "an empty list" if not value else "a list holding something other than paths"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def parse_config(text: str, name: str, table: tuple[str, ...] = ()) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The settings the file's `table` holds (the top level for journeydsl.toml), checked key by key."""
    sink = Sink()
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message, span = _decode_error_span(err, name)
        sink.report(
            PROJECT_FILE_CODE,
            f"{name} is not valid TOML: {message}",
            span,
            hint='TOML wants `key = value`; strings in double quotes ("journeys"), lists in brackets',
        )
        return {}, sink.diagnostics
    for part in table:
        data = data.get(part, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        where = ".".join(table)
        sink.report(PROJECT_FILE_CODE, f"`{where}` in {name} must be a table", Span(name, 1, 1, 1, 1))
        return {}, sink.diagnostics
    settings: dict[str, Any] = {}
    for key, value in data.items():
        span = _key_span(text, name, table, key)
        if key not in KEYS:
            close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
            hint = f"did you mean `{close[0]}`?" if close else "the keys are " + ", ".join(KEYS)
            where = f"[{'.'.join(table)}]" if table else name
            sink.report(PROJECT_FILE_CODE, f"unknown key `{key}` in {where}", span, hint=hint)
            continue
        test, wanted = KEYS[key]
        if not test(value):
            sink.report(
                PROJECT_FILE_CODE,
                f"`{key}` must be {wanted.split(', e.g.')[0]}, not {_type_name(value)}",
                span,
                hint=f"for example: {key} = {wanted.split('e.g. ')[-1]}" if "e.g." in wanted else None,
            )
            continue
        settings[key] = value
    return settings, sink.diagnostics


def load_config(start: Path, fallback_root: Path | None = None) -> ProjectConfig:
    """The project of the nearest project file at or above `start`; without one, the defaults rooted at
    `fallback_root` (the current folder, where commands looked before there were project files), else `start`."""
    file, shadowed = find_project_file(start)
    if file is None:
        return ProjectConfig(root=(fallback_root or start).resolve())
    config = ProjectConfig(root=file.parent, file=file)
    name = config.display_name()
    try:
        config.text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        config.diagnostics.append(
            Diagnostic(PROJECT_FILE_CODE, f"cannot read the project file {file}: {err}", Span(name, 1, 1, 1, 1))
        )
        return config
    table = PYPROJECT_TABLE if file.name == PYPROJECT else ()
    settings, config.diagnostics = parse_config(config.text, name, table)
    for other in shadowed:
        config.diagnostics.append(
            Diagnostic(
                PROJECT_FILE_CODE,
                f"{other.name} in the same folder also has [tool.journeydsl]; {PROJECT_FILE} wins and it is ignored",
                Span(name, 1, 1, 1, 1),
                hint=f"keep the settings in one place: move them into {PROJECT_FILE} and drop [tool.journeydsl]",
                severity=Severity.INFO,
            )
        )
    if "sources" in settings:
        config.sources = tuple(settings["sources"])
    config.templates = settings.get("templates", config.templates)
    config.store = settings.get("store")
    config.signing_key = settings.get("signing-key")
    config.public_key = settings.get("public-key")
    if "min-coverage" in settings:
        config.min_coverage = float(settings["min-coverage"])
    config.strict = settings.get("strict", False)
    return config


# --------------------------------------------------------------------------- paths against the root


def rebase(spec: str, cwd: Path, root: Path) -> str:
    """`spec` (a path the user typed in `cwd`, maybe `FILE@REV`) as the project root sees it.

    Under the root: relative to it (diagnostics then name files as the project does, from any folder); outside
    it: absolute. Unchanged when the root is the current folder, so output reads as the user typed it.
    """
    if cwd.resolve() == root.resolve():
        return spec
    path_text = strip_revision(spec)
    suffix = spec[len(path_text) :]
    path = Path(path_text)
    absolute = Path(os.path.abspath(path if path.is_absolute() else cwd / path))
    try:
        relative = absolute.resolve().relative_to(root.resolve())
    except ValueError:
        return str(absolute) + suffix
    return (relative.as_posix() or ".") + suffix


@contextmanager
def at_root(root: Path) -> Iterator[None]:
    """Run the body with the project root as the current folder, and go back after (errors included)."""
    before = Path.cwd()
    if before.resolve() == root.resolve():
        yield
        return
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(before)
