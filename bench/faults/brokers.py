"""The brokers a campaign runs on, and the faults it injects into them.

One node: the local broker the environment names (``LOGIFLOW_KAFKA_*``, as ``make run`` and the
tests use it), started when down. Three nodes: a local cluster in its own kafka home, beside the
single broker (``--cluster-port``). Both through :class:`logiflow.kafka_local.LocalKafka`.
Every call blocks; the campaign runs them in a thread.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path

from logiflow.kafka_local import LocalKafka, answers_metadata
from logiflow.settings import Settings


class ClusterUnavailable(RuntimeError):
    """This build has no 3-node local cluster (branch ``cluster`` not merged yet).

    Run a one-broker plan (``PLAN=single``) or merge the cluster support.
    """


class Brokers:
    """The local broker(s): start, a full restart, kill -9 and return of one node."""

    def __init__(self, count: int, env: Mapping[str, str]) -> None:
        if count != 1:
            raise ClusterUnavailable(
                "a 3-node plan needs `logiflow kafka start --brokers 3` (branch `cluster`); "
                "this build has only the single local broker: use PLAN=single")
        self.count = count
        self.settings = Settings.from_env(dict(env))
        self.local = LocalKafka(self.settings)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.settings.kafka_port}"

    @property
    def replication(self) -> int:
        return 1

    @property
    def home(self) -> Path:
        return self.local.home

    def ensure_up(self) -> str:
        return self.local.start().describe()

    def answers(self) -> bool:
        return answers_metadata(self.bootstrap)

    def stop_all(self) -> None:
        self.local.stop()

    def start_all(self) -> None:
        self.local.start()

    def kill_node(self, node: int) -> None:
        """kill -9 of the broker's process (node 1, the only one)."""
        pid = self.local.status().pid
        if pid is None:
            raise RuntimeError(f"no broker process of ours at {self.bootstrap} to kill")
        os.kill(pid, signal.SIGKILL)
        while _alive(pid):
            time.sleep(0.05)

    def start_node(self, node: int) -> None:
        self.local.start()

    def stop(self) -> None:
        """At the end of the campaign: the single broker stays up (it is the user's)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        try:
            os.waitpid(pid, os.WNOHANG)  # our own child: reap it
        except ChildProcessError:
            pass
        return False
    return True
