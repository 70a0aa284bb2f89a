"""Extra local brokers for the tests that need their own (a cluster, a secured broker).

They run beside the suite's shared broker, never instead of it: their own kafka home under the
test's tmp folder, their own ports, stopped at the end of the test. Their logs are copied to
the test's artifacts folder.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from logiflow.kafka.config import LocalBrokerSettings
from logiflow.kafka.local_broker import LocalKafka


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_block(size: int, env: str) -> int:
    """The first of ``size`` consecutive free ports: ``$env`` if set, else a random free block."""
    if os.environ.get(env):
        return int(os.environ[env])
    for _ in range(200):
        base = random.randrange(20_000, 32_000, 2)  # below Linux's ephemeral range (32768-)
        if all(_bindable(p) for p in range(base, base + size)):
            return base
    raise RuntimeError(f"no {size} consecutive free ports found")


@contextmanager
def local_kafka(home: Path, artifacts: Path, port: int, controller_port: int) -> Iterator[LocalKafka]:
    """A LocalKafka in ``home`` on the given ports (jars from the usual cache); stopped after."""
    settings = LocalBrokerSettings.from_env(kafka_home=home, kafka_port=port,
                                            kafka_controller_port=controller_port,
                                            kafka_heap="384m", kafka_start_timeout_s=150.0)
    kafka = LocalKafka(settings)
    try:
        yield kafka
    finally:
        kafka.stop(timeout_s=30)
        for log in home.glob("**/logs/*.log"):
            shutil.copy(log, artifacts / f"{log.parent.parent.name}-{log.name}")
