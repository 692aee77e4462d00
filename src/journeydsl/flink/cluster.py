"""A local Flink cluster from the apache-flink wheel (a JobManager and a TaskManager on loopback), and a remote
execution environment to submit jobs to any cluster by its REST address.

`LocalCluster(home).start()` lays out a Flink distribution in `home` (the wheel's `bin/` and `conf/` log files
copied; its jars linked, with `opt/flink-python-*.jar` in `lib/`, which thread mode needs on the TaskManager's class
path), writes `conf/config.yaml` and runs `bin/start-cluster.sh`. Every endpoint binds 127.0.0.1 (Flink's REST
endpoint binds every interface unless told otherwise); the Python functions run in thread mode, inside the
TaskManager's JVM, with this interpreter (its folder first on PATH: pemja, Flink's embedded Python, looks up the
interpreter's paths by running `python` from PATH). Waits are bounded: the cluster is ready once `/overview` shows
its slots, and a cluster that is not ready in time is stopped and its log quoted.

Where it sits: the flink layer, above the runtime; pyflink is imported only by `remote_environment`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

JAVA17: Final = Path("/usr/lib/jvm/java-17-openjdk-amd64")
LOOPBACK: Final = "127.0.0.1"
READY_TIMEOUT: Final = 90.0  # seconds for start-cluster.sh and the REST endpoint with all slots (two JVMs on 2 cores)
STOP_TIMEOUT: Final = 30.0
DEFAULT_SLOTS: Final = 2
# The local cluster notices a killed TaskManager within seconds (Flink's defaults, 10 s heartbeats and a 50 s
# timeout, suit a data centre's network, not one machine): recovery tests and a laptop see restarts promptly.
HEARTBEAT_INTERVAL_MS: Final = 2000
HEARTBEAT_TIMEOUT_MS: Final = 20000


class ClusterError(Exception):
    """The local cluster cannot be laid out, started, reached or stopped; the message says why."""


@dataclass(frozen=True, slots=True)
class ClusterInfo:
    """What `home/cluster.json` records about a laid-out cluster."""

    home: str
    rest_port: int
    rpc_port: int
    slots: int
    python: str
    checkpoints: str

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.rest_port}"


def default_home() -> Path:
    """The folder of the local cluster: $XDG_STATE_HOME/journeydsl/flink-cluster (~/.local/state/...)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "journeydsl" / "flink-cluster"


def flink_distribution() -> Path:
    """The Flink distribution inside the installed pyflink package (bin/, lib/, opt/, conf/)."""
    spec = importlib.util.find_spec("pyflink")
    if spec is None or not spec.submodule_search_locations:
        raise ClusterError("PyFlink is not installed: install journeydsl[flink] (make flink)")
    dist = Path(next(iter(spec.submodule_search_locations)))
    if not (dist / "bin" / "start-cluster.sh").is_file() or not list((dist / "opt").glob("flink-python-*.jar")):
        raise ClusterError(f"the PyFlink install at {dist} lacks bin/start-cluster.sh or opt/flink-python-*.jar")
    return dist


