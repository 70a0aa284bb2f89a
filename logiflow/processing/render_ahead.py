"""Invoices prepared once per event, and their PDFs rendered ahead of the handler.

The invoice agent decodes and prices each event of a batch once (:func:`prepare`), starts the
renders of the batch at once (:class:`RenderAhead`: the renderer pool queues them), and handles
the events in order, each taking its own render when it gets there. So the renderer works on
the next invoices while this one is stored and announced.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from logiflow.domain.invoice import Invoice, Party, Rates, price_route
from logiflow.domain.model import RouteCalculated, SourceRecord
from logiflow.errors import PoisonMessage
from logiflow.ports import Renderer
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
    """Renders started ahead for one batch, by invoice id. Local to one agent run."""

    def __init__(self, renderer: Renderer) -> None:
        self.renderer = renderer
        self._ahead: dict[str, asyncio.Future[bytes]] = {}

    def start(self, batch: list[Prepared]) -> None:
        """Start rendering the batch's invoices (poison has none); the pool queues them."""
        for p in batch:
            if p.invoice is None or p.invoice.invoice_id in self._ahead:
                continue
            self._ahead[p.invoice.invoice_id] = asyncio.ensure_future(self.renderer.render(p.invoice))

    async def render(self, invoice: Invoice) -> bytes:
        """The PDF: the render started ahead, or a new one. On failure every render ahead is dropped.

        The renderer is failing: the renders queued ahead would only time out one after the other
        in front of the breaker's probe. Retries render afresh.
        """
        ahead = self._ahead.pop(invoice.invoice_id, None)
        try:
            return await (ahead if ahead is not None else self.renderer.render(invoice))
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
