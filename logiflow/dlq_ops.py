"""DLQ operations on Kafka: read the index, replay entries, discard them.

Used by ``logiflow dlq ...`` and by the web API. Reads fold the DLQ topic (failures and
lifecycle events) from the beginning (the same fold the worker's ``dlq-entries`` table keeps), so the
commands work with or without a worker running. Writes are lifecycle events (acknowledged by
the broker) and, for a replay, the original record re-published to its original topic.
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
from logiflow.domain import dlq
from logiflow.kafka.admin import read_to_end
from logiflow.kafka.security import client_kwargs
from logiflow.settings import Settings


@dataclass
class RawRecord:
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class Index:
    entries: dict[str, dlq.Entry] = field(default_factory=dict)
    records: dict[tuple[int, int], RawRecord] = field(default_factory=dict)

    def record_of(self, entry: dlq.Entry) -> RawRecord | None:
        return self.records.get((entry.get("dlqPartition", 0), entry.get("dlqOffset", -1)))


def operator_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


async def _read_topic(settings: Settings, topic: str, timeout_s: float) -> list[RawRecord]:
    return [RawRecord(m.partition, m.offset, m.timestamp, m.key, m.value or b"",
                      dlq.normalize_headers(m.headers))
            for m in await read_to_end(settings.bootstrap_servers, topic, timeout_s,
                                       client_kwargs(settings))]


async def read_index(settings: Settings, timeout_s: float = 60.0) -> Index:
    """Fold the DLQ topic (failures and lifecycle events, in offset order) into the index."""
    index = Index()
    indexer = dlq.Indexer(index.entries)
    for rec in await _read_topic(settings, settings.topic(settings.dlq_topic), timeout_s):
        if indexer.on_message(rec.headers, rec.key, rec.value, rec.partition, rec.offset) \
                and dlq.header(rec.headers, dlq.H_ID):
            index.records[(rec.partition, rec.offset)] = rec
    return index


@dataclass(frozen=True)
class ReplayOutcome:
    entry_id: str
    action: str  # replayed | parked | skipped | would-replay | would-park
    detail: str = ""
    same_version: bool = False


def plan_replay(entry: dlq.Entry, record: RawRecord | None, cap: int,
                force: bool = False) -> tuple[str, str]:
    """What a replay of ``entry`` would do: (action, detail). Pure.

    ``force`` also replays resolved and discarded entries (idempotent invoicing makes that
    safe); the replay cap still applies.
    """
    status = entry.get("status")
    if status in ("resolved", "discarded") and not force:
        return "skipped", f"status is {status}"
    if record is None:
        return "skipped", "its DLQ record is no longer in the topic (retention)"
    if dlq.header(record.headers, dlq.H_TRUNCATED) == "true":
        return "skipped", "the payload was truncated in the DLQ; replay it from the source system"
    if entry.get("replayCount", 0) >= cap or status == "parked":
        return "park", f"replayed {entry.get('replayCount', 0)} times; cap is {cap}"
    return "replay", f"replay #{entry.get('replayCount', 0) + 1} to {entry.get('sourceTopic')}"


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
        value = dlq.lifecycle_event(entry_id, action, self.by, int(time.time() * 1000), **kw)
        await self.producer.send_and_wait(self.settings.topic(self.settings.dlq_topic), value,
                                          key=entry_id.encode(), headers=dlq.LIFECYCLE_HEADERS)

    async def discard(self, entry: dlq.Entry, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a discard needs a reason")
        await self._lifecycle(entry["id"], "discarded", reason=reason.strip())

    async def replay(self, index: Index, entries: list[dlq.Entry], *, apply: bool,
                     rate: float | None = None, force: bool = False,
                     progress: Callable[[ReplayOutcome], None] | None = None) -> list[ReplayOutcome]:
        """Replay (or, without ``apply``, describe replaying) each entry, at most ``rate``/s."""
        outcomes = []
        for i, entry in enumerate(entries):
            record = index.record_of(entry)
            action, detail = plan_replay(entry, record, self.settings.dlq_replay_cap, force)
            same = entry.get("version") == __version__
            if not apply:
                outcome = ReplayOutcome(entry["id"], {"replay": "would-replay",
                                                      "park": "would-park"}.get(action, action),
                                        detail, same)
            elif action == "park":
                await self._lifecycle(entry["id"], "parked", reason=detail,
                                      replay_count=entry.get("replayCount", 0))
                outcome = ReplayOutcome(entry["id"], "parked", detail, same)
            elif action == "replay":
                assert record is not None
                count = entry.get("replayCount", 0) + 1
                # The lifecycle event goes first: the replayed message may be processed (and
                # resolved) before a later write would land.
                await self._lifecycle(entry["id"], "replayed", replay_count=count)
                source = f"{self.settings.topic(self.settings.dlq_topic)}/{record.partition}@{record.offset}"
                await self.producer.send_and_wait(
                    entry["sourceTopic"], record.value, key=record.key,
                    headers=dlq.replay_headers(record.headers, entry["id"], count, source),
                    timestamp_ms=entry.get("sourceTimestamp") or None)
                outcome = ReplayOutcome(entry["id"], "replayed", detail, same)
            else:
                outcome = ReplayOutcome(entry["id"], action, detail, same)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
            if apply and rate and i + 1 < len(entries):
                await asyncio.sleep(1.0 / rate)
        return outcomes
