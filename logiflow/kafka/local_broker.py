"""A local single-node Apache Kafka broker (KRaft) run from the official jars.

``logiflow kafka start | stop | status``. The jars come from Maven Central through
``mvn dependency:copy-dependencies`` on the pom shipped beside this module, cached outside git
(``LOGIFLOW_KAFKA_CACHE``). Data, config, pid and logs live under ``LOGIFLOW_KAFKA_HOME``.
Tests and ``.ci/run`` use these same functions.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from logiflow.errors import BrokerError
from logiflow.kafka.config import LocalBrokerSettings

POM = "pom.xml"


@dataclass(frozen=True)
class BrokerStatus:
    up: bool
    address: str
    pid: int | None
    managed: bool  # started by `logiflow kafka start` (we hold its pid)
    home: Path
    log: Path

    def describe(self) -> str:
        if self.up:
            who = f"pid {self.pid}" if self.managed else "not started by logiflow"
            return f"up: Kafka at {self.address} ({who}); data {self.home / 'data'}; log {self.log}"
        return f"down: nothing answers at {self.address}; log {self.log}"


def kafka_version() -> str:
    pom = files("logiflow.kafka").joinpath(POM).read_text(encoding="utf-8")
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    node = ET.fromstring(pom).find("m:properties/m:kafka.version", ns)
    if node is None or not node.text:
        raise BrokerError("logiflow/kafka/pom.xml does not pin kafka.version")
    return node.text.strip()


def new_cluster_id() -> str:
    """A random KRaft cluster id: a UUID in URL-safe base64, like ``kafka-storage random-uuid``.

    Never one starting with "-": the storage tool would take it for an option and fail the
    format (one id in 64 did, until a CI run hit it).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalKafka:
    """The local broker described by ``settings``.

    ``partitions`` is the broker's default for topics it auto-creates (``logiflow send`` to a
    new topic); LogiFlow creates its own topics with ``LOGIFLOW_PARTITIONS`` anyway.
    """

    def __init__(self, settings: LocalBrokerSettings, partitions: int = 4) -> None:
        self.settings = settings
        self.partitions = partitions
        self.version = kafka_version()
        self.home = settings.kafka_home.expanduser().absolute()
        self.libs = settings.kafka_cache.expanduser().absolute() / self.version / "libs"
        self.address = f"127.0.0.1:{settings.kafka_port}"
        self.pid_file = self.home / "kafka.pid"
        self.log = self.home / "logs" / "server.log"
        self.stdout_log = self.home / "logs" / "stdout.log"

    # --- jars ----------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Fetch the broker jars once; later calls return the cached folder."""
        marker = self.libs / ".complete"
        if marker.exists():
            return self.libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise BrokerError("Maven (mvn) is not on PATH; install it (apt-get install maven)")
        self.libs.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix="libs-", dir=self.libs.parent))
        pom = files("logiflow.kafka").joinpath(POM)
        with tempfile.TemporaryDirectory() as work:
            pom_copy = Path(work) / POM
            pom_copy.write_text(pom.read_text(encoding="utf-8"), encoding="utf-8")
            cmd = [mvn, "-q", "-B", "-f", str(pom_copy), "dependency:copy-dependencies",
                   f"-DoutputDirectory={staging}", "-DincludeScope=runtime"]
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(staging, ignore_errors=True)
            tail = (result.stdout + result.stderr)[-2000:]
            raise BrokerError(f"Maven could not fetch Kafka {self.version}:\n{tail}")
        (staging / ".complete").write_text(self.version)
        if self.libs.exists():  # a concurrent fetch won; keep theirs
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.rename(self.libs)
        return self.libs

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            raise BrokerError("java is not on PATH; Kafka needs Java 17 or newer")
        return [java, f"-Xmx{self.settings.kafka_heap}", f"-Xms{self.settings.kafka_heap}",
                "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.home / 'config' / 'log4j2.properties'}",
                "-cp", str(self.libs / "*"), main, *args]

    # --- config --------------------------------------------------------------------------
    def _write_config(self) -> Path:
        config = self.home / "config"
        config.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        s = self.settings
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},"
                         f"CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.home / "data"),
            "num.partitions": str(self.partitions),
            # One node: internal topics cannot be replicated.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Faust workers join and leave often in tests; do not wait 3 s for more members.
            "group.initial.rebalance.delay.ms": "0",
            "log.retention.hours": "168",
        }
        server = config / "server.properties"
        server.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
        (config / "log4j2.properties").write_text(
            "rootLogger.level=INFO\n"
            "rootLogger.appenderRef.f.ref=F\n"
            "appender.f.type=RollingFile\n"
            "appender.f.name=F\n"
            f"appender.f.fileName={self.log}\n"
            f"appender.f.filePattern={self.log}.%i\n"
            "appender.f.layout.type=PatternLayout\n"
            "appender.f.layout.pattern=[%d] %p %m (%c)%n\n"
            "appender.f.policies.type=Policies\n"
            "appender.f.policies.size.type=SizeBasedTriggeringPolicy\n"
            "appender.f.policies.size.size=20MB\n"
            "appender.f.strategy.type=DefaultRolloverStrategy\n"
            "appender.f.strategy.max=3\n"
            "logger.kafka.name=kafka\nlogger.kafka.level=INFO\n"
            "logger.state.name=state.change.logger\nlogger.state.level=WARN\n",
            encoding="utf-8",
        )
        return server

    def _format(self, server: Path) -> None:
        if (self.home / "data" / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        cmd = self._java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(server))
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BrokerError(f"formatting {self.home / 'data'} failed:\n{result.stdout}{result.stderr}")

    # --- lifecycle -----------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"kafka.Kafka" not in cmdline.read_bytes():
            return None  # the pid was reused by something else
        return pid

    def status(self) -> BrokerStatus:
        pid = self._pid()
        up = answers_metadata(self.address, timeout_s=3.0)
        return BrokerStatus(up=up, address=self.address, pid=pid, managed=pid is not None,
                            home=self.home, log=self.log)

    def start(self) -> BrokerStatus:
        """Start the broker unless it runs already; return once it answers metadata requests."""
        current = self.status()
        if current.up:
            return current
        if current.pid is not None:
            # Our process exists but does not answer yet (still starting): wait for it.
            return self._wait_up(current.pid)
        self.fetch()
        server = self._write_config()
        self._format(server)
        with open(self.stdout_log, "ab") as out:
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(server)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.home,
            )
        self.pid_file.write_text(str(proc.pid))
        return self._wait_up(proc.pid, proc)

    def _wait_up(self, pid: int, proc: subprocess.Popen[bytes] | None = None) -> BrokerStatus:
        deadline = time.monotonic() + self.settings.kafka_start_timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise BrokerError(f"Kafka exited with code {proc.returncode} while starting; "
                                  f"see {self.log} and {self.stdout_log}")
            if answers_metadata(self.address, timeout_s=2.0):
                return BrokerStatus(True, self.address, pid, True, self.home, self.log)
            time.sleep(0.5)
        raise BrokerError(f"Kafka did not answer metadata requests at {self.address} within "
                          f"{self.settings.kafka_start_timeout_s:.0f} s; see {self.log}")

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop the broker we started (SIGTERM, then SIGKILL after ``timeout_s``)."""
        pid = self._pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours counts as gone.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            os.waitpid(pid, os.WNOHANG)
            return False
    except (OSError, IndexError, ChildProcessError):
        pass
    return True


def answers_metadata(address: str, timeout_s: float = 3.0) -> bool:
    """True when a Kafka broker at ``address`` answers a metadata request."""

    async def probe() -> bool:
        from aiokafka import AIOKafkaClient  # imported lazily: the CLI starts faster
        from aiokafka.errors import KafkaError

        client = AIOKafkaClient(bootstrap_servers=address, request_timeout_ms=int(timeout_s * 1000),
                                connections_max_idle_ms=int(timeout_s * 2000))
        # A refused connection is the expected answer while the broker boots, not an error.
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout_s)
            return True
        except (KafkaError, OSError, TimeoutError):
            return False
        finally:
            await client.close()
            quiet.setLevel(level)

    return asyncio.run(probe())
