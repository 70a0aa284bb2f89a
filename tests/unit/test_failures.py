"""The failure policy (FailurePolicy): poison, transient with backoff, the circuit breaker, unexpected errors,
acknowledged DLQ writes and replay resolution. Fake clock and recorded sleeps: nothing waits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from logiflow.domain import dlq
from logiflow.domain.model import SourceRecord as Source
from logiflow.errors import (
    InvoiceStoreError,
    PoisonMessage,
    RenderCrashed,
    RenderFailed,
    RenderTimeout,
    TransientFailure,
    WorkerStopping,
)
from logiflow.processing.failure_policy import FailurePolicy
from logiflow.processing.metrics import Metrics
from logiflow.settings import Settings
from tests.support.fakes import RecordingPublisher

AGENT = "generate_invoices"
DLQ_TOPIC = "t1.logiflow.dlq"  # the default DLQ topic under the test's prefix
T0 = 1_795_735_109.0


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A FailurePolicy wired to recording fakes; ``log`` is the order in which things happened."""

    def __init__(self, publisher: RecordingPublisher | None = None,
                 health: list[bool] | None = None, **settings: Any) -> None:
        settings = {"retry_attempts": 4, "retry_base_s": 0.2, "retry_max_s": 5.0,
                    "breaker_threshold": 3, "breaker_probe_s": 2.0, "topic_prefix": "t1.",
                    **settings}
        self.settings = Settings.from_env({}, **settings)
        self.clock = FakeClock()
        self.metrics = Metrics(clock=self.clock)
        self.publisher = publisher or RecordingPublisher()
        self.sleeps: list[float] = []
        self.log: list[str] = []
        self.health = list(health) if health is not None else None
        self.guard = FailurePolicy(
            AGENT, self.settings, self.publisher, self.metrics,
            health_check=self._health if health is not None else None,
            pause=lambda: self.log.append("pause"), resume=lambda: self.log.append("resume"),
            sleep=self._sleep, clock=self.clock)

    async def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.now += seconds

    async def _health(self) -> bool:
        assert self.health, "health probed more often than the test expected"
        answer = self.health.pop(0)
        self.log.append(f"health={answer} breaker={self.guard.breaker.state}")
        return answer

    def handler(self, *outcomes: BaseException | None) -> Callable[[Source], Awaitable[None]]:
        """A handler that raises each outcome in turn (None = succeed); the last one repeats."""
        script = list(outcomes)

        async def handle(source: Source) -> None:
            self.log.append("handle")
            self.clock.now += 0.01
            outcome = script.pop(0) if len(script) > 1 else script[0]
            if outcome is not None:
                raise outcome
        return handle

    def run(self, handler: Callable[[Source], Awaitable[None]], source: Source | None = None) -> bool:
        ok = asyncio.run(self.guard.run(source or SOURCE, handler))
        self.log.append("returned")
        return ok

    @property
    def handled(self) -> int:
        return self.log.count("handle")

    def dead_letters(self) -> list[dict[str, str]]:
        return [{k: v.decode() for k, v in m["headers"]}  # type: ignore[attr-defined]
                for m in self.publisher.to(DLQ_TOPIC)]


SOURCE = Source(topic="routing.events", partition=2, offset=17, timestamp_ms=1_795_735_100_000,
                key=b"TR-1", value=b'{"type":"RouteCalculated"}', headers=[("trace", b"t-1")])


def test_a_message_that_succeeds_is_counted_processed_and_nothing_is_sent():
    h = Harness()
    assert h.run(h.handler(None)) is True
    assert h.metrics.processed[AGENT] == 1
    assert h.publisher.sent == [] and h.sleeps == []


def test_a_poison_message_is_dead_lettered_once_at_once_and_acknowledged():
    h = Harness()
    assert h.run(h.handler(PoisonMessage("invalid-json", "Expecting value"))) is False
    assert h.handled == 1 and h.sleeps == []
    [sent] = h.publisher.sent
    assert sent["topic"] == DLQ_TOPIC and sent["wait"] is True
    assert sent["key"] == SOURCE.key and sent["value"] == SOURCE.value
    headers = h.dead_letters()[0]
    assert (headers["logiflow.dlq.kind"], headers["logiflow.dlq.reason"]) == ("poison", "invalid-json")
    assert headers["logiflow.dlq.attempts"] == "1"
    assert headers["trace"] == "t-1"
    assert h.metrics.dead_lettered[(AGENT, "poison")] == 1 and h.metrics.processed[AGENT] == 0


