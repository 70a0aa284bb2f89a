""":class:`~logiflow.ports.EventLog` on a plain aiokafka consumer (no group, commits nothing)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from logiflow.errors import TransientFailure
from logiflow.kafka import security
from logiflow.settings import Settings

READ_TIMEOUT_S = 30.0


class KafkaEventLog:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def tail(self, topic: str, partition: int, count: int) -> list[bytes]:
        try:
            return await asyncio.wait_for(self._tail(topic, partition, count), READ_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise TransientFailure(f"reading the tail of {topic}/{partition} failed: {exc!r}") from exc

    async def _tail(self, topic: str, partition: int, count: int) -> list[bytes]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    **security.client_kwargs(self.settings))
        await consumer.start()
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            begin, end = (await consumer.beginning_offsets([tp]))[tp], (await consumer.end_offsets([tp]))[tp]
            consumer.seek(tp, max(begin, end - count))
            out: list[bytes] = []
            while await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                out.extend(m.value or b"" for m in batch.get(tp, []) if m.offset < end)
            return out
        finally:
            await consumer.stop()
