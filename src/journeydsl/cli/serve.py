"""`journeydsl serve`: the runtime as an HTTP service (events in, timers on the wall clock, records delivered).

Where it sits: the click layer over journeydsl.service (server.serve does the work). This module checks the
options and turns every start-up failure into one line on standard error: exit 2 for a bad option (click's
usage errors: --listen, the token file, --insecure off loopback), 1 for what refuses to start (the bundle, the
store, the delivery config, a port in use).
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import click

from journeydsl.cli.run import _skew_seconds

DEFAULT_MAX_BODY = 8 * 1024 * 1024


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` or `[IPv6]:PORT` -> (host, port)."""
    host, colon, port_text = text.strip().rpartition(":")
    if not colon or not host or not port_text.isascii() or not port_text.isdigit() or int(port_text) > 65535:
        raise click.BadParameter(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:8080)", param_hint="--listen")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_token_file(path: Path) -> None:
    from journeydsl.service.auth import TokenError, read_tokens

    try:
        read_tokens(path)
    except TokenError as err:
        raise click.BadParameter(str(err), param_hint="--token-file") from err


@click.command("serve")
@click.argument("bundle", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_url", required=True, help="memory://, sqlite:///PATH or postgresql://...")
@click.option("--listen", default="127.0.0.1:8080", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File of bearer tokens clients must send (Authorization: Bearer TOKEN), one per line; read again when "
    "it changes, so a token is rotated by adding the new line, then removing the old one.",
)
@click.option("--insecure", is_flag=True, help="Accept requests without a token (only when listening on loopback).")
@click.option(
    "--clock",
    type=click.Choice(["wall", "event"]),
    default="wall",
    show_default=True,
    help="wall: timers fire on the wall clock; event: only by event time and POST /v1/clock (replays, tests).",
)
@click.option(
    "--delivery",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Delivery config (TOML); without it every record is printed to standard output as one JSON line.",
)
@click.option(
    "--bundle-path",
    type=click.Path(path_type=Path),
    help="Watch this bundle file or folder and load it when it changes.",
)
@click.option("--bundle-url", help="Poll this URL for a new bundle (with If-None-Match).")
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0.05, max=86400),
    default=5.0,
    show_default=True,
    help="Seconds between polls of --bundle-path or --bundle-url.",
)
@click.option("--public-key", help="Refuse bundles (the first and reloaded ones) not signed by this Ed25519 key.")
@click.option(
    "--max-body", type=click.IntRange(min=1), default=DEFAULT_MAX_BODY, show_default=True, help="Largest request body."
)
@click.option(
    "--queue", type=click.IntRange(min=1), default=64, show_default=True, help="Batches waiting to commit before 503."
)
@click.option(
    "--grace",
    type=click.FloatRange(min=0, max=3600),
    default=10.0,
    show_default=True,
    help="Seconds SIGTERM allows for requests in flight and for delivering what is due.",
)
@click.option(
    "--max-skew",
    default="1d",
    show_default=True,
    help="Events further ahead of the clock (the wall clock with --clock wall) are dead letters; e.g. 6h, or none.",
)
@click.option("--batch", type=click.IntRange(min=1), default=None, help="Units per commit of a durable store.")
@click.option(
    "--lease",
    type=click.FloatRange(1, 86400),
    default=60.0,
    show_default=True,
    help="Seconds the relay holds the outbox rows it claimed; rows a killed serve held go out again after that.",
)
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds to wait for another process to release the store.",
)
def serve_command(
    bundle: Path,
    store_url: str,
    listen: str,
    token_file: Path | None,
    insecure: bool,
    clock: str,
    delivery: Path | None,
    bundle_path: Path | None,
    bundle_url: str | None,
    reload_interval: float,
    public_key: str | None,
    max_body: int,
    queue: int,
    grace: float,
    max_skew: str,
    batch: int | None,
    lease: float,
    wait_seconds: float,
) -> None:
    """Serve BUNDLE over HTTP: POST /v1/events, GET /healthz, /readyz, /metrics."""
    host, port = parse_listen(listen)
    if token_file is not None and insecure:
        raise click.UsageError("--token-file and --insecure exclude each other")
    if token_file is None and not insecure:
        raise click.UsageError("give --token-file FILE (or --insecure, on a loopback address only)")
    if insecure and not is_loopback(host):
        raise click.BadParameter(
            f"--insecure serves without a token, so only on a loopback address, not {host}", param_hint="--listen"
        )
    if token_file is not None:
        check_token_file(token_file)
    if bundle_path is not None and bundle_url is not None:
        raise click.UsageError("--bundle-path and --bundle-url exclude each other")
    if bundle_url is not None and not bundle_url.startswith(("http://", "https://")):
        raise click.BadParameter(f"{bundle_url!r} is not an http(s) URL", param_hint="--bundle-url")
    skew = _skew_seconds(max_skew)

    from journeydsl.service.server import ServeError, ServeOptions, serve

    options = ServeOptions(
        bundle=bundle,
        store_url=store_url,
        host=host,
        port=port,
        token_file=token_file,
        clock="event" if clock == "event" else "wall",
        delivery=delivery,
        bundle_path=bundle_path,
        bundle_url=bundle_url,
        reload_interval=reload_interval,
        public_key=public_key,
        max_body=max_body,
        queue=queue,
        grace=grace,
        max_skew=skew,
        batch=batch,
        lease=lease,
        wait=wait_seconds,
    )
    try:
        code = serve(options)
    except ServeError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    sys.exit(code)


COMMANDS: list[click.Command] = [serve_command]