def test_a_transient_failure_is_retried_with_jittered_exponential_backoff_until_it_succeeds():
    h = Harness(retry_attempts=4, retry_base_s=0.2)
    fail = TransientFailure("renderer busy")
    assert h.run(h.handler(fail, fail, fail, None)) is True
    assert h.handled == 4 and h.publisher.sent == []
    assert len(h.sleeps) == 3
    for n, delay in enumerate(h.sleeps, start=1):
        full = 0.2 * 2 ** (n - 1)  # 0.2, 0.4, 0.8
        assert 0.5 * full <= delay <= full, (n, delay)
    assert h.metrics.retries[AGENT] == 3


def test_backoff_delays_are_capped_at_retry_max():
    h = Harness(retry_attempts=6, retry_base_s=1.0, retry_max_s=1.5, breaker_threshold=10)
    fail = TransientFailure("busy")
    for _ in range(20):  # the jitter is random: look at many retries
        h.run(h.handler(fail, fail, fail, fail, fail, None))
    assert len(h.sleeps) == 100
    assert all(0.5 <= d <= 1.5 for d in h.sleeps)
    later = h.sleeps[1::5] + h.sleeps[2::5] + h.sleeps[3::5] + h.sleeps[4::5]
    assert all(d >= 0.75 for d in later)  # at least half the cap once 1·2^(n-1) exceeds it


@pytest.mark.parametrize(("exc", "code"), [
    (RenderTimeout("it failed"), "render-timeout"), (RenderCrashed("it failed"), "render-crashed"),
    (RenderFailed("it failed"), "render-failed"), (InvoiceStoreError("it failed"), "store-failed"),
    (TransientFailure("down"), "transient"),
], ids=lambda e: type(e).__name__ if isinstance(e, BaseException) else e)
def test_a_message_failing_transiently_with_a_healthy_dependency_is_dead_lettered_after_all_attempts(
        exc, code):
    h = Harness(health=[True] * 10, retry_attempts=4, breaker_threshold=3)
    assert h.run(h.handler(exc)) is False
    assert h.handled == 4
    [headers] = h.dead_letters()
    assert headers["logiflow.dlq.kind"] == "transient"
    assert headers["logiflow.dlq.reason"] == code
    assert headers["logiflow.dlq.attempts"] == "4"
    assert headers["logiflow.dlq.error.class"] == type(exc).__name__
    assert int(headers["logiflow.dlq.first.failure"]) < int(headers["logiflow.dlq.last.failure"])
    assert "pause" not in h.log


def test_a_render_timeout_is_dead_lettered_with_its_reason_code():
    h = Harness(retry_attempts=2)
    h.run(h.handler(RenderTimeout("no answer in 10 s")))
    assert h.dead_letters()[0]["logiflow.dlq.reason"] == "render-timeout"


def test_a_dependency_that_is_down_opens_the_breaker_until_a_probe_succeeds_then_the_message_is_retried():
    h = Harness(health=[False, False, False, True], retry_attempts=4, breaker_threshold=3,
                breaker_probe_s=2.0)
    fail = TransientFailure("renderer down")
    assert h.run(h.handler(fail, fail, fail, None)) is True
    assert h.log == [
        "handle", "handle", "handle",
        "health=False breaker=closed",  # three in a row: is it the dependency?
        "pause",
        "health=False breaker=open", "health=False breaker=open", "health=True breaker=open",
        "resume",
        "handle", "returned",
    ]
    assert h.sleeps[-2:] == [2.0, 2.0]  # probe interval while open
    assert h.guard.breaker.opened == 1 and h.guard.breaker.state == "closed"
    assert h.publisher.sent == [] and h.metrics.processed[AGENT] == 1


def test_after_the_breaker_closes_the_message_gets_a_fresh_set_of_attempts():
    h = Harness(health=[False, True, True], retry_attempts=4, breaker_threshold=3)
    fail = TransientFailure("flaky")
    # 3 failures open the breaker; after it closes, 3 more failures (< 4 attempts) then success.
    assert h.run(h.handler(fail, fail, fail, fail, fail, fail, None)) is True
    assert h.handled == 7 and h.publisher.sent == []


