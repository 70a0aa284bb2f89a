"""Kafka plumbing for the benchmark: topics, pre-filling, completion polling, output timestamps.

One long-lived client set per run (async), so waiting for a topic to fill costs a ListOffsets
request per poll, not a read of the whole topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from bench.payloads import Record


@dataclass(frozen=True)
class Span:
    """Records in a topic and the first/last record timestamps (producer CreateTime, epoch ms)."""

    count: int
    first_ms: int
    last_ms: int

    def rate_from(self, start_ms: float) -> float:
        """Records per second from ``start_ms`` to the last record."""
        return self.count / max(1e-3, (self.last_ms - start_ms) / 1000)

    @property
    def steady_rate(self) -> float:
        """Records per second between the first and the last record (start-up excluded)."""
        return (self.count - 1) / max(1e-3, (self.last_ms - self.first_ms) / 1000)


class Kafka:
    """Admin, producer and an offsets/reader consumer on one broker."""

    admin: AIOKafkaAdminClient
    producer: AIOKafkaProducer
    consumer: AIOKafkaConsumer

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.partitions: dict[str, int] = {}

    async def start(self) -> None:
        """Create and start the clients (aiokafka binds them to the running loop)."""
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all",
                                         linger_ms=20, max_batch_size=256 * 1024)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                         enable_auto_commit=False, auto_offset_reset="earliest")
        await self.admin.start()
        await self.producer.start()
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()
        await self.producer.stop()
        await self.admin.close()

    async def create_topics(self, names: Iterable[str], partitions: int) -> None:
        names = list(names)
        try:
            await self.admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        except TopicAlreadyExistsError:
            pass
        self.partitions.update(dict.fromkeys(names, partitions))

    async def produce(self, topic: str, records: list[Record]) -> None:
        """Produce and wait for every ack (records keep their keys: same partitioning as producers)."""
        futures = [await self.producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)

    def _tps(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(self.partitions[topic])]

    async def ends(self, topic: str) -> dict[int, int]:
        """End offset of each partition of ``topic``."""
        ends = await self.consumer.end_offsets(self._tps(topic))
        return {tp.partition: offset for tp, offset in ends.items()}

    async def count(self, topic: str) -> int:
        """Records in ``topic`` (sum of end offsets; our topics are never compacted or trimmed)."""
        return sum((await self.ends(topic)).values())

    async def wait_count(self, topic: str, count: int, timeout: float, what: str = "",
                         interval: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while (have := await self.count(topic)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} holds {have}/{count} records after {timeout:.0f} s"
                                   + (f" ({what})" if what else ""))
            await asyncio.sleep(interval)

    async def span(self, topic: str, since: dict[int, int] | None = None) -> Span:
        """Count and first/last timestamps of the records in ``topic`` now, from offsets ``since``."""
        tps = self._tps(topic)
        ends = await self.consumer.end_offsets(tps)
        self.consumer.assign(tps)
        for tp in tps:
            self.consumer.seek(tp, (since or {}).get(tp.partition, 0))
        count, first, last = 0, None, None
        while [tp for tp in tps if await self.consumer.position(tp) < ends[tp]]:
            batch = await self.consumer.getmany(*tps, timeout_ms=500, max_records=10_000)
            for tp, msgs in batch.items():
                for m in msgs:
                    if m.offset >= ends[tp]:
                        continue
                    count += 1
                    first = m.timestamp if first is None else min(first, m.timestamp)
                    last = m.timestamp if last is None else max(last, m.timestamp)
        self.consumer.unsubscribe()
        if first is None or last is None:
            raise ValueError(f"{topic} is empty")
        return Span(count, first, last)

    async def delete_topics_with(self, prefixes: Iterable[str]) -> int:
        prefixes = tuple(prefixes)
        doomed = [t for t in await self.admin.list_topics() if t.startswith(prefixes)]
        if doomed:
            await self.admin.delete_topics(doomed)
        return len(doomed)
