"""DLQ operations on Kafka: read the index, replay entries, discard them.

Used by ``logiflow dlq ...`` and by the web API. Reads fold the DLQ topic (failures and
lifecycle events) from the beginning (the same fold the worker's ``dlq-entries`` table keeps), so the
commands work with or without a worker running. Writes are lifecycle events (acknowledged by
the broker) and, for a replay, the original record re-published to its original topic. What a
replay does to an entry is decided by the pure :func:`logiflow.domain.dlq.queries.plan_replay`.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer

from logiflow import __version__
from logiflow.domain.dlq.headers import H_ID, LIFECYCLE_HEADERS, header, normalize_headers
from logiflow.domain.dlq.index import Entry, Indexer
from logiflow.domain.dlq.queries import plan_replay
from logiflow.domain.dlq.records import lifecycle_event, replay_headers
from logiflow.domain.model import SourceRecord
from logiflow.kafka.admin import read_to_end
from logiflow.kafka.security import client_kwargs
from logiflow.settings import Settings


@dataclass
class Index:
    """The folded entries, and the failure records they point at (what a replay re-publishes)."""

    entries: dict[str, Entry] = field(default_factory=dict)
    records: dict[tuple[int, int], SourceRecord] = field(default_factory=dict)

    def record_of(self, entry: Entry) -> SourceRecord | None:
        return self.records.get((entry["dlqPartition"], entry["dlqOffset"]))


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def _read_topic(settings: Settings, topic: str, timeout_s: float) -> list[SourceRecord]:
    return [SourceRecord(topic=topic, partition=m.partition, offset=m.offset,
                         timestamp_ms=m.timestamp, key=m.key, value=m.value or b"",
                         headers=normalize_headers(m.headers))
            for m in await read_to_end(settings.bootstrap_servers, topic, timeout_s,
                                       client_kwargs(settings))]


async def read_index(settings: Settings, timeout_s: float = 60.0) -> Index:
    """Fold the DLQ topic (failures and lifecycle events, in offset order) into the index."""
    index = Index()
    indexer = Indexer(index.entries)
    for rec in await _read_topic(settings, settings.topic(settings.dlq_topic), timeout_s):
        if indexer.on_message(rec.headers, rec.key, rec.value, rec.partition, rec.offset) \
                and header(rec.headers, H_ID):
            index.records[(rec.partition, rec.offset)] = rec
    return index


@dataclass(frozen=True)
class ReplayOutcome:
    entry_id: str
    action: str  # replayed | parked | skipped | would-replay | would-park
    detail: str = ""
    same_version: bool = False


class DlqOperator:
    """Writes lifecycle events and replays. One producer for a whole command."""

    def __init__(self, settings: Settings, by: str | None = None) -> None:
        self.settings = settings
        self.by = by or operator_name()
        self.producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all",
                                         enable_idempotence=True, **client_kwargs(settings))

    async def __aenter__(self) -> DlqOperator:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def _lifecycle(self, entry_id: str, action: str, **kw: Any) -> None:
        value = lifecycle_event(entry_id, action, self.by, int(time.time() * 1000), **kw)
        await self.producer.send_and_wait(self.settings.topic(self.settings.dlq_topic), value,
                                          key=entry_id.encode(), headers=LIFECYCLE_HEADERS)

    async def discard(self, entry: Entry, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a discard needs a reason")
        await self._lifecycle(entry["id"], "discarded", reason=reason.strip())

    async def replay(self, index: Index, entries: list[Entry], *, apply: bool,
                     rate: float | None = None, force: bool = False,
                     progress: Callable[[ReplayOutcome], None] | None = None) -> list[ReplayOutcome]:
        """Replay (or, without ``apply``, describe replaying) each entry, at most ``rate``/s."""
        outcomes = []
        for i, entry in enumerate(entries):
            record = index.record_of(entry)
            action, detail = plan_replay(entry, record, self.settings.dlq_replay_cap, force)
            same = entry["version"] == __version__
            if not apply:
                outcome = ReplayOutcome(entry["id"], {"replay": "would-replay",
                                                      "park": "would-park"}.get(action, action),
                                        detail, same)
            elif action == "park":
                await self._lifecycle(entry["id"], "parked", reason=detail,
                                      replay_count=entry["replayCount"])
                outcome = ReplayOutcome(entry["id"], "parked", detail, same)
            elif action == "replay":
                assert record is not None
                count = entry["replayCount"] + 1
                # The lifecycle event goes first: the replayed message may be processed (and
                # resolved) before a later write would land.
                await self._lifecycle(entry["id"], "replayed", replay_count=count)
                source = f"{self.settings.topic(self.settings.dlq_topic)}/{record.partition}@{record.offset}"
                await self.producer.send_and_wait(
                    entry["sourceTopic"], record.value, key=record.key,
                    headers=replay_headers(record.headers, entry["id"], count, source),
                    timestamp_ms=entry["sourceTimestamp"] or None)
                outcome = ReplayOutcome(entry["id"], "replayed", detail, same)
            else:
                outcome = ReplayOutcome(entry["id"], action, detail, same)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
            if apply and rate and i + 1 < len(entries):
                await asyncio.sleep(1.0 / rate)
        return outcomes
