"""`logiflow kafka start --brokers 3`: a real 3-node KRaft cluster survives a kill -9.

Runs its own cluster (ports from LOGIFLOW_TEST_CLUSTER_PORT, else a free block of six), beside
the suite's shared broker. About 1.5-2 minutes on 2 cores; deselect with ``-m "not cluster"``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from logiflow.kafka.admin import on_any_node, read_to_end
from logiflow.kafka.local_broker import LocalKafka
from tests.harness import BIN
from tests.integration.local_brokers import local_kafka, port_block

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

TOPIC = "failover"


async def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.5)


async def _partitions(admin: AIOKafkaAdminClient) -> list[dict[str, Any]]:
    [topic] = [t for t in await on_any_node(admin.describe_topics) if t["topic"] == TOPIC]
    return sorted(topic["partitions"], key=lambda p: p["partition"])


async def _produce(producer: AIOKafkaProducer, numbers: range) -> None:
    futures = [await producer.send(TOPIC, str(i).encode(), key=f"k{i % 7}".encode()) for i in numbers]
    await asyncio.gather(*futures)  # acks=all: each one is on at least two nodes


def _cli_status(kafka: LocalKafka) -> subprocess.CompletedProcess[str]:
    s = kafka.settings
    env = {**os.environ, "LOGIFLOW_KAFKA_HOME": str(s.kafka_home), "LOGIFLOW_KAFKA_PORT": str(s.kafka_port),
           "LOGIFLOW_KAFKA_CONTROLLER_PORT": str(s.kafka_controller_port)}
    return subprocess.run([str(BIN / "logiflow"), "kafka", "status"], env=env, text=True,
                          capture_output=True, timeout=60, check=False)


async def _scenario(kafka: LocalKafka, servers: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    await admin.create_topics([NewTopic(TOPIC, 3, 3)])
    await _wait(lambda: _all_in_sync(admin), 60, "3 in-sync replicas on every partition")
    [config] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)])
    topic_config = {c[0]: c[1] for c in config.resources[0][4]}
    assert topic_config["min.insync.replicas"] == "2"

    producer = AIOKafkaProducer(bootstrap_servers=servers, acks="all", enable_idempotence=True,
                                linger_ms=5)
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=servers, group_id="failover-readers",
                                auto_offset_reset="earliest")
    await producer.start()
    await consumer.start()
    seen: set[int] = set()

    async def consume() -> None:
        async for message in consumer:
            seen.add(int(message.value))

    reader = asyncio.create_task(consume())
    try:
        await _produce(producer, range(0, 300))
        await _wait(lambda: _seen(seen, 300), 60, "the first 300 consumed")

        victim = (await _partitions(admin))[0]["leader"]  # partition 0 must fail over
        assert await asyncio.to_thread(kafka.kill_node, victim)
        status = await asyncio.to_thread(_cli_status, kafka)
        assert status.returncode == 1, status.stdout
        assert "degraded: 2 of 3 nodes up" in status.stdout
        assert f"node {victim}: down" in status.stdout

        await _produce(producer, range(300, 600))  # acks=all still holds with 2 of 3
        await _wait(lambda: _seen(seen, 600), 90, "600 consumed with a node down")
        assert victim not in {p["leader"] for p in await _partitions(admin)}

        assert (await asyncio.to_thread(kafka.start_node, victim)).up
        await _wait(lambda: _all_in_sync(admin), 90, f"node {victim} back in every ISR")
        await _produce(producer, range(600, 900))
        await _wait(lambda: _seen(seen, 900), 60, "all 900 consumed")
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await admin.close()

    assert seen == set(range(900))
    log = sorted(int(m.value) for m in await read_to_end(servers, TOPIC, timeout_s=60))
    assert log == list(range(900))  # nothing lost, and the idempotent producer wrote no duplicate


async def _seen(seen: set[int], count: int) -> bool:
    return len(seen) >= count


async def _all_in_sync(admin: AIOKafkaAdminClient) -> bool:
    try:
        return all(len(p["isr"]) == 3 for p in await _partitions(admin))
    except ValueError:  # not in the metadata yet
        return False


def test_a_three_node_cluster_loses_nothing_when_a_node_is_killed_and_restarted(
        tmp_path: Path, artifacts: Path) -> None:
    base = port_block(6, "LOGIFLOW_TEST_CLUSTER_PORT")
    with local_kafka(tmp_path / "kafka", artifacts, base, base + 1) as kafka:
        status = kafka.start(brokers=3)
        assert status.up and [n.node_id for n in status.nodes] == [1, 2, 3]
        assert kafka.brokers == 3  # remembered in the home: a plain `start`/`status` sees 3 nodes
        assert _cli_status(kafka).returncode == 0
        asyncio.run(_scenario(kafka, status.bootstrap_servers))
