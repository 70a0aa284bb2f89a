"""Announcements sent ahead: each invoice's InvoiceGenerated goes out as soon as its PDF is stored.

The invoice agent handles a batch's events in order, and an invoice counts as issued (table
write, then ack of its event) only once the broker acknowledged its ``InvoiceGenerated``. Waited
for one invoice at a time, those acknowledgements were a broker round trip per invoice: the
end-to-end rate was a fraction of the renderers' (152 against 1,226 invoices/s on two cores,
``bench/results/services.txt`` before this). :class:`AnnounceAhead` walks the batch in order in
a task of its own and sends each invoice that is to be announced without waiting for the ack;
the agent's handler takes the pending announcement of its invoice (:meth:`AnnounceAhead.take`),
waits for its ack and records it. So the acks of a batch arrive together, and the order of the
table writes and event acks is unchanged.

Nothing is announced twice by this: the handler waits until the walk has decided about its
invoice (sent, or left to the handler) before it looks, an invoice id is sent at most once per
batch, and what was sent but not recorded when a worker dies is on the tail of
``invoice.events``, where the redelivered event finds it (:mod:`logiflow.processing.published`).
A failure of the walk (render, store, send) is the handler's first attempt at that invoice: it
raises it to the failure policy and retries on its own; the walk stops there and leaves the
rest of the batch to the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from logiflow.domain.model import InvoiceGenerated
from logiflow.errors import LogiflowError
from logiflow.processing.render_ahead import Prepared

log = logging.getLogger(__name__)

Pending = tuple[InvoiceGenerated, Awaitable[None]]  # the event sent, and its broker ack
Eligible = Callable[[Any, Prepared], Awaitable[bool]]  # (event, prepared) -> to be announced?
Send = Callable[[Prepared], Awaitable[Pending]]


class AnnounceAhead:
    """The pending announcements of one batch, by invoice id. Local to one agent run."""

    def __init__(self, eligible: Eligible, send: Send) -> None:
        self._eligible, self._send = eligible, send
        self._decided: dict[str, asyncio.Future[Pending | None]] = {}
        self._walk: asyncio.Future[None] | None = None

    def start(self, batch: list[tuple[Any, Prepared]]) -> None:
        """Start announcing ``batch``'s invoices in order (poison has no invoice)."""
        todo = []
        for event, p in batch:
            if p.invoice is not None and p.invoice.invoice_id not in self._decided:
                decided = asyncio.get_running_loop().create_future()
                self._decided[p.invoice.invoice_id] = decided
                todo.append((event, p, decided))
        self._walk = asyncio.ensure_future(self._run(todo))

    async def _run(self, todo: list[tuple[Any, Prepared, asyncio.Future[Pending | None]]]) -> None:
        try:
            for event, p, decided in todo:
                try:
                    pending = await self._send(p) if await self._eligible(event, p) else None
                except LogiflowError as exc:
                    # The handler's first attempt: it raises this failure to the failure policy,
                    # and retries on its own. The walk stops here.
                    if not decided.done():
                        decided.set_exception(exc)
                    return
                if not decided.done():
                    decided.set_result(pending)
                elif pending is not None:
                    _ack_later(pending[1])
        finally:
            for _event, _p, decided in todo:
                if not decided.done():
                    decided.set_result(None)

    async def take(self, invoice_id: str) -> Pending | None:
        """The announcement sent ahead for ``invoice_id``, once the walk has decided about it;
        None: not sent ahead (the handler announces it, or not, itself). Raises what made the
        walk fail at this invoice. Taken once."""
        decided = self._decided.get(invoice_id)
        if decided is None:
            return None
        try:
            return await decided
        finally:
            self._decided.pop(invoice_id, None)

    async def drop(self) -> None:
        """End the batch: stop the walk. An announcement sent but not taken stays on
        ``invoice.events``; its event, not acked, comes again and is recorded then."""
        walk, self._walk = self._walk, None
        if walk is not None:
            walk.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await walk
                except Exception:
                    log.exception("announcing ahead failed")
        for decided in self._decided.values():
            if not decided.done():
                decided.cancel()
            elif not decided.cancelled() and decided.exception() is None:
                pending = decided.result()
                if pending is not None:
                    _ack_later(pending[1])
        self._decided.clear()


def _ack_later(ack: Awaitable[None]) -> None:
    """Let an untaken announcement's ack complete on its own (its failure is not ours)."""
    fut = asyncio.ensure_future(ack)
    fut.add_done_callback(lambda f: f.cancelled() or f.exception())
