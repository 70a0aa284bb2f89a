"""calculate_routes: route requests → routes.

Consumes: ``routing.requests`` (RouteRequested JSON, keyed by truck id), as raw bytes.
Produces: ``routing.events`` (RouteCalculated JSON, keyed by truck id).
State:    ``truck-routes`` (routes, km, last destination, ETA, last event time per truck).
On failure: poison input (bad JSON, missing fields, unknown places, key mismatch...) goes to the
DLQ at once; a broker send error is retried, then dead-lettered; nothing stops the stream.
"""

from collections.abc import AsyncIterator
from typing import Any

from logiflow.app import app, runtime, topics_
from logiflow.domain.routing import plan_route
from logiflow.domain.state import apply_route
from logiflow.events import decode_route_requested, encode_route_calculated
from logiflow.failures import Guard, Source, source_of
from tables.trucks import truck_routes

AGENT = "calculate_routes"
guard = Guard(AGENT, runtime.settings, runtime.publisher, runtime.metrics)


async def handle_route_request(source: Source) -> None:
    request = decode_route_requested(source.value, source.key, runtime.settings.max_message_bytes)
    route = plan_route(request, runtime.gazetteer, runtime.routing,
                       received_ms=source.timestamp_ms or 0)
    await runtime.publisher.send(topics_.routing_events.get_topic_name(),
                                 route.truck_id.encode(), encode_route_calculated(route))
    truck_routes[route.truck_id] = apply_route(truck_routes.get(route.truck_id), route,
                                               source.offset)


@app.agent(topics_.route_requests, name=AGENT, concurrency=1)
async def calculate_routes(stream: Any) -> AsyncIterator[bool]:
    async for event in stream.events():
        # Yields the outcome (True processed, False dead-lettered): Faust's test agents wait
        # for it, and it costs nothing without sinks.
        yield await guard.run(source_of(event), handle_route_request)
