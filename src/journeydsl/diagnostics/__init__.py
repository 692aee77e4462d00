"""Diagnostic codes, the Diagnostic record, and its renderers.

Where it sits: at the bottom of the front end with the IR (tests/test_layers.py): syntax, project, check and every
later stage report into it; it imports none of them (running the registry's examples is check/examples.py's).
"""

from journeydsl.diagnostics.model import Code, Diagnostic, Severity, Sink, errors_in, has_errors

__all__ = ["Code", "Diagnostic", "Severity", "Sink", "errors_in", "has_errors"]
