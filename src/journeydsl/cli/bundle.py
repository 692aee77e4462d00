"""`journeydsl build`, `keygen` and `verify`: the thin CLI over journeydsl.compile and runtime.bundle."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from journeydsl.cli.options import no_sources, open_project, templates_option
from journeydsl.compile import BuildError, SignError, build, keygen
from journeydsl.diagnostics import errors_in
from journeydsl.diagnostics.render import render_text
from journeydsl.project_file import at_root
from journeydsl.runtime.bundle import BundleError, key_fingerprint, load_bundle


def _use_color() -> bool:
    return sys.stderr.isatty() and "NO_COLOR" not in os.environ


def _journey_list(journeys: list[dict[str, object]], shown: int = 8) -> str:
    """`a v1, b v3`; a long list is cut short so the revision stays on screen."""
    names = [f"{j['id']} v{j['version']}" for j in journeys]
    if len(names) > shown:
        return f"{len(names)}: " + ", ".join(names[:shown]) + f", … and {len(names) - shown} more"
    return ", ".join(names) or "no journeys"


@click.command("build")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--out", required=True, type=click.Path(), help="NAME.jbundle (tar.gz) or a directory.")
@click.option(
    "--sign",
    "sign_key",
    type=click.Path(dir_okay=False),
    default=None,
    help="Sign with this private key (default: the project file's `signing-key`).",
)
@templates_option
@click.option(
    "--keep",
    "keep",
    type=click.Path(exists=True),
    default=None,
    help="A previous bundle: its journey versions that the sources no longer hold are carried over, unchanged.",
)
def build_command(
    paths: tuple[str, ...], out: str, sign_key: str | None, templates_dir: str | None, keep: str | None
) -> None:
    """Check and compile journeys into a deterministic (optionally signed) rule bundle."""
    found = open_project(paths)
    sources = found.sources(paths)
    if not sources:
        raise no_sources("build")
    out, keep, templates = found.here(out), found.maybe(keep), found.templates(templates_dir)
    sign_key = found.here(sign_key) if sign_key is not None else found.config.signing_key
    with at_root(found.root):  # the sources, templates and the project's key are relative to the root
        _build(sources, out, sign_key, templates, keep)


def _build(paths: list[str], out: str, sign_key: str | None, templates_dir: str, keep: str | None) -> None:
    from journeydsl.compile.keep import KeepError
    from journeydsl.runtime.bundle import BundleError

    try:
        result = build(paths, out, sign_key=sign_key, templates_dir=templates_dir, keep=keep)
    except BuildError as err:
        errors = errors_in(err.diagnostics)
        click.echo(render_text(err.diagnostics, err.sources, color=_use_color()), err=True, nl=False)
        click.echo(f"build refused: {len(errors)} error(s); nothing was written to {out}", err=True)
        sys.exit(1)
    except (SignError, OSError, KeepError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    except BundleError as err:
        click.echo(f"error: cannot keep versions of {keep}: {err}", err=True)
        sys.exit(1)
    if result.diagnostics:  # a build that succeeded has no errors: these are its warnings and notes
        click.echo(render_text(result.diagnostics, result.sources, color=_use_color()), err=True, nl=False)
    files = len(result.files)
    templates = sum(1 for name in result.files if name.startswith("templates/"))
    click.echo(f"built {result.out}")
    click.echo(f"  revision  {result.revision}")
    click.echo(f"  journeys  {_journey_list(result.journeys)}")
    if result.kept:
        click.echo(
            f"  kept      {', '.join(f'{journey} v{version}' for journey, version in result.kept)} (from {keep})"
        )
    click.echo(f"  files     {files} ({templates} template{'s' if templates != 1 else ''})")
    click.echo(f"  signed    {'yes' if result.signed else 'no'}")


@click.command("keygen")
@click.option("-o", "--out", "name", required=True, help="Writes NAME.key (private, 0600) and NAME.pub.")
def keygen_command(name: str) -> None:
    """Make an Ed25519 key pair for signing bundles."""
    try:
        key_path, pub_path = keygen(name)
    except (SignError, OSError) as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    click.echo(f"wrote {key_path} (private, keep it secret) and {pub_path} (public, give it to the runtime)")


@click.command("verify")
@click.argument("bundle", type=click.Path())
@click.option(
    "--public-key",
    "public_key",
    type=click.Path(dir_okay=False),
    default=None,
    help="Require this signer (default: the project file's `public-key`).",
)
def verify_command(bundle: str, public_key: str | None) -> None:
    """Verify a bundle: every file's sha256, the revision, and the signature."""
    if public_key is None:
        config = open_project().config
        public_key = str(config.path(config.public_key)) if config.public_key else None
    try:
        loaded = load_bundle(bundle, public_key=Path(public_key) if public_key else None)
    except BundleError as err:
        click.echo(f"{bundle}: REFUSED: {err}", err=True)
        sys.exit(1)
    signer = key_fingerprint(bytes.fromhex(loaded.signer)) if loaded.signer else "unsigned"
    click.echo(f"{bundle}: OK")
    click.echo(f"  revision  {loaded.revision}")
    click.echo(f"  signer    {signer}")
    versions: dict[str, list[int]] = {}
    for journey, version in sorted(loaded.plans):
        versions.setdefault(journey, []).append(version)
    latest = loaded.index.get("latest") or {}
    click.echo(f"  journeys  {len(versions)}, {len(loaded.plans)} version(s)")
    width = max((len(journey) for journey in versions), default=0)
    for journey, held in versions.items():
        shown = ", ".join(f"v{v}" + (" (latest)" if latest.get(journey) == v and len(held) > 1 else "") for v in held)
        click.echo(f"    {journey.ljust(width)}  {shown}")


COMMANDS: list[click.Command] = [build_command, keygen_command, verify_command]
