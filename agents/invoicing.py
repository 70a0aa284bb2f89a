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
re-rendered or overwritten. An invoice announced just before a kill -9 (its table write lost) is
found on the tail of ``invoice.events`` (:mod:`logiflow.processing.published`): recorded, not
announced again.

Pipelined: events are taken in small batches (each acked only once it is processed), decoded
and priced once, their PDFs rendered and stored ahead
(:mod:`logiflow.processing.render_ahead`), and each InvoiceGenerated sent as soon as its PDF is
stored, its broker ack awaited by the handler (:mod:`logiflow.processing.announce_ahead`), so
the renderers, the store and the broker work on the next invoices while this one is recorded.
Each event is still handled on its own, in order, under its own event context (table writes go
to its partition), with the failure policy applied per event.
"""

import functools
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from logiflow import topics
from logiflow.app import app
from logiflow.domain.invoice import invoice_generated
from logiflow.domain.model import InvoiceGenerated, SourceRecord
from logiflow.domain.trucks import apply_invoice, issued_record, lost_truck_write
from logiflow.errors import WorkerStopping
from logiflow.processing.announce_ahead import AnnounceAhead, Pending
from logiflow.processing.batches import ack
from logiflow.processing.failure_policy import source_of
from logiflow.processing.faust_compat import abandon_unacked, set_current_event
from logiflow.processing.published import PublishedInvoices
from logiflow.processing.render_ahead import Prepared, RenderAhead, prepare
from logiflow.wire import encode_invoice_generated
from tables.trucks import invoices_issued, truck_invoices

log = logging.getLogger(__name__)


@app.agent(app.app_topics.routing_events, name=topics.GENERATE_INVOICES, concurrency=1)
async def generate_invoices(stream: Any) -> AsyncIterator[bool]:
    deps = app.deps
    settings, policy = deps.settings, deps.policy(topics.GENERATE_INVOICES)
    out_topic = app.app_topics.invoice_events.get_topic_name()
    ahead = RenderAhead(deps.renderer, deps.store)
    source_topic = app.app_topics.routing_events.get_topic_name()
    published = PublishedInvoices(
        read_tails=lambda partitions: deps.event_log.tails(out_topic, partitions, settings.dedupe_tail),
        generation=lambda: app.consumer_generation_id,
        assigned=lambda: [tp.partition for tp in app.assignor.assigned_actives() if tp.topic == source_topic])

    async def eligible(event: Any, p: Prepared) -> bool:
        """To be announced: not issued, not on the tail of invoice.events."""
        if issued(event, p):
            return False
        assert p.invoice is not None
        return not await published.announced(p.source.partition, p.invoice.invoice_id)

    async def send_ahead(p: Prepared) -> Pending:
        assert p.invoice is not None and p.route is not None
        generated = invoice_generated(p.invoice, await ahead.stored(p.invoice))
        acked = await deps.publisher.send_soon(out_topic, p.route.truck_id.encode(),
                                               encode_invoice_generated(generated))
        return generated, acked

    announcing = AnnounceAhead(eligible, send_ahead)

    def record(generated: InvoiceGenerated, truck_id: str, offset: int) -> float:
        now = time.time()
        invoices_issued[generated.invoice_id] = issued_record(
            generated, issued_at_ms=int(now * 1000), source_offset=offset)
        truck_invoices[truck_id] = apply_invoice(truck_invoices.get(truck_id), generated, offset)
        return now

    async def handle(p: Prepared, _source: SourceRecord) -> None:
        if p.poison is not None:
            raise p.poison
        assert p.invoice is not None and p.route is not None
        invoice_id, truck, offset = p.invoice.invoice_id, p.route.truck_id, p.source.offset
        issued = invoices_issued.get(invoice_id)
        if issued is not None:
            # Seen again: a kill -9 may have kept this write in the local store but lost its
            # changelog record (sent after the store write); write it again so the changelog,
            # which a lost local state or a partition move rebuilds from, has it too.
            invoices_issued[invoice_id] = issued
            if lost_truck_write(issued, truck_invoices.get(truck), offset):
                truck_invoices[truck] = apply_invoice(truck_invoices.get(truck),
                                                      invoice_generated(p.invoice, ""), offset)
            deps.metrics.mark_duplicate(topics.GENERATE_INVOICES)
            return
        sent = await announcing.take(invoice_id)
        if sent is not None:  # announced ahead: once the broker has it, it is issued
            generated, acked = sent
            await acked
            now = record(generated, truck, offset)
            deps.metrics.observe_latency(max(0.0, now - p.route.timestamp_ms / 1000))
            return
        generated = invoice_generated(p.invoice, await ahead.stored(p.invoice))
        if await published.announced(p.source.partition, invoice_id):
            # Announced before a crash lost its table write: record it, announce it once only.
            record(generated, truck, offset)
            deps.metrics.mark_duplicate(topics.GENERATE_INVOICES)
            return
        await deps.publisher.send(out_topic, truck.encode(),
                                  encode_invoice_generated(generated), wait=True)
        now = record(generated, truck, offset)
        deps.metrics.observe_latency(max(0.0, now - p.route.timestamp_ms / 1000))

    def issued(event: Any, p: Prepared) -> bool:
        set_current_event(event)  # a RocksDB table reads from the event's partition
        return p.invoice is not None and invoices_issued.get(p.invoice.invoice_id) is not None

    batches = stream.noack_take(settings.invoice_batch, within=settings.invoice_batch_wait_s)
    try:
        async for events in batches:
            batch = [prepare(source_of(e), deps.rates, deps.seller, settings.max_message_bytes)
                     for e in events]
            # Each PDF of the batch is looked up, rendered and stored by its own task, so the
            # renders and the store's fsyncs overlap instead of adding up per invoice.
            ahead.start([p for e, p in zip(events, batch, strict=True) if not issued(e, p)])
            announcing.start(list(zip(events, batch, strict=True)))
            try:
                for event, p in zip(events, batch, strict=True):
                    set_current_event(event)
                    outcome = await policy.run(p.source, functools.partial(handle, p))
                    await ack(stream, event)  # done: only now may its offset be committed
                    yield outcome  # as in routing: Faust's test agents wait for it
            finally:
                await announcing.drop()
                await ahead.drop()
    except WorkerStopping as stop:
        # Shutdown while the renderer is down: the events in hand stay unacked, so they are
        # delivered again after the restart, and the shutdown does not wait for them.
        await batches.aclose()
        stream.enable_acks = False  # closing restored auto-acks: nothing may ack them now
        left = abandon_unacked(app, app.app_topics.routing_events.get_topic_name())
        log.warning("%s; %d events left for the next start", stop, left)
