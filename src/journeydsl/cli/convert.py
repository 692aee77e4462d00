"""`journeydsl convert FILE --to yaml|dsl [-o OUT]` and `journeydsl schema`.

convert: parse either form to the IR, print the other form. A file with errors
prints its diagnostics, writes nothing and exits 1.
schema: print the JSON Schema of the YAML form, for editor completion.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from journeydsl.diagnostics import Sink, codes
from journeydsl.diagnostics.render import render_text
from journeydsl.ir import Span


def _read(path: str, sink: Sink) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        sink.report(
            codes.FILE_ERROR, f"{path} is not UTF-8 text ({err.reason} at byte {err.start})", Span(path, 1, 1, 1, 1)
        )
    except OSError as err:
        sink.report(codes.FILE_ERROR, f"cannot read {path}: {err.strerror}", Span(path, 1, 1, 1, 1))
    return None


@click.command("convert")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--to", "target", type=click.Choice(["yaml", "dsl"]), required=True, help="The form to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
def convert(file: str, target: str, output: str | None) -> None:
    """Convert a journey file between the DSL and the YAML form (the IR stays the same)."""
    from journeydsl.cli.options import open_project
    from journeydsl.project_file import at_root

    found = open_project([file])
    file, output = found.here(file), found.maybe(output)
    with at_root(found.root):  # diagnostics name the file from the project root, as every command does
        _convert(file, target, output)


def _convert(file: str, target: str, output: str | None) -> None:
    from journeydsl.project import parse_source
    from journeydsl.syntax import format_dsl, to_yaml

    sink = Sink()
    text = _read(file, sink)
    sources: dict[str, str] = {}
    if text is not None:
        sources[file] = text
        source, diagnostics = parse_source(text, file)
        sink.extend(diagnostics)
    if sink.diagnostics:
        click.echo(render_text(sink.sorted(), sources, color=sys.stderr.isatty(), file_count=1), err=True, nl=False)
    if text is None or sink.has_errors:
        sys.exit(1)
    converted = to_yaml(source) if target == "yaml" else format_dsl(source)
    if output is None:
        click.echo(converted, nl=False)
    else:
        Path(output).write_text(converted, encoding="utf-8")


@click.command("schema")
def schema() -> None:
    """Print the JSON Schema of the YAML form (for editor completion)."""
    from journeydsl.syntax.json_schema import journey_json_schema

    click.echo(json.dumps(journey_json_schema(), indent=2))


COMMANDS: list[click.Command] = [convert, schema]
