"""Doing what a guide page says: write its files, make its edits, run its commands, compare their output.

A page marks what the reader does (docs/guide.py's `fenced_blocks`): ```` ```LANG file=PATH ```` is a file to
write, ```` ```sh run ```` commands to run (`run=1`: each must exit with status 1), ```` ```diff edit=PATH ````
an edit (`-` lines become the `+` lines), ```` ```text output ```` what the commands just run print: each line
shown must be part of a line of the output, in order (`...` skips). Everything happens in one folder, in page
order, with `journeydsl` on PATH. The tutorial and the scenario page are tested with it; so is the runner here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from journeydsl.docs.guide import Block


def apply_edit(text: str, edit: str, where: str) -> str:
    """The `-` lines of a diff block replaced by its `+` lines; the `-` lines must be in the text as written."""
    old = "".join(line[1:] + "\n" for line in edit.splitlines() if line.startswith("-"))
    new = "".join(line[1:] + "\n" for line in edit.splitlines() if line.startswith("+"))
    if not old or old not in text:
        raise AssertionError(f"{where}: the lines to change are not in the file")
    return text.replace(old, new, 1)


def shown_in(shown: str, actual: str) -> str | None:
    """None when every line shown is part of a line of `actual`, in order; else the first line that is not."""
    lines = actual.splitlines()
    position = 0
    for line in shown.splitlines():
        wanted = line.rstrip()
        if not wanted.strip() or wanted.strip() == "...":
            continue
        while position < len(lines) and wanted not in lines[position]:
            position += 1
        if position == len(lines):
            return wanted
        position += 1
    return None


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["COLUMNS"] = "200"
    env.pop("JOURNEYDSL_COMPLETE", None)
    return env


def run_page(blocks: list[Block], folder: Path, page: str) -> list[str]:
    """Do what the page says in `folder`; the commands run, for the test to check there were some."""
    env = _environment()
    ran: list[str] = []
    last_output: str | None = None
    for block in blocks:
        where = f"{page}:{block.line}"
        if block.has("file"):
            path = folder / block.attrs["file"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text, encoding="utf-8")
        elif block.has("edit"):
            path = folder / block.attrs["edit"]
            path.write_text(apply_edit(path.read_text(encoding="utf-8"), block.text, where), encoding="utf-8")
        elif block.has("run"):
            expected = int(block.attrs["run"] or 0)
            outputs: list[str] = []
            for command in block.text.splitlines():
                if not command.strip() or command.lstrip().startswith("#"):
                    continue
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=folder,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    timeout=300,
                    check=False,
                )
                assert done.returncode == expected, (
                    f"{where}: `{command}` exited with {done.returncode}, the page expects {expected}:\n{done.stdout}"
                )
                outputs.append(done.stdout)
                ran.append(command)
            last_output = "".join(outputs)
        elif block.has("output"):
            assert last_output is not None, f"{where}: an output block with no command before it"
            missing = shown_in(block.text, last_output)
            assert missing is None, f"{where}: the page shows `{missing}`, the commands printed:\n{last_output}"
    return ran


# --------------------------------------------------------------------------- the runner itself


def test_edit_needs_the_old_lines() -> None:
    assert apply_edit("a\nb\nc\n", "-b\n+x", "here") == "a\nx\nc\n"
    with pytest.raises(AssertionError, match="not in the file"):
        apply_edit("a\n", "-b\n+x", "here")


def test_output_lines_must_appear_in_order() -> None:
    actual = "one two\nthree\nfour five\n"
    assert shown_in("one\n...\nfour five\n", actual) is None
    assert shown_in("four\none\n", actual) == "one"
    assert shown_in("six\n", actual) == "six"


def test_a_failing_command_fails_the_run(tmp_path: Path) -> None:
    blocks = [Block("sh", ("run",), "false\n", 1, {"run": ""})]
    with pytest.raises(AssertionError, match="exited with 1"):
        run_page(blocks, tmp_path, "page.md")
    wrong_output = [
        Block("sh", ("run",), "echo hello\n", 1, {"run": ""}),
        Block("text", (), "bye\n", 3, {"output": ""}),
    ]
    with pytest.raises(AssertionError, match="the page shows `bye`"):
        run_page(wrong_output, tmp_path, "page.md")
