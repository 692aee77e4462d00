"""Diagnostic codes, the Diagnostic record, and its renderers."""

from journeydsl.diagnostics.model import Code, Diagnostic, Severity, Sink, errors_in, has_errors

__all__ = ["Code", "Diagnostic", "Severity", "Sink", "errors_in", "has_errors"]
