"""Write-then-move output: a command that fails part way leaves no half-finished files behind.

Files are written into a temporary folder beside the destination (same file system, so the final
`os.replace` is a rename) and moved into place only when every one of them was made.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def _staging(out_dir: Path) -> Iterator[tuple[Path, Path]]:
    """(`out_dir` resolved, a fresh folder beside it): on the same file system, so moving out of it is a rename.
    The folder is removed afterwards, whatever happened."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        yield out_dir, staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged_files(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success move its files into `out_dir` (others there are kept)."""
    with _staging(out_dir) as (out_dir, staging):
        yield staging
        out_dir.mkdir(parents=True, exist_ok=True)
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                target = out_dir / path.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)


@contextmanager
def staged_tree(out_dir: Path) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces `out_dir` whole (a site has no stale pages)."""
    with _staging(out_dir) as (out_dir, staging):
        yield staging
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.replace(out_dir, old / "tree")
        os.replace(staging, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
