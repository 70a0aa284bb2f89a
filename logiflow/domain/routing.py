"""Route planning: stop ordering, distance, duration and the RouteCalculated event. Pure.

Distances are great-circle distances scaled by a road factor; durations follow from an average
speed plus a fixed dwell time per intermediate stop. Everything a plan depends on is in the
request, the gazetteer, the parameters and the Kafka record timestamp, so re-processing the same
record yields the same event, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from logiflow.domain.geo import Gazetteer, haversine_km
from logiflow.domain.model import Place, RouteCalculated, RouteRequested, content_id
from logiflow.errors import ConfigError

EVENT_ID_PREFIX = "rc"
ROUTE_ID_PREFIX = "rt"

# A move must shorten the path by more than this (km) to count: float noise must not make the
# local search cycle or reorder stops for nothing.
_MIN_GAIN_KM = 1e-7
# Longest run of consecutive stops that or-opt relocates as a block.
_MAX_SEGMENT = 3


@dataclass(frozen=True)
class RoutingParams:
    """How a great-circle path becomes a road distance and a duration."""

    road_factor: float = 1.25
    """Road distance / great-circle distance (>= 1)."""
    avg_speed_kmh: float = 70.0
    """Average truck speed, km/h (> 0)."""
    stop_dwell_min: float = 30.0
    """Minutes spent at each intermediate stop (>= 0)."""

    def __post_init__(self) -> None:
        if not self.road_factor >= 1:
            raise ConfigError(f"road factor must be >= 1, got {self.road_factor}")
        if not self.avg_speed_kmh > 0:
            raise ConfigError(f"average speed must be > 0 km/h, got {self.avg_speed_kmh}")
        if not self.stop_dwell_min >= 0:
            raise ConfigError(f"stop dwell must be >= 0 minutes, got {self.stop_dwell_min}")


def path_km(points: Sequence[Place]) -> float:
    """Great-circle length of the path through ``points`` in order (0 for fewer than two)."""
    return sum(haversine_km(a, b) for a, b in pairwise(points))


def order_stops(origin: Place, stops: Sequence[Place], destination: Place) -> tuple[Place, ...]:
    """Order the intermediate stops to shorten the path origin → stops → destination.

    Nearest-neighbour construction from the origin, then local search until no move shortens
    the path: 2-opt (reverse a run of stops) and or-opt (move a run of up to three stops,
    possibly reversed, elsewhere). The same search also starts from the input order and the
    shorter result wins, so the answer is never longer than either starting point; with up to
    three stops every order is one move away, so the answer is optimal. Ties go to the input
    order. Deterministic: the same input always gives the same order.
    """
    n = len(stops)
    if n < 2:
        return tuple(stops)
    # Node ids: 0 = origin, 1..n = stops in input order, n + 1 = destination.
    nodes = [origin, *stops, destination]
    dist = [[haversine_km(a, b) for b in nodes] for a in nodes]
    from_input = _improve(list(range(1, n + 1)), dist)
    from_nn = _improve(_nearest_neighbour(n, dist), dist)
    best = from_input
    if _length(from_nn, dist) < _length(from_input, dist) - _MIN_GAIN_KM:
        best = from_nn
    return tuple(nodes[i] for i in best)


def _nearest_neighbour(n: int, dist: list[list[float]]) -> list[int]:
    """Greedy order: always go to the closest unvisited stop (first in input order on a tie)."""
    order: list[int] = []
    remaining = list(range(1, n + 1))
    current = 0
    while remaining:
        nearest = min(remaining, key=lambda node: dist[current][node])  # min keeps the first
        remaining.remove(nearest)
        order.append(nearest)
        current = nearest
    return order


def _length(order: list[int], dist: list[list[float]]) -> float:
    path = [0, *order, len(dist) - 1]
    return sum(dist[a][b] for a, b in pairwise(path))


def _improve(order: list[int], dist: list[list[float]]) -> list[int]:
    """Apply the first shortening 2-opt or or-opt move, repeatedly, until there is none."""
    while True:
        moved = _two_opt_move(order, dist) or _or_opt_move(order, dist)
        if moved is None:
            return order
        order = moved


def _two_opt_move(order: list[int], dist: list[list[float]]) -> list[int] | None:
    end = len(dist) - 1
    path = [0, *order, end]
    # Reversing path[i..j] swaps edges (i-1, i) and (j, j+1) for (i-1, j) and (i, j+1).
    for i in range(1, len(path) - 2):
        for j in range(i + 1, len(path) - 1):
            a, b, c, d = path[i - 1], path[i], path[j], path[j + 1]
            if dist[a][c] + dist[b][d] - dist[a][b] - dist[c][d] < -_MIN_GAIN_KM:
                return order[: i - 1] + order[i - 1 : j][::-1] + order[j:]
    return None


def _or_opt_move(order: list[int], dist: list[list[float]]) -> list[int] | None:
    end = len(dist) - 1
    n = len(order)
    for size in range(1, min(_MAX_SEGMENT, n - 1) + 1):
        for start in range(n - size + 1):
            segment = order[start : start + size]
            rest = order[:start] + order[start + size :]
            before = order[start - 1] if start > 0 else 0
            after = order[start + size] if start + size < n else end
            first, last = segment[0], segment[-1]
            saved = dist[before][first] + dist[last][after] - dist[before][after]
            hosts = [0, *rest, end]
            for k in range(len(hosts) - 1):
                p, q = hosts[k], hosts[k + 1]
                forward = dist[p][first] + dist[last][q] - dist[p][q]
                backward = dist[p][last] + dist[first][q] - dist[p][q]
                if forward - saved < -_MIN_GAIN_KM:
                    return rest[:k] + segment + rest[k:]
                if backward - saved < -_MIN_GAIN_KM:
                    return rest[:k] + segment[::-1] + rest[k:]
    return None


def plan_route(req: RouteRequested, gazetteer: Gazetteer, params: RoutingParams,
               received_ms: int) -> RouteCalculated:
    """Plan the route a request asks for.

    Args:
        req: The decoded request.
        gazetteer: Resolves place names.
        params: Road factor, speed and dwell time.
        received_ms: The Kafka record timestamp: the event's timestamp, and the departure when
            the request names none (so re-processing the same record gives the same event).

    Returns:
        The RouteCalculated event. ``distanceKm`` is the great-circle path times the road factor;
        ``durationMin`` is that distance at the average speed plus the dwell at each
        intermediate stop, both rounded to 0.1; the ETA is departure + the rounded duration.
        The event id (and route id) hash the request's identity (requestId, truckId).

    Raises:
        PoisonMessage: ``unknown-place`` (or another reason from the gazetteer) for a place
            that cannot be resolved.
    """
    origin = gazetteer.resolve(req.origin)
    destination = gazetteer.resolve(req.destination)
    stops = order_stops(origin, [gazetteer.resolve(ref) for ref in req.stops], destination)
    distance_km = round(path_km([origin, *stops, destination]) * params.road_factor, 1)
    duration_min = round(distance_km / params.avg_speed_kmh * 60
                         + params.stop_dwell_min * len(stops), 1)
    departure_ms = req.departure_ms if req.departure_ms is not None else received_ms
    event_id = content_id(EVENT_ID_PREFIX, {"requestId": req.request_id, "truckId": req.truck_id})
    digest = event_id.split("-", 1)[1]
    return RouteCalculated(
        event_id=event_id,
        truck_id=req.truck_id,
        eta_ms=departure_ms + round(duration_min * 60_000),
        timestamp_ms=received_ms,
        route_id=f"{ROUTE_ID_PREFIX}-{digest}",
        request_id=req.request_id,
        customer_id=req.customer_id,
        origin=origin,
        destination=destination,
        stops=stops,
        distance_km=distance_km,
        duration_min=duration_min,
        minimal=False,
    )