def test_a_poison_verdict_after_transient_failures_counts_every_attempt():
    h = Harness(retry_attempts=5, breaker_threshold=10)
    fail = TransientFailure("busy")
    h.run(h.handler(fail, fail, PoisonMessage("unknown-place", "Atlantis")))
    headers = h.dead_letters()[0]
    assert (headers["logiflow.dlq.kind"], headers["logiflow.dlq.attempts"]) == ("poison", "3")


def test_an_unexpected_exception_is_dead_lettered_with_its_traceback():
    h = Harness()

    async def buggy_handler(source: Source) -> None:
        h.log.append("handle")
        {}["missing"]

    assert h.run(buggy_handler) is False
    assert h.handled == 1
    headers = h.dead_letters()[0]
    assert (headers["logiflow.dlq.kind"], headers["logiflow.dlq.reason"]) == ("unexpected", "unexpected")
    assert headers["logiflow.dlq.error.class"] == "KeyError"
    trace = headers["logiflow.dlq.error.stacktrace"]
    assert trace.startswith("Traceback") and "buggy_handler" in trace and "KeyError: 'missing'" in trace


class FlakyPublisher(RecordingPublisher):
    """Fails the first ``failures`` sends with a TransientFailure (broker unreachable)."""

    def __init__(self, failures: int, log: list[str]) -> None:
        super().__init__()
        self.failures = failures
        self.log = log

    async def send(self, topic: str, key: bytes | None, value: bytes, **kw: Any) -> None:
        if self.failures:
            self.failures -= 1
            self.log.append("send failed")
            raise TransientFailure("broker unreachable")
        await super().send(topic, key, value, **kw)
        self.log.append("acked")


def test_a_failing_dlq_write_is_retried_until_acknowledged_before_the_message_counts_as_done():
    log: list[str] = []
    h = Harness(publisher=FlakyPublisher(2, log))
    h.log = log
    assert h.run(h.handler(PoisonMessage("invalid-json", "x"))) is False
    assert log == ["handle", "send failed", "send failed", "acked", "returned"]
    assert len(h.sleeps) == 2
    assert len(h.dead_letters()) == 1 and h.publisher.sent[0]["wait"] is True
    assert h.metrics.dead_lettered[(AGENT, "poison")] == 1


def test_a_replayed_message_that_succeeds_publishes_a_resolved_lifecycle_event():
    h = Harness()
    replayed = Source(**{**SOURCE.__dict__, "headers": [
        ("trace", b"t-1"), (dlq.H_REPLAY_ENTRY, b"dlq-0123456789abcdef"), (dlq.H_REPLAY_N, b"2"),
        (dlq.H_REPLAY_FROM, b"t1.logiflow.dlq/0@9")]})
    assert h.run(h.handler(None), replayed) is True
    [sent] = h.publisher.to("t1.logiflow.dlq")  # lifecycle events share the DLQ topic
    assert sent["headers"] == dlq.LIFECYCLE_HEADERS
    assert sent["key"] == b"dlq-0123456789abcdef" and sent["wait"] is True
    body = json.loads(sent["value"])  # type: ignore[arg-type]
    assert body == {"entryId": "dlq-0123456789abcdef", "action": "resolved", "by": AGENT,
                    "at": int((T0 + 0.01) * 1000), "replayCount": 2}
    assert len(h.publisher.sent) == 1


def test_a_worker_stopping_while_the_breaker_is_open_leaves_the_message_unprocessed_and_undeadlettered():
    h = Harness(health=[False, False, False], breaker_threshold=3)
    stopping = iter([False, True])
    h.guard.stopping = lambda: next(stopping)
    with pytest.raises(WorkerStopping):  # a BaseException: no `except Exception` turns it into a DLQ entry
        h.run(h.handler(TransientFailure("renderer down")))
    assert h.log[-3:] == ["health=False breaker=open", "health=False breaker=open", "resume"]
    assert h.publisher.sent == [] and h.metrics.processed[AGENT] == 0
    assert h.guard.breaker.state == "closed"  # the next start begins with a closed breaker


def test_cancellation_propagates_and_is_not_dead_lettered():
    h = Harness()
    with pytest.raises(asyncio.CancelledError):
        h.run(h.handler(asyncio.CancelledError()))
    assert h.publisher.sent == [] and h.handled == 1
