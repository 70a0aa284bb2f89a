"""The local broker's layout and configuration, as plain values (no processes, no I/O).

One node (the default, what ``make run`` uses) lives directly in the kafka home, as it always
has. A cluster of ``n`` nodes lives in ``node-1`` .. ``node-n`` under it, every node a combined
broker + KRaft controller, all of them voters. Node ``i`` listens on the configured client and
controller ports plus ``2 * (i - 1)`` (and the SASL_SSL port, if any, plus the same).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logiflow.errors import BrokerError

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Users and passwords go into a JAAS line, a properties file and the storage tool's
# --add-scram syntax ("[name=..,password=..]"): keep to characters none of them treats specially.
_SAFE = re.compile(r"[A-Za-z0-9._~!@#$%^&*()+:;<>?/{}|-]+")


@dataclass(frozen=True)
class SaslSslListener:
    """An extra client listener with SASL (PLAIN, SCRAM-SHA-256/512) over TLS.

    ``users`` (name -> password) become SCRAM credentials when the data is first formatted and
    PLAIN users in the listener's JAAS config. ``keystore`` is a PKCS12 file with the broker's
    key and certificate. Inter-broker and controller traffic stay on the plaintext listeners.
    """

    port: int
    keystore: Path
    keystore_password: str = field(repr=False)
    users: dict[str, str] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.users:
            raise BrokerError("a SASL_SSL listener needs at least one user")
        for name, password in self.users.items():
            if not (_SAFE.fullmatch(name) and _SAFE.fullmatch(password)):
                raise BrokerError(f"SASL user {name!r}: names and passwords may not contain spaces, "
                                  "quotes, backslashes, commas, '=' or brackets")
        if not _SAFE.fullmatch(self.keystore_password):
            raise BrokerError("the keystore password may not contain spaces, quotes, backslashes, "
                              "commas, '=' or brackets")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SaslSslListener:
        """From ``{"port": .., "keystore": .., "keystorePassword": .., "users": {name: password}}``."""
        try:
            return cls(int(data["port"]), Path(data["keystore"]).expanduser().absolute(),
                       str(data["keystorePassword"]), {str(k): str(v) for k, v in data["users"].items()})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BrokerError("a SASL_SSL listener file is JSON with port, keystore, "
                              f"keystorePassword and users (name: password); {exc!r}") from exc

    def to_json(self) -> dict[str, Any]:
        return {"port": self.port, "keystore": str(self.keystore),
                "keystorePassword": self.keystore_password, "users": dict(self.users)}


@dataclass(frozen=True)
class Node:
    """One broker + controller process of the local cluster."""

    node_id: int
    dir: Path
    port: int
    controller_port: int
    sasl_ssl_port: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def config(self) -> Path:
        return self.dir / "config"

    @property
    def pid_file(self) -> Path:
        return self.dir / "kafka.pid"

    @property
    def log(self) -> Path:
        return self.dir / "logs" / "server.log"

    @property
    def stdout_log(self) -> Path:
        return self.dir / "logs" / "stdout.log"


def layout(home: Path, brokers: int, port: int, controller_port: int,
           sasl_ssl_port: int | None = None) -> list[Node]:
    """The nodes of a ``brokers``-node cluster in ``home``; refuses overlapping ports."""
    if brokers < 1:
        raise BrokerError(f"a cluster needs at least one broker, not {brokers}")
    nodes = [Node(i, home if brokers == 1 else home / f"node-{i}", port + 2 * (i - 1),
                  controller_port + 2 * (i - 1),
                  None if sasl_ssl_port is None else sasl_ssl_port + 2 * (i - 1))
             for i in range(1, brokers + 1)]
    ports = [p for n in nodes for p in (n.port, n.controller_port, n.sasl_ssl_port) if p is not None]
    if len(set(ports)) != len(ports):
        raise BrokerError(f"the ports of a {brokers}-node cluster overlap ({sorted(ports)}): node i "
                          "takes each configured port + 2*(i-1); space the client, controller "
                          "and SASL_SSL ports further apart")
    if not all(0 < p < 65536 for p in ports):
        raise BrokerError(f"a {brokers}-node cluster would need ports beyond 65535: {sorted(ports)}")
    return nodes


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of a ``brokers``-node cluster's topics.

    A lone node cannot replicate. A cluster keeps three copies (or one per node) and acks a
    write (acks=all) once all but one of them have it: 3 nodes, RF=3, min.insync.replicas=2.
    """
    replicas = min(3, brokers)
    return replicas, max(1, replicas - 1)


