"""WriteBehind: events handed on at once, acked only after their table writes are flushed, and
never held while the stream has nothing to give (a rebalance must not wait for them)."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from logiflow.processing.batches import BatchWrites
from logiflow.processing.faust_compat import set_current_event
from logiflow.processing.write_behind import WriteBehind

DEADLINE_S = 5.0  # a bound for waits that should end at once; never a timing assertion


class Message:
    pass


class Event:
    def __init__(self, n: int) -> None:
        self.n = n
        self.message = Message()


class Table(dict[str, Any]):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def __setitem__(self, key: str, value: Any) -> None:
        self.log.append(f"write {key}={value}")
        super().__setitem__(key, value)


class Stream:
    """Hands out the events put into ``incoming`` (a queue), like a ``noack`` stream; never ends."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.incoming: asyncio.Queue[Event] = asyncio.Queue()
        self.acked = asyncio.Event()

    async def noack_take(self, max_: int, within: float) -> AsyncIterator[list[Event]]:
        """What is queued, up to ``max_`` (the window is Faust's; here the queue decides)."""
        assert within > 0
        while True:
            batch = [await self.incoming.get()]
            while not self.incoming.empty() and len(batch) < max_:
                batch.append(self.incoming.get_nowait())
            yield batch

    async def ack(self, event: Event) -> None:
        self.log.append(f"ack {event.n}")
        self.acked.set()


def run(test: Any) -> None:
    contextvars.copy_context().run(asyncio.run, test())


def setup(max_events: int = 100, max_age_s: float = 60.0) -> tuple[list[str], Stream, Any, WriteBehind]:
    log: list[str] = []
    stream = Stream(log)
    writes: BatchWrites[int] = BatchWrites(Table(log))
    return log, stream, writes, WriteBehind(stream, [writes], max_events=max_events,
                                            max_age_s=max_age_s)


def handle(writes: BatchWrites[int], events: list[Event]) -> None:
    for event in events:
        set_current_event(event)
        writes.set("TR-1", (writes.get("TR-1") or 0) + 1)


def test_an_idle_stream_gets_its_held_events_acked_without_a_next_batch():
    async def test() -> None:
        log, stream, writes, held = setup()
        await stream.incoming.put(Event(1))
        second = asyncio.Event()

        async def agent() -> None:
            async with aclosing(held.batches(4)) as batches:
                async for batch in batches:
                    handle(writes, list(batch))
                    if batch[0].n == 2:
                        second.set()

        task = asyncio.ensure_future(agent())
        await asyncio.wait_for(stream.acked.wait(), DEADLINE_S)  # while the agent waits on
        assert log == ["write TR-1=1", "ack 1"] and not task.done()
        await stream.incoming.put(Event(2))  # later events still flow
        await asyncio.wait_for(second.wait(), DEADLINE_S)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert log[-2:] == ["write TR-1=2", "ack 2"]  # a stopping agent flushes what it handled

    run(test)


def test_a_backlog_is_folded_until_max_events_are_held():
    async def test() -> None:
        log, stream, writes, held = setup(max_events=4)
        for n in range(6):
            await stream.incoming.put(Event(n))  # a backlog: the reader queues four ahead
        seen = 0
        async with aclosing(held.batches(4)) as batches:
            async for batch in batches:
                handle(writes, list(batch))
                seen += len(batch)
                if seen == 6:
                    break
        # One write for the first four (flushed once four are held). The last batch was closed
        # at its yield, so it is not acked (delivered again; the fold skips offsets it counted).
        assert log == ["write TR-1=4", "ack 0", "ack 1", "ack 2", "ack 3", "write TR-1=6"]

    run(test)


def test_a_batch_the_agent_did_not_finish_is_not_acked():
    async def test() -> None:
        log, stream, _writes, held = setup()
        await stream.incoming.put(Event(1))
        async with aclosing(held.batches(4)) as batches:
            async for _batch in batches:
                break  # closed at the yield: the batch was never handled
        assert log == []

    run(test)
