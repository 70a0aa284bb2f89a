"""The brokers a campaign runs on, and the faults it injects into them.

One node: the local broker the environment names (``LOGIFLOW_KAFKA_*``, as ``make run`` and the
tests use it), started when down and left running. Three nodes: a local cluster
(:class:`logiflow.kafka.local_broker.LocalKafka`, ``--brokers 3``) in its own kafka home beside
the single broker's (``<home>-faults-cluster``), on the ports just above the single broker's
(node i: client port + 2 + 2(i-1), controller port + 2 + 2(i-1)), stopped at the end.
Every call blocks; the campaign runs them in a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from logiflow.kafka.config import LocalBrokerSettings
from logiflow.kafka.local_broker import LocalKafka
from logiflow.kafka.nodes import replication_for

CLUSTER_HEAP = "384m"  # three JVMs beside the workers on a small machine


class Brokers:
    """The local broker(s): start, a full restart, kill -9 and return of one node."""

    def __init__(self, count: int, env: Mapping[str, str]) -> None:
        if count not in (1, 3):
            raise ValueError(f"the campaign runs on 1 or 3 local brokers, not {count}")
        self.count = count
        single = LocalBrokerSettings.from_env(dict(env))
        if count == 1:
            self.settings = single
        else:
            home = single.kafka_home.expanduser().absolute()
            self.settings = LocalBrokerSettings.from_env(
                dict(env), kafka_home=home.with_name(home.name + "-faults-cluster"),
                kafka_port=single.kafka_port + 2, kafka_controller_port=single.kafka_controller_port + 2,
                kafka_heap=CLUSTER_HEAP, kafka_start_timeout_s=max(150.0, single.kafka_start_timeout_s))
        self.local = LocalKafka(self.settings)

    @property
    def bootstrap(self) -> str:
        """aiokafka's form, ``host:port,host:port`` (node i listens on the port + 2(i-1))."""
        return ",".join(f"127.0.0.1:{self.settings.kafka_port + 2 * i}" for i in range(self.count))

    @property
    def replication(self) -> int:
        return replication_for(self.count)[0]

    @property
    def home(self) -> Path:
        return self.local.home

    def ensure_up(self) -> str:
        return self.local.start(self.count).describe()

    def stop_all(self) -> None:
        self.local.stop()

    def start_all(self) -> None:
        self.local.start()

    def kill_node(self, node: int) -> None:
        """kill -9 of one node (the only one, with one broker)."""
        if not self.local.kill_node(node):
            raise RuntimeError(f"no broker process of ours for node {node} to kill")

    def start_node(self, node: int) -> None:
        self.local.start_node(node)

    def stop(self) -> None:
        """At the end of the campaign: the cluster stops; the single broker stays up (the user's)."""
        if self.count > 1:
            self.local.stop()
