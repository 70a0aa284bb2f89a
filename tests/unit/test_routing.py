"""Stop ordering and route planning."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logiflow.bootstrap import routing_params_from
from logiflow.domain.geo import Gazetteer, haversine_km
from logiflow.domain.model import Place, PlaceRef, RouteRequested
from logiflow.domain.routing import RoutingParams, order_stops, path_km, plan_route
from logiflow.errors import ConfigError, PoisonMessage
from logiflow.settings import Settings

RECEIVED_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
PARAMS = RoutingParams()


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


def request(origin: str = "Hamburg", destination: str = "Munich", stops: Sequence[str] = (),
            request_id: str = "req-1", truck_id: str = "truck-7",
            departure_ms: int | None = None) -> RouteRequested:
    return RouteRequested(request_id=request_id, truck_id=truck_id, customer_id="cust-1",
                          origin=PlaceRef(name=origin), destination=PlaceRef(name=destination),
                          stops=tuple(PlaceRef(name=s) for s in stops), departure_ms=departure_ms)


def random_places(rng: random.Random, count: int) -> list[Place]:
    return [Place(rng.uniform(36.0, 60.0), rng.uniform(-10.0, 25.0), f"p{i}") for i in range(count)]


def length(origin: Place, stops: Sequence[Place], destination: Place) -> float:
    return path_km([origin, *stops, destination])


def nearest_neighbour(origin: Place, stops: Sequence[Place]) -> list[Place]:
    remaining, order, current = list(stops), [], origin
    while remaining:
        current = min(remaining, key=lambda p: haversine_km(current, p))
        remaining.remove(current)
        order.append(current)
    return order


# --- path_km and order_stops -------------------------------------------------------------------

def test_path_length_is_the_sum_of_its_legs() -> None:
    a, b, c = Place(50.0, 8.0), Place(51.0, 9.0), Place(52.0, 7.0)
    assert path_km([a, b, c]) == pytest.approx(haversine_km(a, b) + haversine_km(b, c))
    assert path_km([a]) == 0.0
    assert path_km([]) == 0.0


@pytest.mark.parametrize("count", [0, 1])
def test_zero_or_one_stop_is_returned_as_given(count: int) -> None:
    stops = random_places(random.Random(count), count)
    assert order_stops(Place(50.0, 8.0), stops, Place(48.0, 11.0)) == tuple(stops)


def test_two_stops_are_visited_in_the_shorter_order() -> None:
    origin, destination = Place(50.0, 0.0), Place(50.0, 10.0)
    near, far = Place(50.0, 2.0), Place(50.0, 8.0)
    assert order_stops(origin, [far, near], destination) == (near, far)
    assert order_stops(origin, [near, far], destination) == (near, far)


def test_stops_on_the_way_are_put_in_order_along_it() -> None:
    stops = [Place(50.0, lon) for lon in (7.0, 2.0, 9.0, 4.0, 1.0, 6.0)]
    ordered = order_stops(Place(50.0, 0.0), stops, Place(50.0, 10.0))
    assert [p.lon for p in ordered] == [1.0, 2.0, 4.0, 6.0, 7.0, 9.0]


def test_the_order_is_a_permutation_of_the_stops_including_duplicates() -> None:
    stops = [Place(50.0, 3.0), Place(49.0, 4.0), Place(50.0, 3.0), Place(52.0, 1.0)]
    ordered = order_stops(Place(50.0, 0.0), stops, Place(50.0, 10.0))
    assert sorted(ordered, key=repr) == sorted(stops, key=repr)


def test_equally_good_orders_keep_the_input_order() -> None:
    # Two identical stops: every order is equally long, so nothing moves.
    a, b = Place(50.0, 5.0, "a"), Place(50.0, 5.0, "b")
    assert order_stops(Place(50.0, 0.0), [a, b], Place(50.0, 10.0)) == (a, b)
    assert order_stops(Place(50.0, 0.0), [b, a], Place(50.0, 10.0)) == (b, a)


def test_ordering_is_deterministic() -> None:
    places = random_places(random.Random(42), 22)
    first = order_stops(places[0], places[1:-1], places[-1])
    assert all(order_stops(places[0], places[1:-1], places[-1]) == first for _ in range(3))


def test_ordering_beats_input_and_nearest_neighbour_and_nearly_matches_brute_force() -> None:
    suboptimal = 0
    for seed in range(200):
        rng = random.Random(seed)
        count = rng.randint(0, 6)
        origin, destination, *stops = random_places(rng, count + 2)
        got = length(origin, order_stops(origin, stops, destination), destination)
        best = min(length(origin, p, destination) for p in itertools.permutations(stops))
        assert got <= length(origin, stops, destination) + 1e-9, seed
        assert got <= length(origin, nearest_neighbour(origin, stops), destination) + 1e-9, seed
        if count <= 3:
            assert got == pytest.approx(best, abs=1e-9), seed
        assert got <= best * 1.05, seed  # 2-opt and or-opt are local searches, not exact
        suboptimal += got > best + 1e-9
    assert suboptimal <= 10  # rare in practice: none of these 200 cases today


def test_the_most_stops_a_request_may_have_are_ordered_into_a_shorter_permutation() -> None:
    # Its speed is measured by the routing benchmarks (bench/), not asserted here.
    places = random_places(random.Random(7), 27)
    ordered = order_stops(places[0], places[1:-1], places[-1])
    assert sorted(ordered, key=repr) == sorted(places[1:-1], key=repr)
    assert length(places[0], ordered, places[-1]) <= length(places[0], places[1:-1], places[-1])


# --- RoutingParams -----------------------------------------------------------------------------

def test_params_come_from_settings() -> None:
    settings = Settings.from_env({}, road_factor=1.4, avg_speed_kmh=60.0, stop_dwell_min=15.0)
    assert routing_params_from(settings) == RoutingParams(1.4, 60.0, 15.0)


@pytest.mark.parametrize("kwargs", [{"road_factor": 0.9}, {"avg_speed_kmh": 0.0},
                                    {"stop_dwell_min": -1.0}])
def test_impossible_params_are_a_config_error(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        RoutingParams(**kwargs)


# --- plan_route --------------------------------------------------------------------------------

def test_distance_is_the_path_times_the_road_factor(gazetteer: Gazetteer) -> None:
    event = plan_route(request(stops=["Frankfurt", "Berlin"]), gazetteer, PARAMS, RECEIVED_MS)
    assert event.origin is not None and event.destination is not None
    path = path_km([event.origin, *event.stops, event.destination])
    assert event.distance_km == round(path * PARAMS.road_factor, 1)


def test_hamburg_to_munich_is_about_765_road_km_and_656_minutes(gazetteer: Gazetteer) -> None:
    event = plan_route(request(), gazetteer, PARAMS, RECEIVED_MS)
    assert event.distance_km == pytest.approx(765.5, abs=0.2)  # 612.4 km great circle x 1.25
    assert event.duration_min == pytest.approx(656.2, abs=0.2)  # at 70 km/h


def test_duration_is_driving_time_plus_dwell_at_each_stop(gazetteer: Gazetteer) -> None:
    params = RoutingParams(road_factor=1.3, avg_speed_kmh=80.0, stop_dwell_min=45.0)
    event = plan_route(request(stops=["Hanover", "Leipzig", "Nuremberg"]), gazetteer, params,
                       RECEIVED_MS)
    assert event.distance_km is not None
    assert event.duration_min == round(event.distance_km / 80.0 * 60 + 3 * 45.0, 1)


def test_eta_is_departure_plus_duration(gazetteer: Gazetteer) -> None:
    departure = RECEIVED_MS + 3_600_000
    event = plan_route(request(stops=["Cologne"], departure_ms=departure), gazetteer, PARAMS,
                       RECEIVED_MS)
    assert event.duration_min is not None
    assert event.eta_ms == departure + round(event.duration_min * 60_000)
    assert event.timestamp_ms == RECEIVED_MS


def test_departure_defaults_to_the_record_timestamp(gazetteer: Gazetteer) -> None:
    event = plan_route(request(), gazetteer, PARAMS, RECEIVED_MS)
    assert event.duration_min is not None
    assert event.eta_ms == RECEIVED_MS + round(event.duration_min * 60_000)


def test_the_event_carries_the_request_and_resolved_places(gazetteer: Gazetteer) -> None:
    event = plan_route(request(origin=" hamburg", stops=["munich"], destination="Vienna"),
                       gazetteer, PARAMS, RECEIVED_MS)
    assert (event.request_id, event.truck_id, event.customer_id) == ("req-1", "truck-7", "cust-1")
    assert event.origin == Place(53.5511, 9.9937, "Hamburg")
    assert [p.name for p in event.stops] == ["Munich"]
    assert event.destination is not None and event.destination.name == "Vienna"
    assert event.minimal is False


def test_stops_in_the_event_are_in_travel_order(gazetteer: Gazetteer) -> None:
    event = plan_route(request(origin="Lisbon", destination="Warsaw",
                               stops=["Berlin", "Madrid", "Paris"]), gazetteer, PARAMS, RECEIVED_MS)
    assert [p.name for p in event.stops] == ["Madrid", "Paris", "Berlin"]


def test_origin_equal_to_destination_without_stops_is_a_zero_km_route(gazetteer: Gazetteer) -> None:
    event = plan_route(request(origin="Basel", destination="basel"), gazetteer, PARAMS, RECEIVED_MS)
    assert (event.distance_km, event.duration_min, event.eta_ms) == (0.0, 0.0, RECEIVED_MS)


def test_the_same_request_always_yields_the_same_event(gazetteer: Gazetteer) -> None:
    first = plan_route(request(stops=["Leipzig"]), gazetteer, PARAMS, RECEIVED_MS)
    again = plan_route(request(stops=["Leipzig"]), gazetteer, PARAMS, RECEIVED_MS)
    assert first == again
    assert first.event_id.startswith("rc-")
    assert first.route_id == "rt-" + first.event_id.removeprefix("rc-")


def test_different_requests_get_different_ids(gazetteer: Gazetteer) -> None:
    ids = {plan_route(request(request_id=r, truck_id=t), gazetteer, PARAMS, RECEIVED_MS).event_id
           for r, t in [("req-1", "truck-7"), ("req-2", "truck-7"), ("req-1", "truck-8")]}
    assert len(ids) == 3


def test_an_unknown_stop_is_poison(gazetteer: Gazetteer) -> None:
    with pytest.raises(PoisonMessage) as caught:
        plan_route(request(stops=["Berlin", "Atlantis"]), gazetteer, PARAMS, RECEIVED_MS)
    assert caught.value.reason == "unknown-place"
    assert "Atlantis" in caught.value.detail


def test_an_unknown_origin_is_poison(gazetteer: Gazetteer) -> None:
    with pytest.raises(PoisonMessage) as caught:
        plan_route(request(origin="Gotham"), gazetteer, PARAMS, RECEIVED_MS)
    assert caught.value.reason == "unknown-place"


latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
coordinates = st.builds(lambda lat, lon: PlaceRef(lat=lat, lon=lon), latitudes, longitudes)


@given(origin=coordinates, destination=coordinates,
       stops=st.lists(coordinates, max_size=5),
       road_factor=st.floats(min_value=1.0, max_value=2.0))
def test_a_route_is_never_shorter_than_the_direct_great_circle(
        origin: PlaceRef, destination: PlaceRef, stops: list[PlaceRef], road_factor: float) -> None:
    req = RouteRequested(request_id="r", truck_id="t", customer_id="c", origin=origin,
                         destination=destination, stops=tuple(stops))
    event = plan_route(req, Gazetteer({}), RoutingParams(road_factor=road_factor), RECEIVED_MS)
    assert event.origin is not None and event.destination is not None
    assert event.distance_km is not None
    direct = haversine_km(event.origin, event.destination) * road_factor
    assert event.distance_km >= direct - 0.1
