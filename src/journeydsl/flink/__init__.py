"""journeydsl on Apache Flink (issue 16): the runtime's step core as a keyed PyFlink job.

An optional layer (the `flink` extra, apache-flink): it imports the runtime only, the runtime never imports it,
and the CLI imports it lazily. This module itself imports nothing from PyFlink, so a caller can ask whether
Flink is usable (`require_flink`) and say so plainly when it is not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

INSTALL_HINT = "pip install 'journeydsl[flink]'"


class FlinkUnavailable(Exception):
    """PyFlink or Java is missing: the message says what to install."""


def java_executable() -> str | None:
    """The `java` Flink would start: $JAVA_HOME/bin/java when JAVA_HOME is set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def require_flink() -> None:
    """Raise FlinkUnavailable unless PyFlink imports and a Java runtime is there (PyFlink starts a JVM)."""
    try:
        import pyflink  # type: ignore[import-untyped]  # noqa: F401  (only whether it imports)
    except ImportError:
        raise FlinkUnavailable(f"--engine flink needs the flink extra: {INSTALL_HINT}") from None
    if java_executable() is None:
        where = "JAVA_HOME/bin/java" if os.environ.get("JAVA_HOME") else "java on PATH"
        raise FlinkUnavailable(
            f"--engine flink needs a Java 17 runtime, and found no {where} "
            "(Debian: apt-get install openjdk-17-jre-headless, or `make flink`)"
        )
