"""Per-event processing with write-behind table state: events handled as they arrive, acked later.

An agent takes what is queued (``noack_take`` with a short window, :data:`TAKE_WINDOW_S`: the
most a lone request waits before it is handled), handles each event at once (its output is sent
before the next one is looked at) and folds its table writes per key
(:class:`~logiflow.processing.batches.BatchWrites`, like Kafka Streams' record cache). The events
it handled are *held*: not acked, so their offsets cannot be committed, until their writes are
flushed. :meth:`WriteBehind.batches` flushes and then acks them when

* ``max_events`` are held, or the oldest has been held ``max_age_s`` (under a backlog: one table
  write per key per ``max_age_s`` instead of one per take);
* no further batch arrives within :data:`IDLE_S` (trickling in: the state is written at once);
* the agent stops (cancelled or closed).

Why the bounded wait matters: while a rebalance suspends the flow, the stream takes queued
events and skips them without handing the agent anything, and Faust's revocation waits until
every event taken so far is acked. An agent that held events until its *next* batch would wait
for a batch that does not come while the revocation waits for its acks. Here the wait for the
next batch is bounded while events are held: at most :data:`IDLE_S` later they are flushed and
acked, whether or not anything arrives. The wait runs the take's ``__anext__`` in a task of its
own, left running (not cancelled) when the wait times out: cancelling it would close Faust's
take generator.

The window: a take waits for it once it has an event, so a lone request waits up to the window.
On a quiet 2-core machine 5 ms against 20 ms (bench/README.md, 2026-12-02): request →
RouteCalculated p99 34 / 18 / 24 ms at 5 / 50 / 100 requests/s (49 ms at 5/s with 20 ms), and
routing under a backlog 3,235-3,467 against 3,428-3,627 requests/s (about 5% fewer: more takes
come back part-full). (2 ms made routing under a backlog ~40% slower on a loaded machine.)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from logiflow.processing.batches import BatchWrites, ack

TAKE_WINDOW_S = 0.005
# Held events are flushed when no batch arrives within this (more than a take window): the
# stream is idle, or a rebalance has suspended it.
IDLE_S = TAKE_WINDOW_S + 0.005


class WriteBehind:
    """The events an agent handled but has not acked yet, and the table writes they made."""

    def __init__(self, stream: Any, writes: Sequence[BatchWrites[Any]], *, max_events: int,
                 max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.writes = list(writes)
        self.max_events = max_events
        self.max_age_s = max_age_s
        self.clock = clock
        self.held: list[Any] = []
        self._since = 0.0  # when the oldest held event was handed to the agent
        self.flushes = 0

    def _hold(self, events: Sequence[Any]) -> None:
        if not self.held:
            self._since = self.clock()
        self.held.extend(events)

    def _due(self) -> bool:
        return len(self.held) >= self.max_events or self.clock() - self._since >= self.max_age_s

    def _wait_s(self) -> float:
        return max(0.0, min(IDLE_S, self._since + self.max_age_s - self.clock()))

    async def flush(self) -> None:
        """Write every folded key, then ack the held events: only now may their offsets commit."""
        for writes in self.writes:
            writes.flush()
        held, self.held = self.held, []
        if held:
            self.flushes += 1
            await ack(self.stream, *held)

    async def batches(self, take: int) -> AsyncGenerator[Sequence[Any], None]:
        """The stream's events as soon as they are queued (up to ``take`` at a time).

        The agent handles a batch fully (sends, table writes through ``self.writes``) before it
        asks for the next; from then on the batch is held until a flush.
        """
        events_in = self.stream.noack_take(take, within=TAKE_WINDOW_S)
        pending: asyncio.Future[Sequence[Any]] | None = None
        try:
            while True:
                pending = asyncio.ensure_future(events_in.__anext__())
                if self.held:
                    done, _ = await asyncio.wait({pending}, timeout=self._wait_s())
                    if not done:
                        await self.flush()  # idle, or suspended by a rebalance
                try:
                    events = await pending
                except StopAsyncIteration:
                    return
                pending = None
                yield events
                self._hold(events)
                if self._due():
                    await self.flush()
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await pending
            # Stopping: what was handled is written and acked; a batch the agent did not finish
            # (closed at its yield) stays unacked and is delivered again.
            await self.flush()
            await events_in.aclose()
