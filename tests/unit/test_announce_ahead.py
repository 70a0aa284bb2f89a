"""AnnounceAhead: a batch's announcements go out in order without waiting, each taken once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from logiflow.errors import RenderFailed
from logiflow.processing.announce_ahead import AnnounceAhead, Pending
from logiflow.processing.render_ahead import Prepared


class Inv:
    def __init__(self, invoice_id: str) -> None:
        self.invoice_id = invoice_id


def prepared(invoice_id: str | None) -> Prepared:
    return Prepared(source=None, route=None,  # type: ignore[arg-type]
                    invoice=Inv(invoice_id) if invoice_id else None)  # type: ignore[arg-type]


class Broker:
    """Sends recorded in order; each ack completes only when the test releases it."""

    def __init__(self, fail_at: str | None = None, skip: frozenset[str] = frozenset()) -> None:
        self.sent: list[str] = []
        self.acks: dict[str, asyncio.Event] = {}
        self.fail_at, self.skip = fail_at, skip

    async def eligible(self, _event: Any, p: Prepared) -> bool:
        assert p.invoice is not None
        return p.invoice.invoice_id not in self.skip

    async def send(self, p: Prepared) -> Pending:
        assert p.invoice is not None
        invoice_id = p.invoice.invoice_id
        if invoice_id == self.fail_at:
            raise RenderFailed("this one breaks")
        self.sent.append(invoice_id)
        released = self.acks[invoice_id] = asyncio.Event()

        async def acked() -> None:
            await released.wait()

        return invoice_id, acked()  # type: ignore[return-value]


def batch(*ids: str | None) -> list[tuple[Any, Prepared]]:
    return [(object(), prepared(i)) for i in ids]


def test_the_whole_batch_is_sent_before_the_first_ack_and_taken_in_order() -> None:
    async def go() -> None:
        broker = Broker()
        ahead = AnnounceAhead(broker.eligible, broker.send)
        ahead.start(batch("a", "b", "c"))
        first = await ahead.take("a")  # waits for the walk to get to "a"
        assert first is not None and first[0] == "a"
        await asyncio.sleep(0)
        assert broker.sent == ["a", "b", "c"]  # nothing waited for an ack
        for name in ("a", "b", "c"):
            broker.acks[name].set()
        await first[1]
        for name in ("b", "c"):
            pending = await ahead.take(name)
            assert pending is not None
            await pending[1]
        assert await ahead.take("a") is None  # taken once
        await ahead.drop()

    asyncio.run(go())


def test_an_invoice_twice_in_a_batch_is_sent_once_and_poison_is_skipped() -> None:
    async def go() -> None:
        broker = Broker()
        ahead = AnnounceAhead(broker.eligible, broker.send)
        ahead.start(batch("a", None, "a"))
        pending = await ahead.take("a")
        assert pending is not None
        broker.acks["a"].set()
        await pending[1]
        assert await ahead.take("a") is None
        assert broker.sent == ["a"]
        await ahead.drop()

    asyncio.run(go())


def test_an_invoice_not_to_be_announced_is_left_to_the_handler() -> None:
    async def go() -> None:
        broker = Broker(skip=frozenset({"b"}))
        ahead = AnnounceAhead(broker.eligible, broker.send)
        ahead.start(batch("a", "b"))
        assert await ahead.take("b") is None
        assert broker.sent == ["a"]
        await ahead.drop()

    asyncio.run(go())


def test_a_failure_is_the_handlers_first_attempt_and_stops_the_walk() -> None:
    async def go() -> None:
        broker = Broker(fail_at="b")
        ahead = AnnounceAhead(broker.eligible, broker.send)
        ahead.start(batch("a", "b", "c"))
        with pytest.raises(RenderFailed):
            await ahead.take("b")
        assert await ahead.take("b") is None  # the retry does it itself
        assert await ahead.take("c") is None  # after the failure: the handler's
        assert broker.sent == ["a"]
        await ahead.drop()  # "a" was sent and never taken: its ack is left to complete

    asyncio.run(go())
