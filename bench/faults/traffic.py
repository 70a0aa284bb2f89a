"""The campaign's traffic: route requests at a fixed rate, and a monitor watching the outputs.

Both are plain aiokafka clients, not Faust. The producer sends seeded requests keyed by truck id
(a fixed share of them poison: an unknown place, which must end in the DLQ). The monitor reads
``routing.events`` and ``invoice.events`` from the beginning as they grow and notes, for every
record, the partition, the record's CreateTime (the worker's clock: same machine) and when the
monitor saw it (the campaign's clock): recovery times are computed from these notes afterwards
(:mod:`bench.faults.recovery`), and the campaign waits on them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from logiflow.domain.geo import Gazetteer
from logiflow.domain.model import PlaceRef, RouteRequested
from logiflow.wire import encode_route_requested

log = logging.getLogger(__name__)
POISON_MARK = "-bad-"  # in the request id of a request that must be dead-lettered
UNKNOWN_PLACE = "Atlantis"
ROUTES, INVOICES = "routes", "invoices"


def now_ms() -> float:
    return time.time() * 1000


def requests(seed: int, trucks: int, poison_every: int,
             gazetteer: Gazetteer) -> Iterator[tuple[str, bytes, bytes]]:
    """Endless seeded requests ``(request id, key, value)``, round-robin over ``trucks`` trucks.

    Every ``poison_every``-th names an unknown place (valid JSON, poison for routing: DLQ);
    every 10th has 1-3 intermediate stops.
    """
    rng = random.Random(seed)
    names = gazetteer.names()
    for i in itertools.count():
        truck = f"TR-{i % trucks:04d}"
        origin, destination = rng.sample(names, 2)
        stops: tuple[PlaceRef, ...] = ()
        if i % 10 == 0:
            others = [n for n in names if n not in (origin, destination)]
            stops = tuple(PlaceRef(name=n) for n in rng.sample(others, rng.randint(1, 3)))
        poison = poison_every > 0 and i % poison_every == poison_every - 1
        request_id = f"f{seed}{POISON_MARK if poison else '-'}{i:07d}"
        request = RouteRequested(request_id=request_id, truck_id=truck, customer_id=f"CU-{i % 37:03d}",
                                 origin=PlaceRef(name=origin),
                                 destination=PlaceRef(name=UNKNOWN_PLACE if poison else destination),
                                 stops=stops)
        yield request_id, truck.encode(), encode_route_requested(request)


@dataclass
class ProducerStats:
    acked_valid: int = 0
    acked_poison: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    partitions: set[int] = field(default_factory=set)  # partitions valid requests went to


class RequestProducer:
    """Sends requests: a pre-fill, bursts on demand, and a steady ``rate`` until stopped."""

    def __init__(self, bootstrap: str, topic: str, source: Iterator[tuple[str, bytes, bytes]],
                 rate: float) -> None:
        self.topic, self.source, self.rate = topic, source, rate
        # A broker restart lasts longer than aiokafka's default 40 s timeout on a loaded machine:
        # requests wait in the client instead of failing. Idempotent: a retried send is not a
        # second request (the campaign injects the faults it schedules, not producer duplicates).
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                         enable_idempotence=True, request_timeout_ms=120_000,
                                         retry_backoff_ms=250)
        self.stats = ProducerStats()
        self._pending: set[asyncio.Future[Any]] = set()
        self._stopping = asyncio.Event()

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        self._stopping.set()
        await self.flush()
        await self.producer.stop()

    async def flush(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    async def send(self, count: int) -> None:
        for _ in range(count):
            request_id, key, value = next(self.source)
            fut = await self.producer.send(self.topic, value, key=key)
            self._pending.add(fut)
            fut.add_done_callback(lambda f, rid=request_id: self._acked(f, rid))

    def _acked(self, fut: asyncio.Future[Any], request_id: str) -> None:
        self._pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            self.stats.failed += 1
            if len(self.stats.errors) < 20:
                self.stats.errors.append(repr(fut.exception()))
        elif POISON_MARK in request_id:
            self.stats.acked_poison += 1
        else:
            self.stats.acked_valid += 1
            self.stats.partitions.add(fut.result().partition)

    async def run(self) -> None:
        """``rate`` requests per second until :meth:`stop` (behind schedule: catches up)."""
        began, sent = time.monotonic(), 0
        while not self._stopping.is_set():
            due = int((time.monotonic() - began) * self.rate) - sent
            if due > 0:
                await self.send(due)
                sent += due
            try:
                await asyncio.wait_for(self._stopping.wait(), 0.02)
            except TimeoutError:
                pass


@dataclass(frozen=True)
class Seen:
    """One output record as the monitor saw it."""

    kind: str          # ROUTES or INVOICES
    partition: int
    create_ms: int     # the record's timestamp: when the worker produced it
    seen_ms: float     # when the monitor received it


class OutputMonitor:
    """Follows ``routing.events`` and ``invoice.events`` from the beginning."""

    def __init__(self, bootstrap: str, topics: dict[str, str], partitions: int) -> None:
        self.topics = topics  # kind -> topic name
        self.tps = {TopicPartition(t, p): kind for kind, t in topics.items() for p in range(partitions)}
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                         enable_auto_commit=False, auto_offset_reset="earliest")
        self.seen: list[Seen] = []
        self.routed: set[str] = set()          # requestIds with a RouteCalculated
        self.route_events: set[str] = set()    # RouteCalculated eventIds
        self.invoiced: set[str] = set()        # routeEventIds with an InvoiceGenerated
        self.latest: dict[tuple[str, int], int] = {}  # (kind, partition) -> newest CreateTime
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.assign(list(self.tps))
        await self.consumer.seek_to_beginning(*self.tps)
        self._task = asyncio.create_task(self._follow())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.consumer.stop()

    async def _follow(self) -> None:
        while True:
            batch = await self.consumer.getmany(timeout_ms=100, max_records=5000)
            seen_ms = now_ms()
            for tp, messages in batch.items():
                kind = self.tps[tp]
                for m in messages:
                    self.seen.append(Seen(kind, tp.partition, m.timestamp, seen_ms))
                    key = (kind, tp.partition)
                    self.latest[key] = max(self.latest.get(key, 0), m.timestamp)
                    self._note(kind, m.value)

    def _note(self, kind: str, value: bytes | None) -> None:
        try:
            body = json.loads(value or b"")
        except ValueError:
            return
        if not isinstance(body, dict):
            return
        if kind == ROUTES:
            self.routed.add(str(body.get("requestId")))
            self.route_events.add(str(body.get("eventId")))
        else:
            self.invoiced.add(str(body.get("routeEventId")))

    def backlog(self, valid_sent: int) -> tuple[int, int]:
        """(requests not routed yet, routes not invoiced yet): an estimate from what was seen."""
        return max(0, valid_sent - len(self.routed)), max(0, len(self.route_events) - len(self.invoiced))

    def resumed(self, after_ms: float, partitions: set[int]) -> bool:
        """Every partition of both outputs has a record produced after ``after_ms``."""
        return all(self.latest.get((kind, p), 0) > after_ms
                   for kind in self.topics for p in partitions)
