""":class:`~logiflow.ports.EventLog` on a plain aiokafka consumer (no group, commits nothing)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from logiflow.errors import TransientFailure
from logiflow.kafka import security
from logiflow.settings import Settings

READ_TIMEOUT_S = 30.0


class KafkaEventLog:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def tails(self, topic: str, partitions: Sequence[int], count: int) -> dict[int, list[bytes]]:
        try:
            return await asyncio.wait_for(self._tails(topic, partitions, count), READ_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            raise TransientFailure(f"reading the tails of {topic} {sorted(partitions)} failed: "
                                   f"{exc!r}") from exc

    async def _tails(self, topic: str, partitions: Sequence[int], count: int) -> dict[int, list[bytes]]:
        """One consumer for every partition: a worker that restarts reads them all in one go
        (one partition after the other made its invoicing wait seconds per partition)."""
        out: dict[int, list[bytes]] = {p: [] for p in partitions}
        if not out:
            return out
        consumer = AIOKafkaConsumer(bootstrap_servers=self.settings.bootstrap_servers, group_id=None,
                                    enable_auto_commit=False, auto_offset_reset="earliest",
                                    **security.client_kwargs(self.settings))
        await consumer.start()
        try:
            tps = [TopicPartition(topic, p) for p in out]
            consumer.assign(tps)
            begins, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
            for tp in tps:
                consumer.seek(tp, max(begins[tp], ends[tp] - count))
            todo = {tp for tp in tps if ends[tp] > max(begins[tp], ends[tp] - count)}
            while todo:
                for tp, records in (await consumer.getmany(*todo, timeout_ms=500)).items():
                    out[tp.partition].extend(m.value or b"" for m in records if m.offset < ends[tp])
                todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
            return out
        finally:
            await consumer.stop()
