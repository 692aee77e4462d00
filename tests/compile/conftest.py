"""Fixtures of the compiler tests; the IR builders they use live in compile_support.py."""

from compile_support import project_factory, solar_dir, templates

__all__ = ["project_factory", "solar_dir", "templates"]
