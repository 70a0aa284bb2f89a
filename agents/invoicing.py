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
"""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from logiflow.app import app, runtime, topics_
from logiflow.domain.invoice import invoice_generated, price_route
from logiflow.domain.state import apply_invoice
from logiflow.events import decode_route_calculated, encode_invoice_generated
from logiflow.failures import Guard, Source, source_of
from tables.trucks import invoices_issued, truck_invoices

AGENT = "generate_invoices"


def _assigned_source_partitions() -> set[Any]:
    name = topics_.routing_events.get_topic_name()
    return {tp for tp in app.consumer.assignment() if tp.topic == name}


guard = Guard(
    AGENT, runtime.settings, runtime.publisher, runtime.metrics,
    health_check=lambda: runtime.renderer.healthy(),
    pause=lambda: app.consumer.pause_partitions(_assigned_source_partitions()),
    resume=lambda: app.consumer.resume_partitions(_assigned_source_partitions()),
)


async def handle_route_calculated(source: Source) -> None:
    route = decode_route_calculated(source.value, source.key, runtime.settings.max_message_bytes)
    invoice = price_route(route, runtime.rates, runtime.seller)
    if invoices_issued.get(invoice.invoice_id) is not None:
        runtime.metrics.mark_duplicate(AGENT)
        return
    store = runtime.store
    location = await asyncio.to_thread(store.get_path, invoice.invoice_id)
    if location is None:  # not rendered yet (a crash may have left it rendered, unpublished)
        pdf = await runtime.renderer.render(invoice)
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
    async for event in stream.events():
        yield await guard.run(source_of(event), handle_route_calculated)  # outcome, as in routing