def server_properties(node: Node, nodes: list[Node], partitions: int,
                      sasl: SaslSslListener | None = None) -> dict[str, str]:
    """``server.properties`` of ``node`` in the cluster ``nodes``."""
    n = len(nodes)
    listeners = [f"PLAINTEXT://127.0.0.1:{node.port}", f"CONTROLLER://127.0.0.1:{node.controller_port}"]
    advertised = [f"PLAINTEXT://127.0.0.1:{node.port}"]
    protocols = ["PLAINTEXT:PLAINTEXT", "CONTROLLER:PLAINTEXT"]
    if sasl is not None and node.sasl_ssl_port is not None:
        listeners.append(f"SASL_SSL://127.0.0.1:{node.sasl_ssl_port}")
        advertised.append(f"SASL_SSL://127.0.0.1:{node.sasl_ssl_port}")
        protocols.append("SASL_SSL:SASL_SSL")
    rf, isr = (str(v) for v in replication_for(n))
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": ",".join(f"{m.node_id}@127.0.0.1:{m.controller_port}" for m in nodes),
        "listeners": ",".join(listeners),
        "advertised.listeners": ",".join(advertised),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": ",".join(protocols),
        "log.dirs": str(node.data),
        "num.partitions": str(partitions),
        "default.replication.factor": rf,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": isr,
        # Faust workers join and leave often in tests; do not wait 3 s for more members.
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.hours": "168",
    }
    if n > 1:
        props["min.insync.replicas"] = isr
        # A node killed with kill -9 keeps leading its partitions until the controller fences it
        # for missing heartbeats (Kafka's default: 9 s, heartbeats every 2 s); clients wait that
        # long for new leaders. On one machine heartbeats are cheap: fence after 3 s.
        props["broker.session.timeout.ms"] = "3000"
        props["broker.heartbeat.interval.ms"] = "500"
    if sasl is not None:
        props.update(_sasl_ssl_properties(sasl))
    return props


def _sasl_ssl_properties(sasl: SaslSslListener) -> dict[str, str]:
    prefix = "listener.name.sasl_ssl."
    plain_users = " ".join(f'user_{name}="{password}"' for name, password in sasl.users.items())
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    return {
        f"{prefix}sasl.enabled.mechanisms": ",".join(("PLAIN", *SCRAM_MECHANISMS)),
        f"{prefix}plain.sasl.jaas.config":
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
        f"{prefix}scram-sha-256.sasl.jaas.config": scram,
        f"{prefix}scram-sha-512.sasl.jaas.config": scram,
        f"{prefix}ssl.keystore.type": "PKCS12",
        f"{prefix}ssl.keystore.location": str(sasl.keystore),
        f"{prefix}ssl.keystore.password": sasl.keystore_password,
        f"{prefix}ssl.key.password": sasl.keystore_password,
    }


def scram_format_args(sasl: SaslSslListener | None) -> list[str]:
    """``kafka-storage format`` arguments that create every user's SCRAM credentials."""
    if sasl is None:
        return []
    return [arg for name, password in sasl.users.items() for mechanism in SCRAM_MECHANISMS
            for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")]


def render_properties(props: dict[str, str]) -> str:
    return "".join(f"{k}={v}\n" for k, v in props.items())


def log4j_properties(log: Path) -> str:
    return (
        "rootLogger.level=INFO\n"
        "rootLogger.appenderRef.f.ref=F\n"
        "appender.f.type=RollingFile\n"
        "appender.f.name=F\n"
        f"appender.f.fileName={log}\n"
        f"appender.f.filePattern={log}.%i\n"
        "appender.f.layout.type=PatternLayout\n"
        "appender.f.layout.pattern=[%d] %p %m (%c)%n\n"
        "appender.f.policies.type=Policies\n"
        "appender.f.policies.size.type=SizeBasedTriggeringPolicy\n"
        "appender.f.policies.size.size=20MB\n"
        "appender.f.strategy.type=DefaultRolloverStrategy\n"
        "appender.f.strategy.max=3\n"
        "logger.kafka.name=kafka\nlogger.kafka.level=INFO\n"
        "logger.state.name=state.change.logger\nlogger.state.level=WARN\n"
    )
