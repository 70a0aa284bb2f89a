"""Topic administration: create LogiFlow's topics; read a topic to its end."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    KafkaConnectionError,
    NodeNotReadyError,
    RequestTimedOutError,
    TopicAlreadyExistsError,
)

from logiflow.kafka import security
from logiflow.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
ATTEMPTS = 8


async def on_any_node(call: Callable[[], Awaitable[T]]) -> T:
    """``call()``, retried when the node it went to is unreachable.

    The admin client sends each request to a random broker of its metadata, and a broker that
    just died stays in the metadata until the controller fences it (9 s by default): a retry
    picks another node (on a 3-node cluster with one down, 8 tries all miss 1 time in 6,500).
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await call()
        except (NodeNotReadyError, KafkaConnectionError, RequestTimedOutError):
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.1 * attempt)
    raise AssertionError("unreachable")


async def ensure_topics(settings: Settings, wanted: list[tuple[str, int]]) -> None:
    """Create each (topic, partitions) that does not exist yet. Existing topics are left as is."""
    client = security.client_kwargs(settings)
    await security.check_connection(settings.bootstrap_servers, client)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, **client)
    await admin.start()
    try:
        existing = set(await on_any_node(admin.list_topics))
        missing = [NewTopic(name, partitions, settings.replication)
                   for name, partitions in wanted if name not in existing]
        if missing:
            try:
                await on_any_node(lambda: admin.create_topics(missing))
            except TopicAlreadyExistsError:
                pass  # another worker created them first
            log.info("created topics: %s", ", ".join(t.name for t in missing))
    finally:
        await admin.close()


async def topic_partitions(bootstrap_servers: str, topic: str,
                           client: Mapping[str, Any] | None = None) -> list[int]:
    """The partition ids of ``topic``; empty when it does not exist. Never creates it.

    A consumer cannot tell: its bootstrap asks for no topic's metadata (an empty topic list
    means "none" from Metadata v4 on), so ``partitions_for_topic`` is None until a refresh.
    Asking the broker for this one topic would auto-create it where the broker allows that
    (``allow_auto_topic_creation`` is on in aiokafka's request), with the broker's default
    partition count: a 4-partition DLQ. So ask for every topic's metadata, as a consumer's
    refresh would, and pick ours. ``client``: aiokafka keyword arguments (security).
    """
    client = dict(client or {})
    await security.check_connection(bootstrap_servers, client)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, **client)
    await admin.start()
    try:
        described = await on_any_node(admin.describe_topics)  # no names: all topics, creates none
    finally:
        await admin.close()
    for t in described:
        if t["topic"] == topic and t["error_code"] == 0:
            return sorted(p["partition"] for p in t["partitions"])
    return []


async def read_to_end(bootstrap_servers: str, topic: str, timeout_s: float = 60.0,
                      client: Mapping[str, Any] | None = None) -> list[Any]:
    """Every record of ``topic`` up to its end offsets at call time (aiokafka ConsumerRecords).

    No consumer group: nothing is committed. A topic that does not exist reads as empty.
    ``client``: aiokafka keyword arguments (security, :func:`logiflow.kafka.security.client_kwargs`).
    """
    partitions = await topic_partitions(bootstrap_servers, topic, client)
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest", **(client or {}))
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout_s:.0f} s")
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for tp, messages in batch.items():
                out.extend(m for m in messages if m.offset < end[tp])
        return out
    finally:
        await consumer.stop()
