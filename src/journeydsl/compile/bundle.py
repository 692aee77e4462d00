"""Project (IR) -> bundle entries {path: bytes}, and writing them as a deterministic tar.gz or a directory.

Determinism is the point: sorted entries, canonical JSON, zero mtimes and
owners, a fixed gzip header with no file name. The same sources give
byte-identical bundles wherever they are built. Writing goes through a
temporary sibling and a rename, so a failed build leaves nothing half-written.
"""

from __future__ import annotations

import io
import os
import shutil
import struct
import tarfile
import tempfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from journeydsl import __version__
from journeydsl.compile.expr import ExprLoweringError
from journeydsl.compile.plan import JourneyLoweringError, build_index, lower_journey
from journeydsl.diagnostics import Diagnostic, Sink, codes
from journeydsl.ir import Send, SourceFile
from journeydsl.project import Project
from journeydsl.runtime.bundle import (
    GZIP_COMMENT_PREFIX,
    GZIP_HEADER,
    INDEX,
    MANIFEST,
    canonical_json,
    manifest_revision,
    sha256_hex,
)
from journeydsl.runtime.plan_format import FORMAT, PlanJson


class CompileError(Exception):
    """The project cannot be compiled; `diagnostics` say where."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("; ".join(f"{d.span}: {d.message}" if d.span else d.message for d in diagnostics))
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class _Unit:
    file: SourceFile
    plan: PlanJson


def template_entry(channel: str, template: str) -> str:
    return f"templates/messages/{channel}/{template}.j2"


def _plans(project: Project, sink: Sink) -> list[_Unit]:
    units: list[_Unit] = []
    seen: dict[tuple[str, int | None], str] = {}
    for file, journey in project.journey_files():
        key = (journey.name, journey.version)
        if key in seen:
            sink.report(
                codes.DUPLICATE_NAME,
                f"journey {journey.name} version {journey.version} is defined twice (also in {seen[key]})",
                journey.span,
                hint="give one of them a higher `version`, or build them separately",
            )
            continue
        seen[key] = file.path
        try:
            plan = lower_journey(journey, project.schema_for(journey), source=file.path)
        except JourneyLoweringError as err:
            sink.report(err.code, f"cannot compile journey {journey.name}: {err}", journey.span)
        except ExprLoweringError as err:
            sink.report(codes.SYNTAX_ERROR, f"cannot compile journey {journey.name}: {err}", journey.span)
            continue
        units.append(_Unit(file, plan))
    if not units and not sink.has_errors:
        sink.report(codes.FILE_ERROR, "no journeys to build: the paths hold no `journey`")
    return units


def _templates(project: Project, sink: Sink) -> dict[str, bytes]:
    """Only the templates the journeys send, read from project.templates_dir."""
    found: dict[str, bytes] = {}
    for journey in project.journeys():
        for step in journey.steps():
            for action in step.actions:
                if not isinstance(action, Send):
                    continue
                entry = template_entry(action.channel, action.template)
                if entry in found:
                    continue
                path = project.templates_dir / "messages" / action.channel / f"{action.template}.j2"
                try:
                    found[entry] = path.read_bytes()
                except OSError as err:
                    sink.report(
                        codes.UNKNOWN_TEMPLATE,
                        f"template {action.channel}/{action.template} cannot be read: {path} ({err.strerror})",
                        action.span,
                        hint="use --templates DIR to say where templates/messages/<channel>/<name>.j2 live",
                    )
    return found


def _source_sha256(project: Project, path: str) -> str:
    """sha256 of the source file's bytes (what `sha256sum` prints), if they are still what was compiled."""
    text = project.sources.get(path, "")
    try:
        raw = Path(path).read_bytes()
    except OSError:
        raw = None
    if raw is not None:
        on_disk = raw.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        if on_disk == text:
            return sha256_hex(raw)
    return sha256_hex(text.encode("utf-8"))  # in-memory projects, or a file that changed since it was read


def compile_project(project: Project, created_from: list[str]) -> dict[str, bytes]:
    """Every bundle entry (manifest.json, index.json, plans, templates) as bytes; raises CompileError."""
    sink = Sink()
    units = _plans(project, sink)
    templates = _templates(project, sink)
    if sink.has_errors:
        raise CompileError(sink.sorted())
    files: dict[str, bytes] = {}
    for unit in units:
        files[f"journeys/{unit.plan['journey']}/{unit.plan['version']}/plan.json"] = canonical_json(unit.plan)
    files[INDEX] = canonical_json(build_index(u.plan for u in units))
    files.update(templates)
    journeys = [
        {
            "id": u.plan["journey"],
            "version": u.plan["version"],
            "source": u.file.path,
            "source_sha256": _source_sha256(project, u.file.path),
        }
        for u in sorted(units, key=lambda u: (u.plan["journey"], u.plan["version"]))
    ]
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "compiler": f"journeydsl {__version__}",
        "journeys": journeys,
        "created_from": list(created_from),
        "files": {name: sha256_hex(data) for name, data in sorted(files.items())},
    }
    manifest["revision"] = manifest_revision(manifest)
    files[MANIFEST] = canonical_json(manifest)
    return dict(sorted(files.items()))


# --------------------------------------------------------------------------- writing


def pack_tar_gz(files: Mapping[str, bytes]) -> bytes:
    """The deterministic .jbundle bytes: sorted regular files, zeroed metadata, fixed gzip header."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    data = raw.getvalue()
    # Our own gzip framing (not gzip.compress) so the header bytes are ours and the reader can pin them.
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = deflater.compress(data) + deflater.flush() + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    # The gzip comment carries the body's sha256 so that no compressed byte can change unnoticed.
    return GZIP_HEADER + GZIP_COMMENT_PREFIX + sha256_hex(body).encode("ascii") + b"\x00" + body


def _write_file_atomic(data: bytes, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_directory_atomic(files: Mapping[str, bytes], out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).exists())):
        # Never replace a folder that is not a bundle: `-o build/` must not wipe someone's files.
        raise FileExistsError(f"{out} exists and is not a bundle directory; refusing to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        for name in sorted(files):
            target = tmp / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[name])
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_bundle(files: Mapping[str, bytes], out_path: str | Path) -> Path:
    """A `.jbundle` path gets the deterministic tar.gz; any other path a directory with the same entries."""
    out = Path(out_path)
    if out.suffix == ".jbundle":
        _write_file_atomic(pack_tar_gz(files), out)
    else:
        _write_directory_atomic(files, out)
    return out


def created_from_paths(paths: Sequence[str | Path]) -> list[str]:
    """The paths as given (folders with a trailing slash), without repeats: they go into the manifest."""
    found: dict[str, None] = {}
    for raw in paths:
        path = Path(raw)
        found.setdefault(path.as_posix() + ("/" if path.is_dir() else ""), None)
    return list(found)
