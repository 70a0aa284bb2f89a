"""calculate_routes: route requests → routes.

Consumes: ``routing.requests`` (RouteRequested JSON, keyed by truck id), as raw bytes.
Produces: ``routing.events`` (RouteCalculated JSON, keyed by truck id).
State:    ``truck-routes`` (routes, km, last destination, ETA, last event time per truck).
On failure: poison input (bad JSON, missing fields, unknown places, key mismatch...) goes to the
DLQ at once; a broker send error is retried, then dead-lettered; nothing stops the stream.

Per event, write-behind state (:mod:`logiflow.processing.write_behind`): each request is
handled, and its RouteCalculated sent, as soon as it is queued (no wait to fill a batch), with
the failure policy applied per request. Only the truck table writes are deferred, folded per
truck, and flushed when ``LOGIFLOW_ROUTING_BATCH`` requests are held, after
``LOGIFLOW_ROUTING_BATCH_WAIT_S``, or as soon as nothing more arrives; the requests are acked
(their offsets may be committed) only after that flush: a worker stopped or killed before it
gets them again.
"""

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from logiflow import topics
from logiflow.app import app
from logiflow.domain.model import SourceRecord
from logiflow.domain.routing import plan_route
from logiflow.domain.trucks import TruckRoutes, apply_route
from logiflow.processing.batches import BatchWrites
from logiflow.processing.failure_policy import source_of
from logiflow.processing.faust_compat import set_current_event
from logiflow.processing.write_behind import WriteBehind
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

    held = WriteBehind(stream, [states], max_events=settings.routing_batch,
                       max_age_s=settings.routing_batch_wait_s)
    async with aclosing(held.batches(settings.routing_batch)) as batches:
        async for events in batches:
            outcomes = []
            for event in events:
                set_current_event(event)  # table reads and writes go to its partition
                outcomes.append(await policy.run(source_of(event), handle))
            # True processed, False dead-lettered; the writes are flushed and the events acked
            # later (write_behind). Faust's test agents wait for a yielded value; it costs
            # nothing without sinks.
            yield outcomes
