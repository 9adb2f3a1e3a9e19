"""Run a single-node Apache Kafka (KRaft) from Maven Central jars, without Docker.

Docker is not available on the development machines, so tests and local runs get a
real broker this way: Maven resolves the pinned broker jars once into a cache, and
`LocalKafka` formats a private data directory and runs `kafka.Kafka` as a detached
process whose PID is kept in a file, so any later process can find and stop it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "4.1.1"
SCALA = "2.13"
LOG4J_VERSION = "2.24.3"
DEPENDENCY_PLUGIN_VERSION = "3.8.1"

#: Kafka logs this once the broker (and, in combined mode, the controller) is up.
STARTED_MESSAGE = "Kafka Server started"

HOST = "127.0.0.1"

# Kafka 4.1 is built against slf4j-api 1.7, so the binding is log4j-slf4j-impl
# (not log4j-slf4j2-impl, which would leave slf4j 1.7 without a provider).
POM_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 \
https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.safeguard</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>{kafka_version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka_version}</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j_version}</version>
      <scope>runtime</scope>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j_version}</version>
      <scope>runtime</scope>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>{dependency_plugin_version}</version>
      </plugin>
    </plugins>
  </build>
</project>
"""

# Kafka 4.x ships jackson-dataformat-yaml, so log4j2 can read a YAML config.
# The rolling policy keeps a long-lived local broker from filling the disk.
LOG4J2_TEMPLATE = """\
Configuration:
  status: warn
  shutdownHook: disable
  Appenders:
    RollingFile:
      name: File
      fileName: "{log_file}"
      filePattern: "{log_file}.%i"
      append: true
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
      Policies:
        SizeBasedTriggeringPolicy:
          size: 20 MB
      DefaultRolloverStrategy:
        max: 3
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: File
    Logger:
      - name: kafka.request.logger
        level: WARN
        additivity: false
        AppenderRef:
          - ref: File
      - name: state.change.logger
        level: WARN
        additivity: false
        AppenderRef:
          - ref: File
"""

_MVN_TIMEOUT_S = 1800.0
_FORMAT_TIMEOUT_S = 120.0
_POLL_INTERVAL_S = 0.1
_KILL_WAIT_S = 10.0
_TAIL_LINES = 40
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class LocalKafkaError(Exception):
    """Root error of the local Kafka manager.

    `context` carries what a person needs to diagnose it (the tail of the broker
    log or of Maven's output), so the message alone is enough to act on.
    """

    def __init__(self, message: str, *, context: str | None = None) -> None:
        self.message = message
        self.context = context
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.context:
            return f"{self.message}\n--- context ---\n{self.context.rstrip()}"
        return self.message


@dataclass(frozen=True)
class KafkaStatus:
    """What `LocalKafka.status()` found: a live broker's PID and bootstrap, or nothing."""

    running: bool
    pid: int | None
    bootstrap: str | None


# --------------------------------------------------------------------------- helpers


