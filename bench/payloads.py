"""The benchmark's inputs: deterministic route requests and the RouteCalculated events they give.

Built once per run and fed unchanged to every contestant (Faust worker, raw loop, renderer), so the
figures compare the same work. Pure: no Kafka, no files.
"""

from __future__ import annotations

import random

from logiflow.domain.geo import Gazetteer
from logiflow.domain.model import PlaceRef, RouteRequested
from logiflow.domain.routing import RoutingParams, plan_route
from logiflow.wire import (
    decode_route_requested,
    encode_route_calculated,
    encode_route_requested,
)

Record = tuple[bytes, bytes]  # (key = truck id, JSON value)

# A fixed record timestamp for pre-planned route events (2025-11-24T16:00:00Z).
PLANNED_AT_MS = 1_764_000_000_000


def route_requests(count: int, trucks: int, gazetteer: Gazetteer, seed: int = 7,
                   with_stops_every: int = 10) -> list[Record]:
    """``count`` valid requests round-robin over ``trucks`` trucks, between gazetteer cities.

    Every ``with_stops_every``-th request has 1 to 3 intermediate stops (so the stop ordering runs
    too); the rest go straight from origin to destination.
    """
    rng = random.Random(seed)
    names = gazetteer.names()
    records: list[Record] = []
    for i in range(count):
        origin, destination = rng.sample(names, 2)
        stops: tuple[PlaceRef, ...] = ()
        if i % with_stops_every == 0:
            others = [n for n in names if n not in (origin, destination)]
            stops = tuple(PlaceRef(name=n) for n in rng.sample(others, rng.randint(1, 3)))
        truck = f"TR-{i % trucks:04d}"
        request = RouteRequested(request_id=f"bench-{i:06d}", truck_id=truck,
                                 customer_id=f"CU-{i % 37:03d}", origin=PlaceRef(name=origin),
                                 destination=PlaceRef(name=destination), stops=stops)
        records.append((truck.encode(), encode_route_requested(request)))
    return records


def route_events(requests: list[Record], gazetteer: Gazetteer, params: RoutingParams,
                 received_ms: int = PLANNED_AT_MS) -> list[Record]:
    """The RouteCalculated events the routing agent would publish for ``requests``."""
    out: list[Record] = []
    for key, value in requests:
        route = plan_route(decode_route_requested(value, key), gazetteer, params, received_ms)
        out.append((key, encode_route_calculated(route)))
    return out
