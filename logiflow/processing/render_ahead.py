"""Invoices prepared once per event, and their PDFs rendered and stored ahead of the handler.

The invoice agent decodes and prices each event once (:func:`prepare`), starts its PDF at once
(:class:`RenderAhead`: look for it in the store, else render it in the pool and store it; the
pool and the store's threads work on several at a time), and handles the events in order, each
taking its own stored PDF when it gets there. The store's durable write (an fsync, ~7 ms on this
machine's disk) and the render (~9 ms through the pool) then overlap with other invoices instead
of adding up per invoice: only the announcement is waited for one invoice at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from logiflow.domain.invoice import Invoice, Party, Rates, price_route
from logiflow.domain.model import RouteCalculated, SourceRecord
from logiflow.errors import PoisonMessage
from logiflow.ports import InvoiceStore, Renderer
from logiflow.wire import decode_route_calculated


@dataclass(frozen=True)
class Prepared:
    """One consumed RouteCalculated: decoded and priced, or the poison it is."""

    source: SourceRecord
    route: RouteCalculated | None
    invoice: Invoice | None
    poison: PoisonMessage | None = None


def prepare(source: SourceRecord, rates: Rates, seller: Party, max_bytes: int) -> Prepared:
    """Decode and price ``source`` (pure)."""
    try:
        route = decode_route_calculated(source.value, source.key, max_bytes)
    except PoisonMessage as poison:
        return Prepared(source, None, None, poison)
    return Prepared(source, route, price_route(route, rates, seller))


class RenderAhead:
    """Stored PDFs on their way, by invoice id. Local to one agent run."""

    def __init__(self, renderer: Renderer, store: InvoiceStore) -> None:
        self.renderer = renderer
        self.store = store
        self._ahead: dict[str, asyncio.Future[str]] = {}

    def start(self, batch: list[Prepared]) -> None:
        """Start storing the PDFs of ``batch``'s invoices (poison has none)."""
        invoices = {p.invoice.invoice_id: p.invoice for p in batch
                    if p.invoice is not None and p.invoice.invoice_id not in self._ahead}
        if not invoices:
            return
        # One trip to a thread looks for all of them: a hop per invoice cost a thread wake-up
        # each, and they queued behind the stores' writes on the executor.
        found = asyncio.ensure_future(asyncio.to_thread(self._find, list(invoices)))
        for invoice_id, invoice in invoices.items():
            self._ahead[invoice_id] = asyncio.ensure_future(self._stored(invoice, found))

    def _find(self, invoice_ids: list[str]) -> dict[str, str]:
        """The stored ones among ``invoice_ids``, with their locations (blocking)."""
        return {i: str(path) for i in invoice_ids if (path := self.store.get_path(i)) is not None}

    async def _stored(self, invoice: Invoice,
                      found: asyncio.Future[dict[str, str]] | None = None) -> str:
        """Where the invoice's PDF is stored: found (a crash may have left it rendered but not
        announced: it is never rendered again), or rendered and stored now (create-once)."""
        if found is None:
            path = await asyncio.to_thread(self.store.get_path, invoice.invoice_id)
            location = None if path is None else str(path)
        else:  # shielded: the batch's lookup is shared, one cancelled caller must not cancel it
            location = (await asyncio.shield(found)).get(invoice.invoice_id)
        if location is not None:
            return location
        pdf = await self.renderer.render(invoice)
        stored, _created = await asyncio.to_thread(self.store.put_if_absent, invoice.invoice_id, pdf)
        return stored

    async def stored(self, invoice: Invoice) -> str:
        """The PDF's location: from the work started ahead, or done now. On failure every
        render ahead is dropped: the renderer (or store) is failing, and the renders queued
        ahead would only time out one after the other in front of the breaker's probe.
        Retries start afresh."""
        ahead = self._ahead.pop(invoice.invoice_id, None)
        try:
            return await (ahead if ahead is not None else self._stored(invoice))
        except BaseException:
            await self.drop()
            raise

    async def drop(self) -> None:
        """Cancel what was rendered ahead (after a failure, or at the end of a batch)."""
        pending = list(self._ahead.values())
        self._ahead.clear()
        for fut in pending:
            fut.cancel()
        for fut in pending:
            with contextlib.suppress(BaseException):
                await fut
