"""logiflow.kafka.admin on the real broker: reading a topic to its end, and never creating one."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from logiflow.kafka.admin import read_to_end, topic_partitions
from tests.harness import produce, run_sync

pytestmark = pytest.mark.integration


async def _topics(broker: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        return await admin.list_topics()
    finally:
        await admin.close()


async def _create(broker: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=broker)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


def test_reading_a_missing_topic_gives_nothing_and_does_not_create_it(kafka):
    name = f"missing-{uuid.uuid4().hex[:8]}"
    assert run_sync(read_to_end(kafka, name, timeout_s=10)) == []
    assert run_sync(topic_partitions(kafka, name)) == []
    # The broker auto-creates topics on a metadata request that names them: ours must not.
    assert name not in run_sync(_topics(kafka))


def test_a_topic_is_read_to_its_end_across_all_its_partitions(kafka):
    name = f"read-{uuid.uuid4().hex[:8]}"
    run_sync(_create(kafka, name, 3))
    for p in range(3):
        produce(name, [(b"k", f"{p}-{i}".encode()) for i in range(5)], partition=p)
    assert run_sync(topic_partitions(kafka, name)) == [0, 1, 2]
    records = run_sync(read_to_end(kafka, name, timeout_s=30))
    assert sorted(r.value for r in records) == sorted(f"{p}-{i}".encode() for p in range(3) for i in range(5))