def default_cache_dir() -> Path:
    """Where jars are cached: `$SAFEGUARD_CACHE_DIR`, else `~/.cache/safeguard`."""
    env = os.environ.get("SAFEGUARD_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "safeguard"


def render_pom() -> str:
    """The pinned pom whose runtime dependencies are exactly the broker classpath."""
    return POM_TEMPLATE.format(
        kafka_version=KAFKA_VERSION,
        scala=SCALA,
        log4j_version=LOG4J_VERSION,
        dependency_plugin_version=DEPENDENCY_PLUGIN_VERSION,
    )


def render_server_properties(home: Path, port: int, controller_port: int) -> str:
    """A single-node combined broker+controller config bound to loopback only."""
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(home / "data"),
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "true",
    }
    lines = ["# Written by streams.local_kafka; regenerated on every start."]
    lines += [f"{key}={_escape_property(value)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def _escape_property(value: str) -> str:
    """Escape a value for java.util.Properties (backslashes, e.g. in paths)."""
    return value.replace("\\", "\\\\")


def render_log4j2_config(log_file: Path) -> str:
    """A log4j2 YAML config that sends all broker logging to `log_file`."""
    return LOG4J2_TEMPLATE.format(log_file=str(log_file).replace('"', '\\"'))


def pick_free_port(host: str = HOST) -> int:
    """A port the OS reports free on `host` (bind to 0); may race, like any such pick."""
    return pick_free_ports(1, host)[0]


def pick_free_ports(count: int, host: str = HOST) -> list[int]:
    """`count` distinct free ports, all held open together so none repeats."""
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether a server could listen on `port` now.

    SO_REUSEADDR mirrors the JVM, so a port in TIME_WAIT after our own broker's
    restart still counts as free; only a live listener makes it busy.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def new_cluster_id() -> str:
    """A KRaft cluster id: URL-safe base64 of a random UUID, unpadded (22 chars).

    Like Kafka's own `Uuid.randomUuid()`, ids starting with '-' are redrawn: about
    1 in 64 would, and StorageTool's argument parser then reads `-t -xyz…` as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _tail(path: Path, lines: int = _TAIL_LINES) -> str:
    """The last `lines` lines of a text file, or '' if it does not exist."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _tail_text(text: str, lines: int = _TAIL_LINES) -> str:
    """The last `lines` non-blank lines of tool output, without colour codes."""
    clean = [line for line in _ANSI_ESCAPE.sub("", text).splitlines() if line.strip()]
    return "\n".join(clean[-lines:])


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock, so concurrent processes do not race on one directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _which(tool: str) -> str:
    """Resolve `tool` on PATH (java also via $JAVA_HOME), or explain what to install."""
    if tool == "java":
        java_home = os.environ.get("JAVA_HOME")
        if java_home:
            candidate = Path(java_home) / "bin" / "java"
            if os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which(tool)
    if found is None:
        hint = {"java": "a Java 17+ runtime (e.g. openjdk-17-jre-headless)", "mvn": "maven"}
        raise LocalKafkaError(
            f"`{tool}` not found on PATH; install {hint.get(tool, tool)} to run a local Kafka"
        )
    return found


def _write_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename, so readers never see a half-written file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- fetching


def fetch_kafka_libs(cache_dir: Path | None = None) -> Path:
    """Resolve the broker jars into `<cache>/kafka-<version>/libs` once; return that dir.

    Idempotent: a marker (holding the pom's hash) is written only after Maven
    succeeded and the jars were moved into place, so an interrupted download or a
    changed pin is redone rather than trusted.
    """
    root = (cache_dir or default_cache_dir()) / f"kafka-{KAFKA_VERSION}"
    libs = root / "libs"
    marker = root / ".complete"
    pom_text = render_pom()
    digest = hashlib.sha256(pom_text.encode("utf-8")).hexdigest()

    def complete() -> bool:
        try:
            return marker.read_text(encoding="utf-8").strip() == digest and libs.is_dir()
        except OSError:
            return False

    if complete():
        return libs
    with _file_lock(root / ".lock"):
        if complete():  # another process finished while we waited for the lock
            return libs
        mvn = _which("mvn")
        _which("java")  # Maven needs it too; fail with the clearer message
        marker.unlink(missing_ok=True)
        partial = root / "libs.partial"
        shutil.rmtree(partial, ignore_errors=True)
        pom = root / "pom.xml"
        pom.write_text(pom_text, encoding="utf-8")
        cmd = [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ]
        try:
            # Fixed argument list, no shell; mvn is resolved from PATH on purpose.
            result = subprocess.run(  # noqa: S603
                cmd,
                capture_output=True,
                text=True,
                timeout=_MVN_TIMEOUT_S,
                check=False,
                cwd=root,
            )
        except subprocess.TimeoutExpired as exc:
            output = _decode(exc.stdout) + _decode(exc.stderr)
            raise LocalKafkaError(
                f"mvn did not finish resolving Kafka {KAFKA_VERSION} in {_MVN_TIMEOUT_S:.0f}s",
                context=_tail_text(output),
            ) from exc
        if result.returncode != 0:
            raise LocalKafkaError(
                f"mvn failed (exit {result.returncode}) resolving Kafka {KAFKA_VERSION} "
                f"into {partial}",
                context=_tail_text(result.stdout + result.stderr),
            )
        broker_jar = partial / f"kafka_{SCALA}-{KAFKA_VERSION}.jar"
        if not broker_jar.is_file():
            raise LocalKafkaError(
                f"mvn succeeded but {broker_jar.name} is missing from {partial}",
                context=_tail_text(result.stdout + result.stderr),
            )
        shutil.rmtree(libs, ignore_errors=True)
        partial.replace(libs)
        _write_atomic(marker, digest + "\n")
    return libs


def _decode(data: str | bytes | None) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


# --------------------------------------------------------------------------- processes


def _pid_alive(pid: int) -> bool:
    """Whether `pid` is a live process; a zombie (exited, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # no /proc: trust kill(0)
    # The state letter follows the parenthesised command name, which may contain spaces.
    state = stat.rpartition(")")[2].split()[:1]
    return state != ["Z"]


def _cmdline(pid: int) -> list[str] | None:
    """The argv of `pid` from /proc, or None if it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def _tcp_open(port: int, host: str = HOST, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class LocalKafka:
    """A single-node KRaft Kafka living in `home`, started and stopped by PID file.

    `home` holds server.properties, the log4j2 config, the data directory, the
    logs (`kafka.log` from log4j, `kafka.out` for JVM stdout/stderr), `kafka.pid`
    and `kafka.json` (pid, ports, bootstrap). Nothing touches disk until `fetch()`
    or `start()` is called.
    """

    def __init__(
        self,
        home: Path,
        cache_dir: Path | None = None,
        port: int | None = None,
        controller_port: int | None = None,
        heap: str = "512m",
    ) -> None:
        self.home = Path(home)
        self.cache_dir = cache_dir
        self.port = port
        self.controller_port = controller_port
        self.heap = heap
        self._proc: subprocess.Popen[bytes] | None = None

    # paths ---------------------------------------------------------------

    @property
    def properties_file(self) -> Path:
        return self.home / "server.properties"

    @property
    def log4j_file(self) -> Path:
        return self.home / "log4j2.yaml"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    @property
    def out_file(self) -> Path:
        return self.home / "kafka.out"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    @property
    def state_file(self) -> Path:
        return self.home / "kafka.json"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    # public API ----------------------------------------------------------

    def fetch(self) -> Path:
        """Make sure the broker jars are cached; return the libs directory."""
        return fetch_kafka_libs(self.cache_dir)

    def status(self) -> KafkaStatus:
        """Report whether this home's broker is running, by PID file and /proc."""
        pid = self._read_pid()
        if pid is None or not self._is_our_kafka(pid):
            return KafkaStatus(running=False, pid=None, bootstrap=None)
        bootstrap = self._read_state().get("bootstrap")
        return KafkaStatus(
            running=True, pid=pid, bootstrap=bootstrap if isinstance(bootstrap, str) else None
        )

    def start(self, timeout: float = 90.0) -> str:
        """Start the broker (or find it already running) and return its bootstrap address.

        Returns only once the broker accepts connections, has logged that it
        started, and answered a metadata request; otherwise it is stopped again and
        `LocalKafkaError` carries the log tail. `timeout` bounds that wait after
        launch; the one-time jar download (`fetch`) has its own, longer limit.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.home / ".lock"):
            current = self.status()
            if current.running:
                if current.bootstrap is None:
                    raise LocalKafkaError(
                        f"Kafka (pid {current.pid}) is running in {self.home} but "
                        f"{self.state_file.name} is unreadable; stop() it and start again"
                    )
                return current.bootstrap
            self.pid_file.unlink(missing_ok=True)  # stale, if present
            libs = self.fetch()
            java = _which("java")
            port, controller_port = self._choose_ports()
            bootstrap = f"{HOST}:{port}"
            _write_atomic(
                self.properties_file,
                render_server_properties(self.home, port, controller_port),
            )
            _write_atomic(self.log4j_file, render_log4j2_config(self.log_file))
            classpath = f"{libs}/*"
            self._format_storage(java, classpath)
            log_offset = self._log_size()
            deadline = time.monotonic() + timeout
            pid = self._launch(java, classpath)
            _write_atomic(self.pid_file, f"{pid}\n")
            state = {
                "pid": pid,
                "port": port,
                "controller_port": controller_port,
                "bootstrap": bootstrap,
            }
            _write_atomic(self.state_file, json.dumps(state, indent=2) + "\n")
            try:
                self._wait_ready(pid, port, bootstrap, log_offset, deadline, timeout)
            except BaseException:
                self._terminate(pid, grace=5.0)
                self.pid_file.unlink(missing_ok=True)
                raise
            return bootstrap

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop this home's broker: SIGTERM, then SIGKILL after `timeout` seconds.

        Only signals the PID if /proc shows it is our `kafka.Kafka` for this
        home, so a stale PID file can never kill an unrelated process. Returns
        whether a running broker was stopped.
        """
        if not self.home.is_dir():
            return False
        with _file_lock(self.home / ".lock"):
            pid = self._read_pid()
            if pid is None:
                return False
            stopped = False
            if self._is_our_kafka(pid):
                self._terminate(pid, grace=timeout)
                stopped = True
            self.pid_file.unlink(missing_ok=True)
            return stopped

    # internals -----------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None

    def _read_state(self) -> dict[str, object]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _alive(self, pid: int) -> bool:
        """Like `_pid_alive`, but reaps the broker if this object started it."""
        if self._proc is not None and self._proc.pid == pid and self._proc.poll() is not None:
            return False
        return _pid_alive(pid)

    def _is_our_kafka(self, pid: int) -> bool:
        """Whether `pid` is alive and is `java … kafka.Kafka <this home's properties>`."""
        if not self._alive(pid):
            return False
        argv = _cmdline(pid)
        if not argv:
            return False
        return (
            Path(argv[0]).name.startswith("java")
            and "kafka.Kafka" in argv
            and str(self.properties_file) in argv
        )

    def _choose_ports(self) -> tuple[int, int]:
        """Use the requested ports, else last run's if still free (stable address), else new."""
        previous = self._read_state()
        chosen: list[int] = []
        for requested, key in ((self.port, "port"), (self.controller_port, "controller_port")):
            if requested is not None:
                if not port_is_free(requested):
                    raise LocalKafkaError(f"{HOST}:{requested} ({key}) is already in use")
                chosen.append(requested)
                continue
            old = previous.get(key)
            if isinstance(old, int) and old not in chosen and port_is_free(old):
                chosen.append(old)
                continue
            chosen.append(next(p for p in pick_free_ports(3) if p not in chosen))
        if chosen[0] == chosen[1]:
            raise LocalKafkaError(f"port and controller_port must differ (both {chosen[0]})")
        return chosen[0], chosen[1]

    def _format_storage(self, java: str, classpath: str) -> None:
        """Format the KRaft log dir once; an existing meta.properties means it is done."""
        if (self.data_dir / "meta.properties").exists():
            return
        cmd = [
            java,
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.properties_file),
        ]
        try:
            # Fixed argument list, no shell; java resolved via JAVA_HOME/PATH on purpose.
            result = subprocess.run(  # noqa: S603
                cmd,
                capture_output=True,
                text=True,
                timeout=_FORMAT_TIMEOUT_S,
                check=False,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise LocalKafkaError(
                f"formatting {self.data_dir} timed out after {_FORMAT_TIMEOUT_S:.0f}s",
                context=_tail_text(_decode(exc.stdout) + _decode(exc.stderr)),
            ) from exc
        if result.returncode != 0:
            raise LocalKafkaError(
                f"kafka.tools.StorageTool format failed (exit {result.returncode})",
                context=_tail_text(result.stdout + result.stderr) or _tail(self.log_file),
            )

    def _launch(self, java: str, classpath: str) -> int:
        """Start `kafka.Kafka` in its own session, so it outlives us and our signals."""
        cmd = [
            java,
            f"-Xmx{self.heap}",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_file}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self.properties_file),
        ]
        with self.out_file.open("ab") as out:
            # Fixed argument list, no shell; java resolved via JAVA_HOME/PATH on purpose.
            self._proc = subprocess.Popen(  # noqa: S603
                cmd,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self._proc.pid

    def _log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except OSError:
            return 0

    def _logged_started(self, offset: int) -> bool:
        """Whether this run (log bytes after `offset`) logged the started message."""
        try:
            with self.log_file.open("rb") as handle:
                if handle.seek(0, os.SEEK_END) < offset:
                    offset = 0  # the log rolled over since we measured it
                handle.seek(offset)
                return STARTED_MESSAGE.encode() in handle.read()
        except OSError:
            return False

    def _failure_context(self) -> str:
        parts = []
        for path in (self.log_file, self.out_file):
            tail = _tail(path)
            if tail:
                parts.append(f"[{path}]\n{tail}")
        return "\n".join(parts)

    def _wait_ready(
        self,
        pid: int,
        port: int,
        bootstrap: str,
        log_offset: int,
        deadline: float,
        timeout: float,
    ) -> None:
        """Poll until the broker is up and answers a metadata request, or fail."""
        while True:
            if not self._alive(pid):
                raise LocalKafkaError(
                    f"Kafka (pid {pid}) exited during start-up", context=self._failure_context()
                )
            if _tcp_open(port) and self._logged_started(log_offset):
                break
            if time.monotonic() >= deadline:
                raise LocalKafkaError(
                    f"Kafka did not become ready on {bootstrap} within {timeout:.0f}s",
                    context=self._failure_context(),
                )
            time.sleep(_POLL_INTERVAL_S)

        last_error: Exception | None = None
        while True:
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise LocalKafkaError(
                    f"Kafka on {bootstrap} did not answer a metadata request within "
                    f"{timeout:.0f}s: {last_error!r}",
                    context=self._failure_context(),
                )
            try:
                _list_topics(bootstrap, timeout_ms=max(remaining_ms, 100))
                return
            except Exception as exc:  # any client error means "not ready yet"
                last_error = exc
            if not self._alive(pid):
                raise LocalKafkaError(
                    f"Kafka (pid {pid}) exited during start-up", context=self._failure_context()
                )
            time.sleep(_POLL_INTERVAL_S)

    def _terminate(self, pid: int, grace: float) -> None:
        """SIGTERM `pid`, wait up to `grace` seconds, then SIGKILL; reap it if ours."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, grace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            if not self._wait_gone(pid, _KILL_WAIT_S):
                raise LocalKafkaError(f"Kafka (pid {pid}) survived SIGKILL")
        if self._proc is not None and self._proc.pid == pid:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=1.0)  # sets returncode; no ResourceWarning
            self._proc = None

    def _wait_gone(self, pid: int, within: float) -> bool:
        deadline = time.monotonic() + within
        while self._alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_INTERVAL_S)
        return True


def _list_topics(bootstrap: str, timeout_ms: int) -> list[str]:
    """Ask the broker for its topics, proving it serves metadata, not just TCP."""
    from kafka import KafkaAdminClient  # type: ignore[import-untyped,unused-ignore]

    config: dict[str, object] = {
        "bootstrap_servers": bootstrap,
        "client_id": "safeguard-local-kafka",
        "request_timeout_ms": timeout_ms,
    }
    # kafka-python 3.x bounds bootstrap with bootstrap_timeout_ms; 2.x bounds the
    # version probe with api_version_auto_timeout_ms and rejects unknown keys.
    known = getattr(KafkaAdminClient, "DEFAULT_CONFIG", {})
    for key in ("bootstrap_timeout_ms", "api_version_auto_timeout_ms"):
        if key in known:
            config[key] = timeout_ms
    admin = KafkaAdminClient(**config)
    try:
        topics = admin.list_topics()
    finally:
        admin.close()
    return [str(topic) for topic in topics]
