"""Diagnostic codes, the Diagnostic record, and its renderers."""

from journeydsl.diagnostics.model import Code, Diagnostic, Severity, Sink

__all__ = ["Code", "Diagnostic", "Severity", "Sink"]
