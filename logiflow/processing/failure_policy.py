"""What an agent does when a message fails: the one place the failure taxonomy is applied.

* poison (:class:`PoisonMessage`) → dead-lettered at once, with the reason;
* transient (:class:`TransientFailure`) → retried with exponential backoff and jitter; once
  ``breaker_threshold`` attempts in a row have failed, the dependency is probed: if it is down
  the circuit breaker opens (the agent's partitions are paused, events wait in Kafka) until a
  probe succeeds, then the message is retried afresh; if the dependency is up, the message
  itself is at fault and is dead-lettered once ``retry_attempts`` are spent;
* anything else is *unexpected*: logged with its traceback and dead-lettered.

The DLQ write is acknowledged by the broker before :meth:`FailurePolicy.run` returns, so the source
message is only counted processed (and its offset committed by Faust) once its DLQ record is
safe: a crash in between duplicates at worst, never loses.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from logiflow import __version__
from logiflow.domain import dlq
from logiflow.domain.model import SourceRecord
from logiflow.errors import PoisonMessage, TransientFailure, WorkerStopping
from logiflow.ports import Publisher
from logiflow.processing.metrics import Metrics
from logiflow.settings import Settings

log = logging.getLogger(__name__)

def source_of(event: Any) -> SourceRecord:
    """A Faust event → :class:`SourceRecord` (raw key, value and headers exactly as consumed)."""
    message = event.message
    timestamp = message.timestamp
    return SourceRecord(
        topic=message.topic, partition=message.partition, offset=message.offset,
        timestamp_ms=int(timestamp * 1000) if timestamp else None,
        key=message.key if isinstance(message.key, bytes | None) else str(message.key).encode(),
        value=message.value if isinstance(message.value, bytes) else bytes(message.value or b""),
        headers=dlq.normalize_headers(message.headers),
    )


class CircuitBreaker:
    """closed → open (dependency down, partitions paused) → closed again when a probe succeeds."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = "closed"
        self.opened = 0
        self.opened_at: float | None = None
        self.closed_at: float | None = None

    def snapshot(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "timesOpened": self.opened,
                "openedAt": self.opened_at, "closedAt": self.closed_at}


