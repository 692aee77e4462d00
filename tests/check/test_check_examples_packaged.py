"""The registry's example files ship in the wheel and are read from an installed package, not from a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from journeydsl.diagnostics.examples import example_files

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_every_example_and_the_registry_reads_them_from_it(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "wheel"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "wheel").glob("journeydsl-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    shipped = {name.rpartition("/")[2] for name in names if name.startswith("journeydsl/diagnostics/examples/")}
    assert set(example_files().values()) <= shipped
    # The unpacked wheel first on the path, ahead of the editable install of this checkout.
    probe = (
        "import journeydsl, journeydsl.diagnostics.codes as c; "
        "print(journeydsl.__file__); print('Caf\\u00e9' in c.FILE_ERROR.bad_example); "  # the Latin-1 file, decoded
        "print(len([x for x in c.all_codes() if x.bad_example and x.good_example]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, env=env).stdout
    where, latin1, complete = out.splitlines()
    assert where.startswith(str(tmp_path / "site"))
    assert latin1 == "True"
    assert int(complete) == len({code for code, _ in example_files()})
