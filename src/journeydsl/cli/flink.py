"""`journeydsl flink`: the job on a Flink cluster (`submit`) and a local cluster from the wheel (`local-cluster`).

    journeydsl flink local-cluster start|stop|status [--dir DIR]
    journeydsl flink submit BUNDLE --source DIR|kafka://BROKERS/TOPIC --sink postgresql://...|DIR [-m HOST:PORT]
        [--parallelism N] [--checkpoint-dir DIR] [--restore CHECKPOINT] [--detach]

Where it sits: the click layer over journeydsl.flink (cluster.py, sinks.py, job.py), imported only when a `flink`
command runs; without PyFlink or Java the command says what to install. Exit 1 for a job that fails or a cluster
that cannot be reached or started, 2 for bad options (click's usage errors).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NoReturn

import click


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _require_flink() -> None:
    from journeydsl.flink import FlinkUnavailable, require_flink

    try:
        require_flink()
    except FlinkUnavailable as err:
        _fail(str(err).replace("--engine flink", "journeydsl flink"))


def _seconds(text: str, option: str) -> float:
    """A duration such as 500ms, 5s, 2m, 1h, 1d (a bare number is seconds)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    for unit in sorted(units, key=len, reverse=True):
        if text.endswith(unit):
            number, scale = text[: -len(unit)], units[unit]
            break
    else:
        number, scale = text, 1.0
    try:
        value = float(number) * scale
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise click.BadParameter(f"a positive duration such as 5s, 2m or 1d, not {text!r}", param_hint=option)
    return value


@click.group("flink")
def flink_group() -> None:
    """Run journeys on an Apache Flink cluster (the flink extra; Java 17)."""


# ---------------------------------------------------------------------------------------------- local-cluster


@flink_group.group("local-cluster")
def local_cluster_group() -> None:
    """A JobManager and a TaskManager from the apache-flink wheel, on 127.0.0.1, in thread mode."""


_dir_option = click.option(
    "--dir",
    "home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The cluster's folder (default: $XDG_STATE_HOME/journeydsl/flink-cluster).",
)


@local_cluster_group.command("start")
@_dir_option
@click.option("--slots", type=click.IntRange(1, 128), default=2, show_default=True, help="Task slots.")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="REST port (default: a free one).")
@click.option("--timeout", default="90s", show_default=True, help="How long to wait for the cluster to be ready.")
def start_command(home: Path | None, slots: int, port: int | None, timeout: str) -> None:
    """Lay out and start the local cluster; print its REST address (for `submit -m`)."""
    _require_flink()
    from journeydsl.flink.cluster import ClusterError, LocalCluster

    wait = _seconds(timeout, "--timeout")
    cluster = LocalCluster(home)
    try:
        address = cluster.start(slots=slots, rest_port=port, timeout=wait)
    except ClusterError as err:
        _fail(str(err))
    click.echo(address)
    click.echo(f"started a Flink cluster in {cluster.home} (web UI http://{address})", err=True)


@local_cluster_group.command("stop")
@_dir_option
def stop_command(home: Path | None) -> None:
    """Stop the local cluster (its JVMs; running jobs end with it)."""
    from journeydsl.flink.cluster import LocalCluster

    cluster = LocalCluster(home)
    if cluster.stop():
        click.echo(f"stopped the Flink cluster in {cluster.home}", err=True)
    else:
        click.echo(f"no Flink cluster of {cluster.home} was running", err=True)


@local_cluster_group.command("status")
@_dir_option
def status_command(home: Path | None) -> None:
    """Print the cluster's address, task managers, slots and jobs; exit 1 when it is not running."""
    from journeydsl.flink.cluster import LocalCluster

    cluster = LocalCluster(home)
    seen = cluster.status()
    info = cluster.info()
    if seen is None or info is None:
        _fail(f"no Flink cluster of {cluster.home} is running")
    click.echo(
        f"{info.address}  taskmanagers {seen.get('taskmanagers')}  slots {seen.get('slots-available')}/"
        f"{seen.get('slots-total')} free  jobs running {seen.get('jobs-running')}  flink {seen.get('flink-version')}"
    )


# ---------------------------------------------------------------------------------------------- submit


def _source(text: str, follow: float | None) -> Any:
    """--source: a folder (or file) of JSONL events, or kafka://BROKER[,BROKER]/TOPIC[?group=ID]."""
    if text.startswith("kafka://"):
        from journeydsl.flink.cluster import kafka_source

        try:
            return kafka_source(text)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--source") from None
    from journeydsl.flink.job import file_source

    path = Path(text)
    if not path.exists():
        raise click.BadParameter(f"no such folder or file: {text}", param_hint="--source")
    return file_source(str(path.resolve()), monitor_every=follow)


