"""The per-event routing work every bench contestant does, behind one import.

Decode the request (``decode_route_requested``), plan it (``plan_route``), encode the
RouteCalculated (``encode_route_calculated``) and fold it into the truck's state
(``apply_route``): the project's own pure functions, exactly as the routing agent calls them.
The raw loop and the peers (:mod:`bench.peers`) all call :class:`RouteWork`, so they do the
same work by construction; the produce (keyed by truck id) is theirs.

Imports only pure modules (no Faust, no aiokafka): the peers run it in their own venv, where
neither is installed (tests/unit/test_bench_peers.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from logiflow.bootstrap import routing_params_from
from logiflow.domain.geo import Gazetteer
from logiflow.domain.routing import RoutingParams, plan_route
from logiflow.domain.trucks import TruckRoutes, apply_route
from logiflow.errors import PoisonMessage
from logiflow.settings import Settings
from logiflow.wire import decode_route_requested, encode_route_calculated

__all__ = ["PoisonMessage", "RouteWork", "Settings", "TruckRoutes"]


@dataclass(frozen=True)
class RouteWork:
    """The routing agent's per-request work, with the worker's gazetteer and parameters."""

    gazetteer: Gazetteer
    params: RoutingParams
    max_message_bytes: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RouteWork:
        return cls(Gazetteer.load(), routing_params_from(settings),
                   settings.max_message_bytes)

    def __call__(self, value: bytes, key: bytes | None, timestamp_ms: int, offset: int,
                 state: TruckRoutes | None) -> tuple[bytes, bytes, TruckRoutes]:
        """One request in; (output key = truck id, RouteCalculated JSON, the truck's new state) out.

        ``timestamp_ms`` is the request record's timestamp (the event time, and the departure
        when none is given); ``offset`` its source offset (``apply_route`` skips redeliveries);
        ``state`` the truck's current state, None for a new truck.

        Raises:
            PoisonMessage: the request cannot be decoded or planned (the agent dead-letters it).
        """
        request = decode_route_requested(value, key, self.max_message_bytes)
        route = plan_route(request, self.gazetteer, self.params, received_ms=timestamp_ms)
        return (route.truck_id.encode(), encode_route_calculated(route),
                apply_route(state, route, offset))
