"""`run --engine flink`: the job on a Flink mini-cluster inside this process, in thread mode.

PyFlink starts a JVM (its gateway) on first use; the mini-cluster runs there and the Python functions run in
interpreters embedded in the JVM (thread mode: `python.execution-mode: thread`, about 30x the throughput of the
default process mode on this kind of machine). Records and dead letters go to file sinks in a temporary folder
and are read back once the job ends: polling them one by one through `execute_and_collect` costs two gateway calls
a record, about three times the whole job's time on 50,000 records.

Input is a file, so the run is bounded: the end of input moves the watermark to the end of time, and `until`
(the run's --until, or else the clock `run` would end at) keeps timers from firing past it.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from py4j.protocol import Py4JError, Py4JJavaError  # type: ignore[import-untyped]
from pyflink.common import Configuration, Encoder  # type: ignore[import-untyped]
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment  # type: ignore[import-untyped]
from pyflink.datastream.connectors.file_system import FileSink  # type: ignore[import-untyped]

from journeydsl.flink.job import MAX_PARALLELISM, CustomerSteps, JobSpec, build_job, file_source

RECORD: Final = "record"
DEAD: Final = "dead"


class FlinkRunError(Exception):
    """The Flink job failed: the message is the innermost cause Flink reported."""


def python_settings() -> dict[str, str]:
    """Thread mode, with this interpreter and its import path (the embedded interpreter starts from the base
    Python, which does not know this virtual environment's site-packages)."""
    return {
        "python.execution-mode": "thread",
        "python.executable": sys.executable,
        "python.client.executable": sys.executable,
        "python.pythonpath": os.pathsep.join(entry for entry in sys.path if entry),
    }


def loopback_settings() -> dict[str, str]:
    """The mini-cluster's REST endpoint on 127.0.0.1 and a free port (never all interfaces, never a fixed port)."""
    return {"rest.address": "127.0.0.1", "rest.bind-address": "127.0.0.1", "rest.bind-port": "0"}


_GATEWAY_PROCESSES: list[Any] = []  # the JVM PyFlink started, held for the life of this process


def _hold_gateway_process() -> None:
    """PyFlink starts its JVM with `Popen` and drops the object: once collected, Python warns that the process is
    still running and closes the JVM's stdin and stderr pipes under it (in a long process such as a test session,
    at the next garbage collection). Holding the object keeps both for as long as this process lives; the JVM ends
    with it."""
    import pyflink.java_gateway as java_gateway  # type: ignore[import-untyped]

    launch = java_gateway.launch_gateway_server_process
    if getattr(launch, "journeydsl_holds", False):
        return

    def launch_and_hold(env: Any, args: Any) -> Any:
        process = launch(env, args)
        _GATEWAY_PROCESSES.append(process)
        atexit.register(_stop_gateway, process)
        return process

    launch_and_hold.journeydsl_holds = True  # type: ignore[attr-defined]
    java_gateway.launch_gateway_server_process = launch_and_hold


def _stop_gateway(process: Any) -> None:
    """At exit: close the gateway's connections first (objects collected later must not call a JVM that is gone),
    then the JVM's stdin, on which it ends; wait for it a little, then kill it."""
    import pyflink.java_gateway as java_gateway

    gateway = getattr(java_gateway, "_gateway", None)
    try:
        if gateway is not None:
            gateway.close()
    except Exception:  # noqa: BLE001 - exiting anyway; the JVM is stopped below whatever state py4j is in
        pass
    try:
        process.stdin.close()
        process.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        process.kill()
        process.wait(timeout=10)
    finally:
        process.stderr.close()


def environment(parallelism: int, settings: Mapping[str, str] | None = None) -> Any:
    """A streaming environment on an in-process mini-cluster with `parallelism` slots."""
    if not 1 <= parallelism <= MAX_PARALLELISM:
        raise ValueError(f"parallelism must be 1..{MAX_PARALLELISM}, not {parallelism}")
    _hold_gateway_process()
    configuration = Configuration()
    for key, value in {**python_settings(), **loopback_settings(), **(settings or {})}.items():
        configuration.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(configuration)
    env.set_runtime_mode(RuntimeExecutionMode.STREAMING)  # BATCH would hold every timer to the end of a key
    env.set_parallelism(parallelism)
    env.set_max_parallelism(MAX_PARALLELISM)
    return env


def final_clock(events: Path, spec: JobSpec) -> float | None:
    """The clock `run` ends at on these events: the latest time of an event it takes (one the core's check and
    --until accept). Without --until, `run` has fired exactly the timers due up to it, so the job fires those."""
    steps = CustomerSteps(spec)
    latest: float | None = None
    with events.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            checked = steps.check(line)
            if isinstance(checked, tuple) and (latest is None or checked[1] > latest):
                latest = checked[1]
    return latest


@dataclass(frozen=True)
class Pipeline:
    """One events file through one bundle; several share a job (and its start-up) when run together."""

    events: Path
    spec: JobSpec


def run_pipelines(pipelines: Sequence[Pipeline], parallelism: int) -> Iterator[tuple[int, str, str]]:
    """Run the pipelines as one Flink job; then (pipeline index, RECORD or DEAD, JSON text) for every output,
    pipeline by pipeline, in no particular order within one."""
    names = [p.spec.name for p in pipelines]
    if len(set(names)) != len(names):
        raise ValueError("pipelines of one job need distinct spec names")
    with tempfile.TemporaryDirectory(prefix="journeydsl-flink-") as work:
        env = environment(parallelism)
        folders: list[tuple[Path, Path]] = []
        for index, pipeline in enumerate(pipelines):
            streams = build_job(env, file_source(str(pipeline.events)), pipeline.spec)
            records, dead = Path(work, str(index), RECORD), Path(work, str(index), DEAD)
            streams.records.sink_to(_file_sink(records)).name(f"{pipeline.spec.name}: records")
            streams.dead_letters.sink_to(_file_sink(dead)).name(f"{pipeline.spec.name}: dead letters")
            folders.append((records, dead))
        try:
            env.execute("journeydsl run --engine flink")
        except Py4JJavaError as err:
            raise FlinkRunError(root_cause(err)) from None
        except Py4JError as err:  # the gateway itself failed (the JVM died)
            raise FlinkRunError(f"the Flink gateway failed: {err}") from None
        for index, (records, dead) in enumerate(folders):
            for kind, folder in ((RECORD, records), (DEAD, dead)):
                for line in _read_parts(folder):
                    yield index, kind, line


def _file_sink(folder: Path) -> Any:
    return FileSink.for_row_format(str(folder), Encoder.simple_string_encoder()).build()


def _read_parts(folder: Path) -> Iterator[str]:
    # Finished part files only: a name starting with a dot is one still in progress (none once the job ended).
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    yield line.rstrip("\n")


def root_cause(err: Py4JJavaError) -> str:
    """The innermost Java cause of a failed job, which says what went wrong (the outer ones say only where)."""
    throwable = err.java_exception
    seen = 0
    while throwable.getCause() is not None and seen < 50:
        throwable = throwable.getCause()
        seen += 1
    message = throwable.getMessage()
    text = str(message) if message is not None else str(throwable.toString())
    return text.strip().splitlines()[0] if text.strip() else str(throwable.getClass().getName())
