"""calculate_routes: route requests → routes.

Consumes: ``routing.requests`` (RouteRequested JSON, keyed by truck id), as raw bytes.
Produces: ``routing.events`` (RouteCalculated JSON, keyed by truck id).
State:    ``truck-routes`` (routes, km, last destination, ETA, last event time per truck).
On failure: poison input (bad JSON, missing fields, unknown places, key mismatch...) goes to the
DLQ at once; a broker send error is retried, then dead-lettered; nothing stops the stream.

Batched: requests are taken up to ``LOGIFLOW_ROUTING_BATCH`` at a time, or what arrived within
``LOGIFLOW_ROUTING_BATCH_WAIT_S``. Each is still handled on its own, in order, with the failure
policy applied per request; only the truck table writes are folded, one per truck per batch.
The batch's requests are acked (their offsets may be committed) only once the whole batch is
processed, table writes included: a worker stopped mid-batch gets them again.
"""

from collections.abc import AsyncIterator
from typing import Any

from logiflow import topics
from logiflow.app import app
from logiflow.domain.model import SourceRecord
from logiflow.domain.routing import plan_route
from logiflow.domain.trucks import TruckRoutes, apply_route
from logiflow.processing.batches import BatchWrites, ack
from logiflow.processing.failure_policy import source_of
from logiflow.processing.faust_compat import set_current_event
from logiflow.wire import decode_route_requested, encode_route_calculated
from tables.trucks import truck_routes


@app.agent(app.app_topics.route_requests, name=topics.CALCULATE_ROUTES, concurrency=1)
async def calculate_routes(stream: Any) -> AsyncIterator[list[bool]]:
    deps = app.deps
    settings, policy = deps.settings, deps.policy(topics.CALCULATE_ROUTES)
    out_topic = app.app_topics.routing_events.get_topic_name()
    states: BatchWrites[TruckRoutes] = BatchWrites(truck_routes)

    async def handle(source: SourceRecord) -> None:
        request = decode_route_requested(source.value, source.key, settings.max_message_bytes)
        route = plan_route(request, deps.gazetteer, deps.routing, received_ms=source.timestamp_ms or 0)
        await deps.publisher.send(out_topic, route.truck_id.encode(), encode_route_calculated(route))
        states.set(route.truck_id, apply_route(states.get(route.truck_id), route, source.offset))

    async for events in stream.noack_take(settings.routing_batch, within=settings.routing_batch_wait_s):
        outcomes = []
        for event in events:
            set_current_event(event)  # table reads and writes go to its partition
            outcomes.append(await policy.run(source_of(event), handle))
        states.flush()
        await ack(stream, *events)
        # The batch's outcomes (True processed, False dead-lettered), once its state is written:
        # Faust's test agents wait for a yielded value; it costs nothing without sinks.
        yield outcomes
