"""Per-truck state folds: counts, redelivery, the recent lists, Decimal revenue."""

from __future__ import annotations

import copy
from decimal import Decimal

from logiflow.domain.model import InvoiceGenerated, Place, RouteCalculated
from logiflow.domain.trucks import RECENT, apply_invoice, apply_route

T0 = 1_795_735_109_000  # 2026-11-26T23:18:29Z
HAMBURG, BERLIN, MUNICH = Place(53.55, 9.99, "Hamburg"), Place(52.52, 13.40, "Berlin"), \
    Place(48.14, 11.58, "Munich")


def route(n: int, destination: Place = BERLIN, km: float | None = 100.0) -> RouteCalculated:
    return RouteCalculated(event_id=f"rc-{n}", truck_id="TR-1", route_id=f"r-{n}",
                           eta_ms=T0 + n * 3_600_000, timestamp_ms=T0 + n * 1000,
                           origin=HAMBURG, destination=destination, distance_km=km)


def invoice(n: int, gross: str) -> InvoiceGenerated:
    return InvoiceGenerated(event_id=f"ig-{n}", invoice_id=f"INV-{n}", invoice_number=f"LF-2026-{n}",
                            route_event_id=f"rc-{n}", truck_id="TR-1", customer_id="C-1",
                            net=Decimal(0), vat=Decimal(0), gross=Decimal(gross), currency="EUR",
                            pdf_path=f"/inv/{n}.pdf", timestamp_ms=T0 + n * 1000)


def test_routes_accumulate_count_km_and_the_latest_destination_and_eta():
    state = apply_route(None, route(1, BERLIN, 100.1), offset=0)
    state = apply_route(state, route(2, MUNICH, 200.2), offset=1)
    assert state["truckId"] == "TR-1"
    assert state["routes"] == 2
    assert state["km"] == 300.3  # a plain float sum would be 300.29999999999995
    assert state["lastDestination"] == "Munich"
    assert state["eta"] == "2026-11-27T01:18:29Z"  # T0 + 2 h
    assert state["lastRouteId"] == "r-2" and state["lastOffset"] == 1


def test_a_route_without_distance_counts_as_a_route_but_adds_no_km():
    state = apply_route(apply_route(None, route(1), 0), route(2, km=None), 1)
    assert (state["routes"], state["km"]) == (2, 100.0)


def test_a_redelivered_offset_is_not_counted_again():
    once = apply_route(apply_route(None, route(1), offset=7), route(2), offset=8)
    again = apply_route(once, route(2), offset=8)
    older = apply_route(once, route(1), offset=7)
    assert again == once and older == once
    assert once["routes"] == 2


def test_recent_routes_keep_the_newest_first_and_at_most_recent_items():
    state = None
    for n in range(RECENT + 5):
        state = apply_route(state, route(n), offset=n)
    assert state is not None
    ids = [item["eventId"] for item in state["recent"]]
    assert ids == [f"rc-{n}" for n in range(RECENT + 4, 4, -1)]
    assert state["routes"] == RECENT + 5


def test_apply_route_returns_a_new_dict_and_leaves_its_input_alone():
    before = apply_route(None, route(1), 0)
    snapshot = copy.deepcopy(before)
    after = apply_route(before, route(2), 1)
    assert after is not before
    assert before == snapshot


def test_invoices_accumulate_count_and_revenue_as_an_exact_decimal_string():
    state = None
    for n, gross in enumerate(["0.10", "0.20", "207.77"]):
        state = apply_invoice(state, invoice(n, gross))
    assert state is not None
    assert state["invoices"] == 3
    assert state["revenue"] == "208.07"  # a float sum would give 208.07000000000002
    assert state["currency"] == "EUR"
    assert [item["invoiceId"] for item in state["recent"]] == ["INV-2", "INV-1", "INV-0"]


def test_apply_invoice_returns_a_new_dict_and_leaves_its_input_alone():
    before = apply_invoice(None, invoice(1, "10.00"))
    snapshot = copy.deepcopy(before)
    apply_invoice(before, invoice(2, "5.00"))
    assert before == snapshot


def test_recent_invoices_are_capped_too():
    state = None
    for n in range(RECENT + 1):
        state = apply_invoice(state, invoice(n, "1.00"))
    assert state is not None
    assert len(state["recent"]) == RECENT and state["recent"][0]["invoiceId"] == f"INV-{RECENT}"
    assert state["revenue"] == f"{RECENT + 1}.00"


def test_an_invoice_redelivered_at_the_same_source_offset_is_counted_once() -> None:
    state = apply_invoice(None, invoice(1, "10.00"), offset=7)
    assert apply_invoice(state, invoice(1, "10.00"), offset=7) == state
    assert apply_invoice(state, invoice(2, "5.00"), offset=8)["invoices"] == 2


def test_a_lost_truck_write_is_told_from_a_replay_or_an_upstream_duplicate() -> None:
    from logiflow.domain.trucks import lost_truck_write

    issued = {"sourceOffset": 12}
    assert lost_truck_write(issued, None, 12)  # the issuing record, never counted
    assert lost_truck_write(issued, {"lastOffset": 11}, 12)
    assert not lost_truck_write(issued, {"lastOffset": 12}, 12)  # counted already
    assert not lost_truck_write(issued, None, 40)  # a replay or duplicate: a new record
    assert not lost_truck_write(None, None, 12)
    assert not lost_truck_write({"sourceOffset": None}, None, 12)  # issued before offsets were kept