@flink_group.command("submit")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=True, path_type=Path))
@click.option("--source", "source_text", required=True, help="A folder of JSONL event files, or kafka://BROKERS/TOPIC.")
@click.option("--sink", "sink_text", required=True, help="postgresql://... (the service's outbox) or a folder.")
@click.option("-m", "--jobmanager", "address", default=None, help="The cluster's REST HOST:PORT (default: local).")
@click.option("--dir", "home", type=click.Path(file_okay=False, path_type=Path), default=None, help="Local cluster.")
@click.option("--parallelism", type=click.IntRange(1, 128), default=1, show_default=True, help="Parallel tasks.")
@click.option("--checkpoint-dir", default=None, help="Where checkpoints go (a folder or a URI such as s3://...).")
@click.option("--checkpoint-interval", default="5s", show_default=True, help="Time between checkpoints.")
@click.option("--restore", default=None, help="Start from a retained checkpoint or savepoint (a chk-N folder).")
@click.option("--public-key", default=None, help="Refuse a bundle not signed by this Ed25519 key.")
@click.option("--until", default=None, help="No timer fires past this time (RFC 3339 or epoch s).")
@click.option("--follow", default=None, help="Keep watching the source folder for new files, every DURATION.")
@click.option("--dead-letter", "dead_dir", default=None, help="A folder for refused events (JSONL part files).")
@click.option("--jar", "jars", multiple=True, help="A connector jar to ship with the job (Kafka); repeatable.")
@click.option("--detach", is_flag=True, help="Print the job id and return instead of waiting for the job to end.")
@click.option("--timeout", default=None, help="Stop waiting (exit 1) after this long; the job runs on.")
def submit_command(
    bundle: Path,
    source_text: str,
    sink_text: str,
    address: str | None,
    home: Path | None,
    parallelism: int,
    checkpoint_dir: str | None,
    checkpoint_interval: str,
    restore: str | None,
    public_key: str | None,
    until: str | None,
    follow: str | None,
    dead_dir: str | None,
    jars: tuple[str, ...],
    detach: bool,
    timeout: str | None,
) -> None:
    """Submit the journeys of BUNDLE as a Flink job: events from --source, records to --sink."""
    from journeydsl.runtime.timeparse import TimeError, parse_time

    interval = _seconds(checkpoint_interval, "--checkpoint-interval")
    follow_every = _seconds(follow, "--follow") if follow is not None else None
    wait = _seconds(timeout, "--timeout") if timeout is not None else None
    end: float | None = None
    if until is not None:
        try:
            end = parse_time(until)
        except TimeError as err:
            raise click.BadParameter(str(err), param_hint="--until") from None
    for jar in jars:
        if not Path(jar).is_file():
            raise click.BadParameter(f"no such jar: {jar}", param_hint="--jar")
    postgres = sink_text.startswith(("postgresql://", "postgres://"))
    if not postgres and "://" in sink_text:
        raise click.BadParameter("a postgresql:// URL or a folder", param_hint="--sink")
    _require_flink()
    from journeydsl.flink.cluster import (
        ClusterError,
        LocalCluster,
        Submission,
        job_failure,
        parse_address,
        submit,
        wait_for_job,
    )
    from journeydsl.flink.job import JobSpec, build_job
    from journeydsl.runtime.bundle import BundleError
    from journeydsl.runtime.store import StoreError

    if address is None:
        info = LocalCluster(home).info()
        if info is None:
            _fail("no local cluster: start one with `journeydsl flink local-cluster start`, or give -m HOST:PORT")
        address = info.address
    try:
        parse_address(address)
    except ValueError as err:
        raise click.BadParameter(str(err), param_hint="-m") from None
    source = _source(source_text, follow_every)
    try:
        spec = JobSpec.load(str(bundle), public_key=public_key, until=end, live=follow_every is not None)
    except BundleError as err:
        _fail(f"refusing bundle {bundle}: {err}")
    if postgres:
        from journeydsl.flink.sinks import prepare_outbox

        try:
            shown = prepare_outbox(sink_text)
        except StoreError as err:
            _fail(str(err))
    else:
        shown = str(Path(sink_text).resolve())
        try:
            Path(shown).mkdir(parents=True, exist_ok=True)
        except OSError as err:
            _fail(f"cannot use {sink_text} as the sink folder: {err}")

    def build(env: Any) -> None:
        from journeydsl.flink.sinks import jsonl_sink, outbox_sink

        streams = build_job(env, source, spec)
        if postgres:
            outbox_sink(streams.records, sink_text)
        else:
            jsonl_sink(streams.records, shown)
        letters = dead_dir or (None if postgres else shown)
        if letters is not None:
            jsonl_sink(streams.dead_letters, str(Path(letters).resolve()), prefix="dead-letters")

    submission = Submission(
        address,
        parallelism=parallelism,
        checkpoint_dir=checkpoint_dir,
        checkpoint_interval=interval,
        restore=restore,
        jars=tuple(str(Path(jar).resolve()) for jar in jars),
    )
    try:
        job_id = submit(submission, build)
    except ClusterError as err:
        _fail(str(err))
    click.echo(job_id)
    click.echo(f"submitted job {job_id} to {address}: records to {shown}", err=True)
    if detach or follow_every is not None:
        return
    try:
        state = wait_for_job(address, job_id, wait)
    except (ClusterError, TimeoutError) as err:
        _fail(str(err))
    if state != "FINISHED":
        _fail(f"job {job_id} {state.lower()}: {job_failure(address, job_id)}")
    click.echo(f"job {job_id} finished", err=True)


COMMANDS: list[click.Command] = [flink_group]
