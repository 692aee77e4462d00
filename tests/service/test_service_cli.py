"""`journeydsl serve`'s start-up errors: one clear line and exit 2 (a bad option) or 1 (what refuses to start),
never a traceback, and nothing left listening."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from service_support import make_bundle

from journeydsl.cli import main
from journeydsl.cli.serve import is_loopback, parse_listen


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    return make_bundle(root, 1, root / "solar-v1.jbundle")


def _serve(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["serve", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


INSECURE = "--insecure"


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ([INSECURE, "--listen", "127.0.0.1"], 2, "is not HOST:PORT"),
        ([INSECURE, "--listen", "127.0.0.1:99999"], 2, "is not HOST:PORT"),
        ([INSECURE, "--listen", ":8080"], 2, "is not HOST:PORT"),
        ([INSECURE, "--listen", "0.0.0.0:8080"], 2, "only on a loopback address"),
        ([INSECURE, "--listen", "example.com:8080"], 2, "only on a loopback address"),
        ([], 2, "--token-file"),
        ([INSECURE, "--clock", "sun"], 2, "'sun' is not one of"),
        ([INSECURE, "--max-skew", "soon"], 2, "is not a duration"),
        ([INSECURE, "--bundle-url", "ftp://x/b"], 2, "not an http(s) URL"),
        ([INSECURE, "--bundle-url", "http://x/b", "--bundle-path", "b"], 2, "exclude each other"),
        ([INSECURE, "--queue", "0"], 2, "--queue"),
    ],
)
def test_bad_options(bundle: Path, extra: list[str], code: int, message: str) -> None:
    got, err = _serve(str(bundle), "--store", "memory://", *extra)
    assert got == code, err
    assert message in err
    assert "Traceback" not in err


def test_token_file_problems(bundle: Path, tmp_path: Path) -> None:
    missing = tmp_path / "none"
    code, err = _serve(str(bundle), "--store", "memory://", "--token-file", str(missing))
    assert code == 2 and "cannot read" in err and "none" in err
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    code, err = _serve(str(bundle), "--store", "memory://", "--token-file", str(empty))
    assert code == 2 and "is empty" in err
    spaced = tmp_path / "spaced"
    spaced.write_text("two words\n", encoding="utf-8")
    code, err = _serve(str(bundle), "--store", "memory://", "--token-file", str(spaced))
    assert code == 2 and "printable ASCII" in err
    code, err = _serve(str(bundle), "--store", "memory://", "--token-file", str(spaced), "--insecure")
    assert code == 2 and "exclude each other" in err


def test_what_refuses_to_start_exits_1(bundle: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.jbundle"
    garbage.write_bytes(b"not a bundle")
    code, err = _serve(str(garbage), "--store", "memory://", "--insecure", "--listen", "127.0.0.1:0")
    assert code == 1 and err.startswith("error: refusing bundle") and "Traceback" not in err
    code, err = _serve(str(bundle), "--store", "nosuch://x", "--insecure", "--listen", "127.0.0.1:0")
    assert code == 1 and "unknown store" in err
    code, err = _serve(str(bundle), "--store", "memory://", "--insecure", "--public-key", "00" * 32)
    assert code == 1 and "refusing bundle" in err
    bad_config = tmp_path / "delivery.toml"
    bad_config.write_text('[channels.email]\nsink = "pigeon"\n', encoding="utf-8")
    code, err = _serve(
        str(bundle), "--store", "memory://", "--insecure", "--listen", "127.0.0.1:0", "--delivery", str(bad_config)
    )
    assert code == 1 and "--delivery" in err and "pigeon" in err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, err = _serve(str(bundle), "--store", "memory://", "--insecure", "--listen", f"127.0.0.1:{port}")
    assert code == 1 and "cannot listen on 127.0.0.1" in err


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("localhost:1") == ("localhost", 1)
    assert is_loopback("127.0.0.2") and is_loopback("::1") and is_loopback("LOCALHOST")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")
