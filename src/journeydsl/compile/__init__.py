"""The compiler back end: checked IR -> plans -> a signed, deterministic bundle (docs/bundle-format.md).

- `compile_project(project, created_from)` -> {path: bytes} (every bundle entry)
- `sign_files(files, private_key_pem)` -> the same plus signatures.json
- `write_bundle(files, out_path)`: a `.jbundle` tar.gz or a directory
- `build(paths, out, sign_key=None, templates_dir=None)`: load, check, compile, sign, write
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from journeydsl.check import check_project
from journeydsl.compile.bundle import CompileError, compile_project, created_from_paths, pack_tar_gz, write_bundle
from journeydsl.compile.sign import SignError, generate_keypair, keygen, sign_files
from journeydsl.diagnostics import Diagnostic, errors_in, has_errors
from journeydsl.project import load_project
from journeydsl.runtime.bundle import MANIFEST, SIGNATURES, load_public_key

__all__ = [
    "BuildError",
    "BuildResult",
    "CompileError",
    "SignError",
    "build",
    "compile_project",
    "generate_keypair",
    "keygen",
    "load_public_key",
    "pack_tar_gz",
    "sign_files",
    "write_bundle",
]


class BuildError(Exception):
    """The build was refused; nothing was written. `diagnostics` say why, `sources` hold the text for carets."""

    def __init__(self, diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> None:
        errors = errors_in(diagnostics)
        super().__init__(f"build refused: {len(errors)} error(s)")
        self.diagnostics = diagnostics
        self.sources = sources or {}


@dataclass(frozen=True)
class BuildResult:
    out: Path
    revision: str
    journeys: list[dict[str, Any]]
    files: dict[str, bytes] = field(repr=False)
    signed: bool
    diagnostics: list[Diagnostic] = field(default_factory=list)  # warnings and notes of a successful build
    sources: dict[str, str] = field(default_factory=dict, repr=False)  # for caret lines under those
    kept: list[tuple[str, int]] = field(default_factory=list)  # versions carried over from `keep`


def build(
    paths: Sequence[str | Path],
    out: str | Path,
    sign_key: str | Path | bytes | None = None,
    templates_dir: str | Path | None = None,
    keep: str | Path | None = None,
) -> BuildResult:
    """Load, check, compile, sign and write a bundle; raises BuildError (writing nothing) on errors.

    keep: a previous bundle whose journey versions the sources no longer hold are carried over (compile/keep.py);
    raises KeepError or BundleError when it cannot be."""
    project = load_project(paths, templates_dir=templates_dir)
    diagnostics = check_project(project)  # parse diagnostics included
    if has_errors(diagnostics):
        raise BuildError(diagnostics, project.sources)
    try:
        files = compile_project(project, created_from_paths(paths))
    except CompileError as err:
        raise BuildError(diagnostics + err.diagnostics, project.sources) from None
    kept: list[tuple[str, int]] = []
    if keep is not None:
        from journeydsl.compile.keep import keep_versions
        from journeydsl.runtime.bundle import load_bundle

        files, kept = keep_versions(files, load_bundle(str(keep)))
    if sign_key is not None:
        files = sign_files(files, sign_key)
    written = write_bundle(files, out)
    manifest = json.loads(files[MANIFEST])
    return BuildResult(
        out=written,
        revision=manifest["revision"],
        journeys=manifest["journeys"],
        files=files,
        signed=SIGNATURES in files,
        diagnostics=diagnostics,
        sources=project.sources,
        kept=kept,
    )