class FailurePolicy:
    """Runs one message's handler under the failure policy, for one agent."""

    def __init__(self, agent: str, settings: Settings, publisher: Publisher, metrics: Metrics, *,
                 health_check: Callable[[], Awaitable[bool]] | None = None,
                 pause: Callable[[], Any] | None = None,
                 resume: Callable[[], Any] | None = None,
                 stopping: Callable[[], bool] = lambda: False,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.agent = agent
        self.settings = settings
        self.publisher = publisher
        self.metrics = metrics
        self.health_check = health_check
        self.pause = pause
        self.resume = resume
        self.stopping = stopping
        self.sleep = sleep
        self.clock = clock
        self.breaker = CircuitBreaker(agent)
        self._rng = random.Random()

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter in its upper half: base·2^(n-1) · [0.5, 1]."""
        delay = min(self.settings.retry_max_s, self.settings.retry_base_s * 2 ** (attempt - 1))
        return delay * (0.5 + self._rng.random() / 2)

    async def run(self, source: SourceRecord, handler: Callable[[SourceRecord], Awaitable[None]]) -> bool:
        """Process ``source`` with ``handler``; True if it succeeded, False if dead-lettered."""
        attempts = 0
        first_failure: int | None = None
        while True:
            try:
                await handler(source)
            except PoisonMessage as exc:
                now = self._now_ms()
                await self.dead_letter(source, "poison", exc.reason, exc, 1 + attempts,
                                       first_failure or now, now)
                return False
            except TransientFailure as exc:
                attempts += 1
                now = self._now_ms()
                first_failure = first_failure or now
                self.metrics.mark_retry(self.agent)
                log.warning("%s: transient failure %d/%d at %s/%d@%d: %s", self.agent, attempts,
                            self.settings.retry_attempts, source.topic, source.partition,
                            source.offset, exc)
                if attempts >= self.settings.breaker_threshold and await self._dependency_down():
                    await self._wait_for_dependency()
                    attempts, first_failure = 0, None
                    continue
                if attempts >= self.settings.retry_attempts:
                    await self.dead_letter(source, "transient", exc.reason,
                                           exc, attempts, first_failure, now)
                    return False
                await self.sleep(self.backoff(attempts))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("%s: unexpected failure at %s/%d@%d", self.agent, source.topic,
                              source.partition, source.offset)
                now = self._now_ms()
                await self.dead_letter(source, "unexpected", "unexpected", exc, attempts + 1,
                                       first_failure or now, now)
                return False
            else:
                self.metrics.mark_processed(self.agent)
                await self._resolve_if_replay(source)
                return True

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def _dependency_down(self) -> bool:
        if self.health_check is None:
            return False
        return not await self.health_check()

    async def _wait_for_dependency(self) -> None:
        """Open the breaker: pause our partitions and probe until the dependency answers."""
        assert self.health_check is not None
        self.breaker.state = "open"
        self.breaker.opened += 1
        self.breaker.opened_at = self.clock()
        log.warning("%s: circuit breaker OPEN: dependency down; partitions paused, events wait "
                    "in Kafka", self.agent)
        if self.pause is not None:
            self.pause()
        try:
            while not await self.health_check():
                if self.stopping():
                    # The worker is shutting down: the agent leaves the message unacked (it is
                    # redelivered after the restart) instead of holding the shutdown.
                    raise WorkerStopping(f"{self.agent}: worker stopping while the breaker is open")
                await self.sleep(self.settings.breaker_probe_s)
        finally:
            if self.resume is not None:
                self.resume()
            self.breaker.state = "closed"
            self.breaker.closed_at = self.clock()
        log.warning("%s: circuit breaker CLOSED after %.1f s: dependency back", self.agent,
                    self.clock() - (self.breaker.opened_at or self.clock()))

    async def dead_letter(self, source: SourceRecord, kind: str, reason: str, exc: BaseException,
                          attempts: int, first_ms: int, last_ms: int) -> None:
        """Send the DLQ record and wait for the broker's ack, retrying until it is safe."""
        failure = dlq.Failure(
            source=source, group=self.settings.group_id, agent=self.agent, kind=kind,
            reason=reason, error_class=type(exc).__name__, error_message=str(exc),
            stacktrace="".join(traceback.format_exception(exc)), attempts=attempts,
            first_failure_ms=first_ms, last_failure_ms=last_ms, version=__version__,
        )
        record = dlq.build_record(failure, self.settings.dlq_max_value_bytes)
        log.warning("%s: dead-lettering %s/%d@%d (%s: %s)", self.agent, source.topic,
                    source.partition, source.offset, kind, reason)
        await self._send_until_acked(self.settings.topic(self.settings.dlq_topic), record.key,
                                     record.value, record.headers)
        self.metrics.mark_dead_lettered(self.agent, kind)

    async def _resolve_if_replay(self, source: SourceRecord) -> None:
        entry_id = dlq.header(source.headers, dlq.H_REPLAY_ENTRY)
        if not entry_id:
            return
        count = dlq.header(source.headers, dlq.H_REPLAY_N)
        event = dlq.lifecycle_event(entry_id, "resolved", self.agent, self._now_ms(),
                                    replay_count=int(count) if count and count.isdigit() else None)
        await self._send_until_acked(self.settings.topic(self.settings.dlq_topic), entry_id.encode(),
                                     event, dlq.LIFECYCLE_HEADERS)

    async def _send_until_acked(self, topic: str, key: bytes | None, value: bytes,
                                headers: list[tuple[str, bytes]] | None) -> None:
        attempt = 0
        while True:
            try:
                await self.publisher.send(topic, key, value, headers=headers, wait=True)
                return
            except TransientFailure as exc:
                attempt += 1
                log.error("%s: could not write to %s (attempt %d), retrying: %s", self.agent,
                          topic, attempt, exc)
                await self.sleep(self.backoff(min(attempt, 8)))

