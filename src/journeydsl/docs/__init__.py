"""Documentation: a static HTML site and Markdown pages, from Jinja2 templates in templates/docs/.

Public API: `build_site(entries, out_dir, templates_dir, diagnostics, sources) -> list[Path]` where
`entries` is `project.journey_files()`.
"""

from journeydsl.docs.site import build_site

__all__ = ["build_site"]