def java_home() -> Path:
    """JAVA_HOME when set, else Debian's Java 17, else the JDK of `java` on PATH; ClusterError when none."""
    given = os.environ.get("JAVA_HOME")
    candidates = [Path(given)] if given else [JAVA17]
    on_path = shutil.which("java")
    if on_path and not given:
        candidates.append(Path(os.path.realpath(on_path)).parent.parent)
    for home in candidates:
        if (home / "bin" / "java").is_file() and os.access(home / "bin" / "java", os.X_OK):
            return home
    where = f"JAVA_HOME={given} has no bin/java" if given else "no Java found"
    raise ClusterError(f"Flink needs Java 17: {where}; install Debian's openjdk-17-jre-headless (make flink)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def parse_address(text: str) -> tuple[str, int]:
    """HOST:PORT of a cluster's REST endpoint; ValueError naming what is wrong."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"a cluster address is HOST:PORT with a port from 1 to 65535, not {text!r}")
    return host.strip("[]"), int(port)


def overview(address: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The cluster's /overview (task managers, slots, jobs), or None when nothing answers at `address`."""
    try:
        answer = httpx.get(f"http://{address}/overview", timeout=timeout)
        data = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return data if isinstance(data, dict) and "slots-total" in data else None


def _yaml_text(value: str) -> str:
    return json.dumps(value)  # a JSON string is a YAML scalar, whatever it holds


class LocalCluster:
    """A JobManager and one TaskManager started from the wheel's scripts, in `home`."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = (home or default_home()).resolve()

    # ---- layout
    @property
    def info_file(self) -> Path:
        return self.home / "cluster.json"

    def info(self) -> ClusterInfo | None:
        """What the last `prepare` recorded, or None for a folder that holds no cluster."""
        try:
            data = json.loads(self.info_file.read_text())
            return ClusterInfo(**data)
        except (OSError, ValueError, TypeError):
            return None

    def prepare(self, slots: int = DEFAULT_SLOTS, rest_port: int | None = None) -> ClusterInfo:
        """Lay out the distribution and write the configuration (fresh ports; an older layout is replaced)."""
        if slots < 1:
            raise ClusterError(f"a cluster needs at least one task slot, not {slots}")
        if rest_port is not None and not port_is_free(rest_port):
            raise ClusterError(f"port {rest_port} on {LOOPBACK} is in use: pick another --port or stop what uses it")
        dist = flink_distribution()
        try:
            for part in ("bin", "lib", "opt", "plugins", "conf"):
                shutil.rmtree(self.home / part, ignore_errors=True)
            for part in ("log", "run", "checkpoints", "savepoints", "tmp"):
                (self.home / part).mkdir(parents=True, exist_ok=True)
            for old in (self.home / "log").iterdir():  # a failed start quotes this start's logs, not older ones
                old.unlink()
            shutil.copytree(dist / "bin", self.home / "bin")
            # The jars (300 MB) are linked, not copied; lib/ also gets flink-python, which thread mode needs there.
            for part in ("lib", "opt", "plugins"):
                (self.home / part).mkdir()
            for jar in [*(dist / "lib").glob("*.jar"), *(dist / "opt").glob("flink-python-*.jar")]:
                (self.home / "lib" / jar.name).symlink_to(jar)
            for jar in (dist / "opt").glob("*.jar"):
                (self.home / "opt" / jar.name).symlink_to(jar)
            (self.home / "conf").mkdir()
            for name in ("log4j.properties", "log4j-console.properties", "log4j-cli.properties"):
                if (dist / "conf" / name).is_file():
                    shutil.copy(dist / "conf" / name, self.home / "conf" / name)
            (self.home / "conf" / "workers").write_text(f"{LOOPBACK}\n")
            (self.home / "conf" / "masters").write_text(f"{LOOPBACK}:{rest_port or 8081}\n")
            info = ClusterInfo(
                home=str(self.home),
                rest_port=rest_port or free_port(),
                rpc_port=free_port(),
                slots=slots,
                python=sys.executable,
                checkpoints=(self.home / "checkpoints").as_uri(),
            )
            (self.home / "conf" / "config.yaml").write_text(self._config(info, dist))
            self.info_file.write_text(json.dumps(asdict(info), indent=2) + "\n")
        except OSError as err:
            raise ClusterError(f"cannot lay out a Flink cluster in {self.home}: {err}") from None
        return info

    def _config(self, info: ClusterInfo, dist: Path) -> str:
        settings: dict[str, str | int] = {
            "env.java.opts.all": _java_options(dist),
            "env.pid.dir": str(self.home / "run"),
            "env.log.dir": str(self.home / "log"),
            "io.tmp.dirs": str(self.home / "tmp"),
            "jobmanager.rpc.address": LOOPBACK,
            "jobmanager.rpc.port": info.rpc_port,
            "jobmanager.bind-host": LOOPBACK,
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.host": LOOPBACK,
            "taskmanager.bind-host": LOOPBACK,
            "taskmanager.memory.process.size": "1728m",
            "taskmanager.numberOfTaskSlots": info.slots,
            "rest.address": LOOPBACK,
            "rest.bind-address": LOOPBACK,
            "rest.port": info.rest_port,
            "parallelism.default": 1,
            "python.execution-mode": "thread",
            "python.executable": info.python,
            "python.client.executable": info.python,
            "execution.checkpointing.dir": info.checkpoints,
            "execution.checkpointing.savepoint-dir": (self.home / "savepoints").as_uri(),
            "heartbeat.interval": HEARTBEAT_INTERVAL_MS,
            "heartbeat.timeout": HEARTBEAT_TIMEOUT_MS,
        }
        lines = ["# Written by `journeydsl flink local-cluster start`: every endpoint on loopback, thread mode."]
        for key, value in settings.items():
            lines.append(f"{key}: {_yaml_text(value) if isinstance(value, str) else value}")
        return "\n".join(lines) + "\n"

    # ---- processes
    def _env(self) -> dict[str, str]:
        # PyFlink's gateway launcher writes FLINK_LIB_DIR, FLINK_HOME, ... (the wheel's own folders) into this
        # process's environment: a TaskManager started after a job was submitted from here would inherit them and
        # run without lib/flink-python (ClassNotFoundException). The cluster's folders are set whole instead.
        env = {name: value for name, value in os.environ.items() if not name.lstrip("_").startswith("FLINK_")}
        env["JAVA_HOME"] = str(java_home())
        env["FLINK_HOME"] = str(self.home)
        for part in ("conf", "lib", "opt", "plugins", "bin", "log"):
            env[f"FLINK_{part.upper()}_DIR"] = str(self.home / part)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        return env

    def _script(self, *args: str, timeout: float) -> str:
        try:
            done = subprocess.run(
                [str(self.home / "bin" / args[0]), *args[1:]],
                env=self._env(),
                cwd=self.home,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise ClusterError(f"bin/{args[0]} did not finish within {timeout:.0f} s") from None
        except OSError as err:
            raise ClusterError(f"cannot run bin/{args[0]}: {err}") from None
        if done.returncode != 0:
            raise ClusterError(f"bin/{args[0]} failed ({done.returncode}): {(done.stderr or done.stdout).strip()}")
        return done.stdout

    def pids(self, role: str | None = None) -> list[int]:
        """Live processes of this cluster from its pid files; `role` "standalonesession" or "taskexecutor"."""
        found: list[int] = []
        for pid_file in sorted((self.home / "run").glob("*.pid")):
            if role is not None and not pid_file.name.endswith(f"-{role}.pid"):
                continue
            for word in pid_file.read_text().split():
                if word.isdigit() and _alive(int(word)) and self._ours(int(word)):
                    found.append(int(word))
        return found

    def _ours(self, pid: int) -> bool:
        """Whether `pid` is a JVM of this cluster (its command line names the cluster's folder): a pid file left
        behind by a crash may name a process that has since reused the number, which must not be signalled."""
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return not Path("/proc/self").exists()  # no /proc: trust the pid file
        return str(self.home).encode() in command

    def status(self) -> dict[str, Any] | None:
        """The running cluster's /overview, or None when it is not running."""
        info = self.info()
        return None if info is None else overview(info.address)

    def start(self, slots: int = DEFAULT_SLOTS, rest_port: int | None = None, timeout: float = READY_TIMEOUT) -> str:
        """Start the cluster (laid out afresh) and wait until its slots are registered; its REST address."""
        info = self.info()
        if info is not None and self.pids():
            if overview(info.address) is not None:
                raise ClusterError(f"a cluster from {self.home} is already running at {info.address}")
            self.stop()  # half a cluster (one JVM left over): start clean
        java_home()  # a missing Java is named before anything is laid out
        info = self.prepare(slots, rest_port)
        for old in (self.home / "run").glob("*.pid"):
            old.unlink()
        self._script("start-cluster.sh", timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            seen = overview(info.address)
            if seen is not None and seen["slots-total"] >= info.slots:
                return info.address
            if not self.pids("standalonesession"):
                break  # the JobManager died: no point waiting
            time.sleep(0.5)
        reason = self._log_problem()
        self.stop()
        raise ClusterError(f"the Flink cluster in {self.home} did not come up within {timeout:.0f} s{reason}")

    def _log_problem(self) -> str:
        """The first telling line of the cluster's logs (a port in use, Java errors), for the message."""
        for log in sorted((self.home / "log").glob("*")):
            try:
                text = log.read_text(errors="replace")
            except OSError:
                continue
            found = re.search(r"^.*(BindException|Address already in use|Exception|Error:).*$", text, re.MULTILINE)
            if found:
                return f": {log.name}: {found.group(0).strip()[:300]}"
        return ""

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop the cluster's JVMs: SIGTERM (what stop-cluster.sh sends, without its three JVM starts to read the
        configuration), then SIGKILL for any left at the deadline; False when none was running."""
        running = self.pids()
        if not running:
            return False
        for pid in running:
            _signal(pid, signal.SIGTERM)
        _wait_gone(running, timeout)
        for pid in running:
            _signal(pid, signal.SIGKILL)
        _wait_gone(running, 5.0)
        for pid_file in (self.home / "run").glob("*.pid"):
            pid_file.unlink()
        return True

    def kill_taskmanager(self) -> int:
        """SIGKILL the TaskManager (a crash, for recovery tests); its pid."""
        pids = self.pids("taskexecutor")
        if not pids:
            raise ClusterError(f"no TaskManager of {self.home} is running")
        for pid in pids:
            _signal(pid, signal.SIGKILL)
        _wait_gone(pids, 10.0)
        for pid_file in (self.home / "run").glob("*-taskexecutor.pid"):
            pid_file.unlink()
        return pids[0]

    def taskmanagers(self) -> set[str]:
        """The ids of the TaskManagers registered with the JobManager (a killed one stays until its heartbeat
        times out)."""
        info = self.info()
        try:
            answer = httpx.get(f"http://{info.address}/taskmanagers", timeout=2.0) if info else None
            listed = answer.json().get("taskmanagers", []) if answer is not None and answer.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError):
            return set()
        return {str(tm.get("id")) for tm in listed if isinstance(tm, dict)}

    def start_taskmanager(self, timeout: float = READY_TIMEOUT) -> None:
        """Start another TaskManager (after `kill_taskmanager`) and wait until it is registered."""
        if self.info() is None:
            raise ClusterError(f"no cluster is laid out in {self.home}")
        before = self.taskmanagers()
        self._script("taskmanager.sh", "start", timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.taskmanagers() - before:
                return
            time.sleep(0.5)
        raise ClusterError(f"the TaskManager of {self.home} did not register within {timeout:.0f} s")


def _java_options(dist: Path) -> str:
    """The wheel's JVM options for Java 17 (--add-opens ...), read from its config.yaml (`env.java.opts.all`)."""
    try:
        text = (dist / "conf" / "config.yaml").read_text()
    except OSError:
        return ""
    found = re.search(r"^\s+all:\s*(--.*)$", text, re.MULTILINE)
    return found.group(1).strip() if found else ""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (our own child, not reaped yet) is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return True


def _signal(pid: int, number: signal.Signals) -> None:
    try:
        os.kill(pid, number)
    except (ProcessLookupError, PermissionError):
        pass


def _wait_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.1)


def remote_environment(address: str, config: dict[str, str]) -> Any:
    """A PyFlink StreamExecutionEnvironment whose jobs go to the cluster at `address` (its REST endpoint).

    PyFlink's `get_execution_environment` always runs a local mini-cluster outside `flink run`; the Java
    `createRemoteEnvironment` submits the job graph over REST instead, so a job is built in this process and runs
    on the cluster's TaskManagers (which need journeydsl importable by their `python.executable`)."""
    from pyflink.common import Configuration  # type: ignore[import-untyped]
    from pyflink.datastream import StreamExecutionEnvironment  # type: ignore[import-untyped]
    from pyflink.java_gateway import get_gateway  # type: ignore[import-untyped]

    host, port = parse_address(address)
    configuration = Configuration()
    for key, value in config.items():
        configuration.set_string(key, value)
    gateway = get_gateway()
    java_env = gateway.jvm.org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
    jars = gateway.new_array(gateway.jvm.String, 0)
    return StreamExecutionEnvironment(
        java_env.createRemoteEnvironment(host, port, configuration._j_configuration, jars)
    )


# ---------------------------------------------------------------------------------------------- submitting jobs

TERMINAL: Final = frozenset({"FINISHED", "FAILED", "CANCELED"})


@dataclass(frozen=True, slots=True)
class Submission:
    """How a job runs on a cluster: where, how wide, and its checkpoints and restarts."""

    address: str  # the cluster's REST endpoint, HOST:PORT
    parallelism: int = 1
    checkpoint_dir: str | None = None  # a folder or URI; None: the cluster's own (`execution.checkpointing.dir`)
    checkpoint_interval: float = 5.0  # seconds
    restarts: int = 10  # restarts from the last checkpoint before the job fails (a TaskManager lost, a sink down)
    restart_delay: float = 2.0  # seconds
    restore: str | None = None  # a retained checkpoint or savepoint to start from
    jars: tuple[str, ...] = ()  # connector jars shipped with the job (Kafka)
    name: str = "journeydsl"

    def config(self) -> dict[str, str]:
        """The job's Flink configuration (keys of Flink 2.x)."""
        if self.parallelism < 1:
            raise ValueError(f"parallelism must be at least 1, not {self.parallelism}")
        config = {
            "pipeline.name": self.name,
            "parallelism.default": str(self.parallelism),
            "python.execution-mode": "thread",
            # The TaskManagers run the job's Python with this interpreter (same path on every host: a venv or an
            # image with journeydsl[flink] installed).
            "python.executable": sys.executable,
            "python.client.executable": sys.executable,
            "execution.checkpointing.interval": f"{max(1, int(self.checkpoint_interval * 1000))} ms",
            "execution.checkpointing.mode": "EXACTLY_ONCE",
            # Kept when the job is cancelled, so it can be resumed with --restore.
            "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": str(self.restarts),
            "restart-strategy.fixed-delay.delay": f"{max(1, int(self.restart_delay * 1000))} ms",
        }
        if self.checkpoint_dir is not None:
            config["execution.checkpointing.dir"] = _uri(self.checkpoint_dir)
        if self.restore is not None:
            config["execution.state-recovery.path"] = _uri(self.restore)
        if self.jars:
            config["pipeline.jars"] = ";".join(_uri(jar) for jar in self.jars)
        return config


def _uri(place: str) -> str:
    """A local path as a file:// URI; a URI (s3://, hdfs://, file://) as it is."""
    return place if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", place) else Path(place).resolve().as_uri()


def job_state(address: str, job_id: str) -> str | None:
    """The job's state (RUNNING, FINISHED, FAILED, ...), or None when the cluster does not answer."""
    try:
        answer = httpx.get(f"http://{address}/jobs/{job_id}", timeout=5.0)
        state = answer.json().get("state") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return str(state) if state is not None else None


def job_failure(address: str, job_id: str) -> str:
    """The first line of the job's root exception, as far as the cluster tells."""
    try:
        answer = httpx.get(f"http://{address}/jobs/{job_id}/exceptions", timeout=5.0)
        data = answer.json() if answer.status_code == 200 else {}
        history = data.get("exceptionHistory", {}).get("entries") or []
        text = str(history[0].get("stacktrace") or history[0].get("exceptionName")) if history else ""
        text = text or str(data.get("root-exception") or "")
    except (httpx.HTTPError, ValueError, AttributeError, IndexError):
        return "the cluster did not say why"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Python errors raised in the job come wrapped in Java frames: their own line is the telling one.
    telling = [line for line in lines if re.search(r"(Error|Exception)\b.*:", line) and " at " not in line[:4]]
    return (telling[-1] if telling else lines[0] if lines else "the cluster did not say why")[:500]


def wait_for_job(address: str, job_id: str, timeout: float | None) -> str:
    """Poll the job until it ends (FINISHED, FAILED, CANCELED); TimeoutError after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    unreachable_since: float | None = None
    while True:
        state = job_state(address, job_id)
        if state in TERMINAL:
            return str(state)
        now = time.monotonic()
        if state is None:
            unreachable_since = unreachable_since or now
            if now - unreachable_since > 30.0:
                raise ClusterError(f"the cluster at {address} stopped answering about job {job_id}")
        else:
            unreachable_since = None
        if deadline is not None and now > deadline:
            raise TimeoutError(f"job {job_id} did not end within {timeout:.0f} s (last state {state})")
        time.sleep(0.5)


def cancel_job(address: str, job_id: str) -> None:
    """Ask the cluster to cancel a job (its checkpoints are retained)."""
    try:
        httpx.patch(f"http://{address}/jobs/{job_id}", params={"mode": "cancel"}, timeout=5.0)
    except httpx.HTTPError as err:
        raise ClusterError(f"cannot cancel job {job_id} at {address}: {err}") from None


def submit(submission: Submission, build: Any) -> str:
    """Build the job in a remote environment (`build(env)` adds sources, the job and sinks) and submit it; its id.

    The cluster must answer at `submission.address` (checked first, so a wrong address is a clear error rather
    than a Java stack trace from the client)."""
    if overview(submission.address) is None:
        raise ClusterError(
            f"no Flink cluster answers at {submission.address} (start one with `journeydsl flink local-cluster start`)"
        )
    env = remote_environment(submission.address, submission.config())
    env.set_parallelism(submission.parallelism)
    if submission.jars:  # also into this client's class loader: the Kafka source is built here
        env.add_jars(*(_uri(jar) for jar in submission.jars))
    build(env)
    try:
        client = env.execute_async(submission.name)
    except Exception as err:  # py4j wraps the cluster's refusal (no slots, a bad restore path) in its own error
        reason = str(err).strip().splitlines()
        causes = [line for line in reason if line.startswith("Caused by:")]
        raise ClusterError(f"the cluster refused the job: {(causes or reason or ['?'])[-1]}") from None
    return str(client.get_job_id())


def kafka_source(url: str) -> Any:
    """kafka://BROKER[,BROKER...]/TOPIC[?group=ID] as a job Source (NOT TESTED here: no broker on this machine).

    Needs the Kafka connector jar shipped with the job (`submit --jar flink-sql-connector-kafka-*.jar`, see
    docs/scale-out.md). Starts from the group's committed offsets (committed on checkpoints), else the earliest.
    Producers must key messages by customer id, so each customer's events stay in one partition, in order."""
    parts = urlsplit(url)
    topic = parts.path.strip("/")
    query = dict(item.partition("=")[::2] for item in parts.query.split("&") if item)
    group = query.pop("group", "journeydsl")
    if parts.scheme != "kafka" or not parts.netloc or not topic or "/" in topic or query:
        raise ValueError(f"a Kafka source is kafka://BROKER[,BROKER]/TOPIC[?group=ID], not {url!r}")

    def make(env: Any) -> Any:
        from pyflink.common import WatermarkStrategy
        from pyflink.common.serialization import SimpleStringSchema  # type: ignore[import-untyped]
        from pyflink.datastream.connectors.kafka import (  # type: ignore[import-untyped]
            KafkaOffsetResetStrategy,
            KafkaOffsetsInitializer,
            KafkaSource,
        )

        source = (
            KafkaSource.builder()
            .set_bootstrap_servers(parts.netloc)
            .set_topics(topic)
            .set_group_id(group)
            .set_starting_offsets(KafkaOffsetsInitializer.committed_offsets(KafkaOffsetResetStrategy.EARLIEST))
            .set_value_only_deserializer(SimpleStringSchema())
            .build()
        )
        return env.from_source(source, WatermarkStrategy.no_watermarks(), "events")

    return make
