"""A local Apache Kafka (KRaft) run from the official jars: one node, or a cluster of n.

``logiflow kafka start [--brokers 3] | stop | status``. One node is the default (what
``make run`` and the tests use). A cluster's nodes are combined broker + controller processes,
all voters of the KRaft quorum, on 127.0.0.1 (layout and ports: :mod:`logiflow.kafka.nodes`).
The home's ``cluster.json`` remembers the node count (and the SASL_SSL listener, if any), so
``status`` and ``stop`` cover every node. The fault campaign drives single nodes:
:meth:`LocalKafka.kill_node`, :meth:`LocalKafka.stop_node`, :meth:`LocalKafka.start_node`.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from logiflow.errors import BrokerError
from logiflow.kafka import jars
from logiflow.kafka.config import LocalBrokerSettings
from logiflow.kafka.jars import kafka_version  # re-exported: the web and tests use it
from logiflow.kafka.nodes import (
    Node,
    SaslSslListener,
    layout,
    log4j_properties,
    render_properties,
    replication_for,
    scram_format_args,
    server_properties,
)
from logiflow.kafka.processes import answers_metadata, pid_of, terminate

__all__ = ["BrokerStatus", "ClusterStatus", "LocalKafka", "answers_metadata", "kafka_version",
           "new_cluster_id"]

MODE_FILE = "cluster.json"


@dataclass(frozen=True)
class BrokerStatus:
    up: bool
    address: str
    pid: int | None
    managed: bool  # started by `logiflow kafka start` (we hold its pid)
    home: Path
    log: Path
    node_id: int = 1
    sasl_ssl_address: str | None = None

    def describe(self) -> str:
        if self.up:
            who = f"pid {self.pid}" if self.managed else "not started by logiflow"
            sasl = f"; SASL_SSL at {self.sasl_ssl_address}" if self.sasl_ssl_address else ""
            return f"up: Kafka at {self.address} ({who}){sasl}; data {self.home / 'data'}; log {self.log}"
        return f"down: nothing answers at {self.address}; log {self.log}"


@dataclass(frozen=True)
class ClusterStatus:
    nodes: list[BrokerStatus]

    @property
    def up(self) -> bool:
        """Every node answers."""
        return all(n.up for n in self.nodes)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.address for n in self.nodes)

    def describe(self) -> str:
        if len(self.nodes) == 1:
            return self.nodes[0].describe()
        n, live = len(self.nodes), sum(s.up for s in self.nodes)
        rf, isr = replication_for(n)
        head = (f"up: {n}-node Kafka cluster" if live == n else f"degraded: {live} of {n} nodes up"
                if live else f"down: no node of the {n}-node cluster answers")
        lines = [f"{head} (KRaft; topics RF={rf}, min.insync.replicas={isr})"]
        lines += [f"  node {s.node_id}: {s.describe()}" for s in self.nodes]
        if live:
            servers = self.bootstrap_servers.replace(",", ";")
            lines.append(f"  use it with: LOGIFLOW_BROKER='kafka://{servers}' LOGIFLOW_REPLICATION={rf}")
        return "\n".join(lines)


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
    """The local broker or cluster described by ``settings`` and the home's ``cluster.json``.

    ``partitions`` is the broker's default for topics it auto-creates (``logiflow send`` to a
    new topic); LogiFlow creates its own topics with ``LOGIFLOW_PARTITIONS`` anyway.
    """

    def __init__(self, settings: LocalBrokerSettings, partitions: int = 4) -> None:
        self.settings = settings
        self.partitions = partitions
        self.version = jars.kafka_version()
        self.home = settings.kafka_home.expanduser().absolute()
        self.libs = settings.kafka_cache.expanduser().absolute() / self.version / "libs"
        self.mode_file = self.home / MODE_FILE

    # --- mode: how many nodes, which extra listener ------------------------------------------
    def _saved_mode(self) -> tuple[int, SaslSslListener | None] | None:
        try:
            saved = json.loads(self.mode_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            # A home from before cluster mode (or a fresh one) is a single node.
            return (1, None) if (self.home / "data" / "meta.properties").exists() else None
        except (OSError, ValueError) as exc:
            raise BrokerError(f"{self.mode_file} is unreadable ({exc}); remove {self.home} to start afresh") \
                from exc
        sasl = saved.get("saslSsl")
        return int(saved["brokers"]), None if sasl is None else SaslSslListener.from_json(sasl)

    def _mode(self) -> tuple[int, SaslSslListener | None]:
        return self._saved_mode() or (1, None)

    @property
    def brokers(self) -> int:
        return self._mode()[0]

    @property
    def nodes(self) -> list[Node]:
        brokers, sasl = self._mode()
        return self._layout(brokers, sasl)

    def _layout(self, brokers: int, sasl: SaslSslListener | None) -> list[Node]:
        s = self.settings
        return layout(self.home, brokers, s.kafka_port, s.kafka_controller_port,
                      None if sasl is None else sasl.port)

    def node(self, node_id: int) -> Node:
        nodes = self.nodes
        if not 1 <= node_id <= len(nodes):
            raise BrokerError(f"no node {node_id}: the cluster in {self.home} has nodes 1..{len(nodes)}")
        return nodes[node_id - 1]

    def _settle_mode(self, brokers: int | None,
                     sasl: SaslSslListener | None) -> tuple[int, SaslSslListener | None]:
        """The mode to start in: the saved one, unless asked otherwise before anything was formatted."""
        saved = self._saved_mode()
        if saved is not None:
            formatted = any((n.data / "meta.properties").exists() for n in self._layout(*saved))
            if brokers is not None and brokers != saved[0] and formatted:
                raise BrokerError(f"{self.home} holds a {saved[0]}-node cluster's data; to start a "
                                  f"{brokers}-node one, stop it and remove {self.home} (or set "
                                  "LOGIFLOW_KAFKA_HOME to another folder)")
            saved_users = None if saved[1] is None else saved[1].users
            if sasl is not None and sasl.users != saved_users and formatted:
                raise BrokerError(f"{self.home} was formatted with other SASL users (SCRAM users are "
                                  f"created at format time); remove {self.home} to change them")
            brokers = brokers or saved[0]
            sasl = sasl or saved[1]
        mode = (brokers or 1, sasl)
        self._layout(*mode)  # refuses overlapping ports before anything is written
        self.home.mkdir(parents=True, exist_ok=True)
        payload = {"brokers": mode[0], "saslSsl": None if sasl is None else sasl.to_json()}
        self.mode_file.touch(mode=0o600)  # it holds the listener's passwords when there is one
        self.mode_file.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        return mode

    # --- config and format ---------------------------------------------------------------------
    def _java(self, node: Node, main: str, *args: str) -> list[str]:
        return jars.java_command(self.libs, self.settings.kafka_heap,
                                 node.config / "log4j2.properties", main, *args)

    def _write_config(self, node: Node) -> Path:
        brokers, sasl = self._mode()
        node.config.mkdir(parents=True, exist_ok=True)
        node.log.parent.mkdir(parents=True, exist_ok=True)
        server = node.config / "server.properties"
        server.touch(mode=0o600)  # JAAS users and the keystore password, with a SASL_SSL listener
        props = server_properties(node, self._layout(brokers, sasl), self.partitions, sasl)
        server.write_text(render_properties(props), encoding="utf-8")
        (node.config / "log4j2.properties").write_text(log4j_properties(node.log), encoding="utf-8")
        return server

    def _format(self, node: Node, server: Path, cluster_id: str) -> None:
        if (node.data / "meta.properties").exists():
            return
        sasl = self._mode()[1]
        cmd = self._java(node, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(server),
                         *scram_format_args(sasl))
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = result.stdout + result.stderr
            for password in (sasl.users.values() if sasl else ()):
                output = output.replace(password, "***")
            raise BrokerError(f"formatting {node.data} failed:\n{output}")

    def _cluster_id(self) -> str:
        """The id the formatted nodes share, or a new one before the first format."""
        for node in self.nodes:
            meta = node.data / "meta.properties"
            if meta.exists():
                for line in meta.read_text(encoding="utf-8").splitlines():
                    if line.startswith("cluster.id="):
                        return line.split("=", 1)[1].strip()
        return new_cluster_id()

    # --- lifecycle ---------------------------------------------------------------------------
    def status(self) -> ClusterStatus:
        return ClusterStatus([self.node_status(n.node_id) for n in self.nodes])

    def node_status(self, node_id: int) -> BrokerStatus:
        node = self.node(node_id)
        pid = pid_of(node)
        return self._status_of(node, pid, answers_metadata(node.address, timeout_s=3.0))

    def _status_of(self, node: Node, pid: int | None, up: bool) -> BrokerStatus:
        sasl = None if node.sasl_ssl_port is None else f"127.0.0.1:{node.sasl_ssl_port}"
        return BrokerStatus(up, node.address, pid, pid is not None, node.dir, node.log, node.node_id, sasl)

    def start(self, brokers: int | None = None, sasl_ssl: SaslSslListener | None = None) -> ClusterStatus:
        """Start every node that is not running (``brokers`` nodes on first use; default 1).

        Returns once each node answers metadata requests. Nodes already up are left alone.
        """
        self._settle_mode(brokers, sasl_ssl)
        jars.fetch(self.libs)
        cluster_id = self._cluster_id()
        idle = [n for n in self.nodes if pid_of(n) is None and not answers_metadata(n.address, timeout_s=1.0)]
        with ThreadPoolExecutor(max_workers=max(1, len(idle))) as pool:  # one JVM each: ~3 s
            list(pool.map(lambda n: self._format(n, self._write_config(n), cluster_id), idle))
        # Launched together: a lone node of a quorum waits for the others.
        procs = {n.node_id: self._launch(n) for n in self.nodes}
        return ClusterStatus([self._wait_up(n, procs[n.node_id]) for n in self.nodes])

    def start_node(self, node_id: int) -> BrokerStatus:
        """(Re)start one node of the cluster, with its existing data; return once it answers."""
        node = self.node(node_id)
        jars.fetch(self.libs)
        if pid_of(node) is None and not (node.data / "meta.properties").exists():
            self._format(node, self._write_config(node), self._cluster_id())
        return self._wait_up(node, self._launch(node))

    def _launch(self, node: Node) -> subprocess.Popen[bytes] | None:
        """Start the node's process unless it runs (or something answers on its port)."""
        if pid_of(node) is not None or answers_metadata(node.address, timeout_s=1.0):
            return None
        server = self._write_config(node)
        with open(node.stdout_log, "ab") as out:
            proc = subprocess.Popen(self._java(node, "kafka.Kafka", str(server)),
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, cwd=node.dir)
        node.pid_file.write_text(str(proc.pid))
        return proc

    def _wait_up(self, node: Node, proc: subprocess.Popen[bytes] | None) -> BrokerStatus:
        deadline = time.monotonic() + self.settings.kafka_start_timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise BrokerError(f"Kafka node {node.node_id} exited with code {proc.returncode} while "
                                  f"starting; see {node.log} and {node.stdout_log}")
            if answers_metadata(node.address, timeout_s=2.0):
                return self._status_of(node, pid_of(node), True)
            time.sleep(0.5)
        raise BrokerError(f"Kafka did not answer metadata requests at {node.address} within "
                          f"{self.settings.kafka_start_timeout_s:.0f} s; see {node.log}")

    def stop(self, timeout_s: float = 60.0) -> bool:
        """Stop every node we started (SIGTERM to all at once, SIGKILL after ``timeout_s``).

        True when at least one was running.
        """
        return terminate([n for n in self.nodes if pid_of(n) is not None], signal.SIGTERM, timeout_s)

    def stop_node(self, node_id: int, timeout_s: float = 60.0) -> bool:
        """Clean shutdown of one node (its partitions move to the others first)."""
        return terminate([self.node(node_id)], signal.SIGTERM, timeout_s)

    def kill_node(self, node_id: int) -> bool:
        """``kill -9`` one node: no flush, no controlled shutdown. True when it was running."""
        return terminate([self.node(node_id)], signal.SIGKILL, 0.0)
