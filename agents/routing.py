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

from logiflow.app import app, runtime, topics_
from logiflow.domain.routing import plan_route
from logiflow.domain.state import TruckRoutes, apply_route
from logiflow.failures import Guard, Source, source_of
from logiflow.streaming import BatchWrites, ack, as_current_event
from logiflow.wire import decode_route_requested, encode_route_calculated
from tables.trucks import truck_routes

AGENT = "calculate_routes"
guard = Guard(AGENT, runtime.settings, runtime.publisher, runtime.metrics)


async def handle_route_request(source: Source, states: BatchWrites[TruckRoutes]) -> None:
    request = decode_route_requested(source.value, source.key, runtime.settings.max_message_bytes)
    route = plan_route(request, runtime.gazetteer, runtime.routing,
                       received_ms=source.timestamp_ms or 0)
    await runtime.publisher.send(topics_.routing_events.get_topic_name(),
                                 route.truck_id.encode(), encode_route_calculated(route))
    states.set(route.truck_id, apply_route(states.get(route.truck_id), route, source.offset))


@app.agent(topics_.route_requests, name=AGENT, concurrency=1)
async def calculate_routes(stream: Any) -> AsyncIterator[list[bool]]:
    settings = runtime.settings
    states: BatchWrites[TruckRoutes] = BatchWrites(truck_routes)

    async def handle(source: Source) -> None:
        await handle_route_request(source, states)

    async for events in stream.noack_take(settings.routing_batch, within=settings.routing_batch_wait_s):
        outcomes = []
        for event in events:
            as_current_event(event)  # table reads and writes go to its partition
            outcomes.append(await guard.run(source_of(event), handle))
        states.flush()
        await ack(stream, *events)
        # The batch's outcomes (True processed, False dead-lettered), once its state is written:
        # Faust's test agents wait for a yielded value; it costs nothing without sinks.
        yield outcomes
