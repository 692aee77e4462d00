"""The documentation site: index.html, one <journey>.html per journey, pressure.html (contact pressure, when any
journey sends), and md/*.md for wikis.

Pages are rendered from the Jinja2 templates in templates/docs/ (found by `resources.docs_templates_dir`)
with StrictUndefined, so a missing field fails the build instead of printing blank, and autoescape for
HTML. Everything is inline (CSS, JS, SVG) and links are relative, so the site works from file://.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from journeydsl.diagnostics import Diagnostic
from journeydsl.docs.context import JourneyPage, PressurePage, journey_page, pressure_page
from journeydsl.ir import Journey, Schema, SourceFile
from journeydsl.render import diagram_names, find_layout_program
from journeydsl.render.graphviz_backend import dot_source
from journeydsl.render.mermaid import journey_to_mermaid
from journeydsl.render.output import staged_tree
from journeydsl.render.runner import render_dot
from journeydsl.resources import docs_templates_dir


def md_cell(value: object) -> str:
    """Text that is safe inside a Markdown table cell: pipes escaped, newlines flattened."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def environment(templates: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates or docs_templates_dir())),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["md_cell"] = md_cell
    return env


_SVG_START = re.compile(r"<svg\b")


def inline_svg(svg: str) -> str:
    """The `<svg>` element alone: the XML prolog, doctype and comments are not allowed inside HTML."""
    match = _SVG_START.search(svg)
    return svg[match.start() :] if match else svg


def page_slug(name: str) -> str:
    """`solar_onboarding@3` -> `solar_onboarding-v3`: plain file names, no characters URLs must escape."""
    return name.replace("@", "-v").replace("~", "-")


def journey_pages(
    entries: Sequence[tuple[SourceFile, Journey]],
    templates_dir: Path,
    diagnostics: list[Diagnostic],
    with_svg: bool = True,
) -> list[JourneyPage]:
    program = find_layout_program() if with_svg else None
    names = diagram_names([journey for _, journey in entries])
    pages = []
    for (source, journey), name in zip(entries, names, strict=True):
        page = journey_page(source, journey, page_slug(name), templates_dir, diagnostics)
        dot = dot_source(journey)
        page.svg = inline_svg(render_dot(dot, "svg", program).decode("utf-8")) if with_svg else ""
        page.mermaid = journey_to_mermaid(journey)
        pages.append(page)
    return pages


def write_site(
    pages: list[JourneyPage], out_dir: Path, sources: Sequence[str], pressure: PressurePage | None = None
) -> list[Path]:
    """Render every page into a staging folder, then swap it in for `out_dir` (all or nothing)."""
    env = environment()
    written: list[Path] = []
    linked = {"has_pressure": pressure is not None}  # the header links the pressure page on every page
    with staged_tree(out_dir) as staging:
        (staging / "md").mkdir()
        files: dict[str, str] = {
            "index.html": env.get_template("index.html").render(pages=pages, sources=sources, root="", **linked),
            "md/index.md": env.get_template("index.md").render(pages=pages, **linked),
        }
        for page in pages:
            files[f"{page.slug}.html"] = env.get_template("journey.html").render(page=page, root="", **linked)
            files[f"md/{page.slug}.md"] = env.get_template("journey.md").render(page=page)
        if pressure is not None:
            files["pressure.html"] = env.get_template("pressure.html").render(pressure=pressure, root="", **linked)
            files["md/pressure.md"] = env.get_template("pressure.md").render(pressure=pressure)
        for relative, text in files.items():
            (staging / relative).write_text(text, encoding="utf-8")
            written.append(out_dir / relative)
    return written


def build_site(
    entries: Sequence[tuple[SourceFile, Journey]],
    out_dir: Path,
    templates_dir: Path,
    diagnostics: list[Diagnostic],
    sources: Sequence[str],
    *,
    schemas: Mapping[str, Schema] | None = None,
    pressure: Mapping[str, Any] | None = None,
) -> list[Path]:
    """The public entry point: pages for `entries` written to `out_dir`.

    schemas: by name, for the contact policies on the pressure page (without them it shows the journeys' own caps
    only); pressure: a simulation's figures for it (`journeydsl pressure --format json`)."""
    pages = journey_pages(entries, templates_dir, diagnostics)
    contact = pressure_page([journey for _, journey in entries], schemas or {}, pressure)
    return write_site(pages, out_dir, sources, contact)
