"""generate_invoices: routes → priced PDF invoices.

Consumes: ``routing.events`` (RouteCalculated JSON, our full shape or the seed's minimal one from
any producer, keyed by truck id), as raw bytes.
Produces: ``invoice.events`` (InvoiceGenerated JSON, keyed by truck id, acknowledged by the
broker before the invoice counts as issued); a PDF per invoice in the invoice store.
State:    ``invoices-issued`` (per invoice id), ``truck-invoices`` (count and revenue per truck).
On failure: poison → DLQ at once. Renderer failure, hang or crash and store I/O errors are
transient: retried with backoff; if the renderer is down the circuit breaker pauses this agent's
partitions (events wait in Kafka, routing is unaffected) until a probe render succeeds; a
message that fails while the renderer is healthy is dead-lettered after the configured attempts.

Idempotent: the invoice id derives from the route event id; an event seen again (redelivery,
restart, DLQ replay) is skipped once its InvoiceGenerated is recorded, an existing PDF is never
re-rendered or overwritten.

Pipelined: events are taken in small batches (each acked only once it is processed) and their
PDFs are rendered ahead, so the renderer works on the next invoice while this one is
stored and announced. Each event is still handled on its own, in order, under its own event
context (table writes go to its partition), with the failure policy applied per event.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from logiflow.app import app, runtime, topics_
from logiflow.domain.invoice import invoice_generated, price_route
from logiflow.domain.state import apply_invoice
from logiflow.errors import PoisonMessage, WorkerStopping
from logiflow.failures import Guard, Source, source_of
from logiflow.streaming import abandon_unacked, ack, as_current_event
from logiflow.wire import decode_route_calculated, encode_invoice_generated
from tables.trucks import invoices_issued, truck_invoices

AGENT = "generate_invoices"
log = logging.getLogger(__name__)


def _assigned_source_partitions() -> set[Any]:
    name = topics_.routing_events.get_topic_name()
    return {tp for tp in app.consumer.assignment() if tp.topic == name}


guard = Guard(
    AGENT, runtime.settings, runtime.publisher, runtime.metrics,
    health_check=lambda: runtime.renderer.healthy(),
    pause=lambda: app.consumer.pause_partitions(_assigned_source_partitions()),
    resume=lambda: app.consumer.resume_partitions(_assigned_source_partitions()),
    stopping=lambda: bool(app.should_stop),
)


# Renders started ahead for the current batch, by invoice id.
_ahead: dict[str, asyncio.Future[bytes]] = {}


def render_ahead(sources: list[Source]) -> None:
    """Start rendering the batch's invoices; the pool queues them behind each other."""
    for source in sources:
        try:
            route = decode_route_calculated(source.value, source.key,
                                            runtime.settings.max_message_bytes)
        except PoisonMessage:
            continue  # handled (dead-lettered) in order, by the guard
        invoice = price_route(route, runtime.rates, runtime.seller)
        if invoice.invoice_id not in _ahead and not runtime.store.exists(invoice.invoice_id):
            _ahead[invoice.invoice_id] = asyncio.ensure_future(runtime.renderer.render(invoice))


async def drop_renders_ahead() -> None:
    """Cancel what was rendered ahead (after a failure, or at the end of a batch)."""
    pending = list(_ahead.values())
    _ahead.clear()
    for fut in pending:
        fut.cancel()
    for fut in pending:
        with contextlib.suppress(BaseException):
            await fut


async def handle_route_calculated(source: Source) -> None:
    route = decode_route_calculated(source.value, source.key, runtime.settings.max_message_bytes)
    invoice = price_route(route, runtime.rates, runtime.seller)
    if invoices_issued.get(invoice.invoice_id) is not None:
        runtime.metrics.mark_duplicate(AGENT)
        return
    store = runtime.store
    location = await asyncio.to_thread(store.get_path, invoice.invoice_id)
    if location is None:  # not rendered yet (a crash may have left it rendered, unpublished)
        ahead = _ahead.pop(invoice.invoice_id, None)
        try:
            pdf = await (ahead if ahead is not None else runtime.renderer.render(invoice))
        except BaseException:
            # The renderer is failing: the renders queued ahead would only time out one after
            # the other in front of the breaker's probe. Retries render afresh.
            await drop_renders_ahead()
            raise
        stored, _created = await asyncio.to_thread(store.put_if_absent, invoice.invoice_id, pdf)
    else:
        stored = str(location)
    generated = invoice_generated(invoice, stored)
    await runtime.publisher.send(topics_.invoice_events.get_topic_name(), route.truck_id.encode(),
                                 encode_invoice_generated(generated), wait=True)
    invoices_issued[invoice.invoice_id] = {
        "invoiceNumber": generated.invoice_number, "truckId": generated.truck_id,
        "gross": str(generated.gross), "currency": generated.currency,
        "routeEventId": generated.route_event_id, "timestamp": generated.timestamp_ms,
        "issuedAt": int(time.time() * 1000),
    }
    truck_invoices[route.truck_id] = apply_invoice(truck_invoices.get(route.truck_id), generated)
    runtime.metrics.observe_latency(max(0.0, time.time() - route.timestamp_ms / 1000))


@app.agent(topics_.routing_events, name=AGENT, concurrency=1)
async def generate_invoices(stream: Any) -> AsyncIterator[bool]:
    settings = runtime.settings
    batches = stream.noack_take(settings.invoice_batch, within=settings.invoice_batch_wait_s)
    try:
        async for events in batches:
            sources = [source_of(event) for event in events]
            render_ahead(sources)
            try:
                for event, source in zip(events, sources, strict=True):
                    as_current_event(event)
                    outcome = await guard.run(source, handle_route_calculated)
                    await ack(stream, event)  # done: only now may its offset be committed
                    yield outcome  # as in routing: Faust's test agents wait for it
            finally:
                await drop_renders_ahead()
    except WorkerStopping as stop:
        # Shutdown while the renderer is down: the events in hand stay unacked, so they are
        # delivered again after the restart, and the shutdown does not wait for them.
        await batches.aclose()
        stream.enable_acks = False  # closing restored auto-acks: nothing may ack them now
        left = abandon_unacked(app, topics_.routing_events.get_topic_name())
        log.warning("%s; %d events left for the next start", stop, left)
