"""Pricing and invoice identity: Decimal money, half-up cents, ids that are safe to use as file names.

Expected amounts below are worked out by hand from the tariff, not copied from the code.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logiflow.domain.invoice import (
    Party,
    Rates,
    invoice_generated,
    invoice_id_for,
    invoice_number_for,
    is_invoice_id,
    price_route,
)
from logiflow.domain.model import Place, RouteCalculated

SELLER = Party("LogiFlow Transport GmbH", "Hafenstrasse 1, Hamburg", "DE123456789")
# 2026-11-26T23:18:29Z and 2027-01-01T00:00:00Z
TS_2026 = 1_795_735_109_054
TS_2027 = 1_798_761_600_000


def route(distance_km: float | None = 100.0, **changes: object) -> RouteCalculated:
    ev = RouteCalculated(
        event_id="rc-1", truck_id="TR-1", eta_ms=TS_2026 + 3_600_000, timestamp_ms=TS_2026,
        route_id="r-1", customer_id="C-9",
        origin=Place(53.55, 9.99, "Hamburg"), destination=Place(52.52, 13.40, "Berlin"),
        distance_km=distance_km,
    )
    return replace(ev, **changes)


def test_100_km_at_the_default_tariff_is_base_plus_distance_plus_fuel_then_vat():
    # 45.00 + 100.0 x 1.20 = 120.00; fuel 8 % of 120.00 = 9.60; net 174.60;
    # VAT 19 % = 33.174 → 33.17; gross 207.77
    invoice = price_route(route(100.0), Rates(), SELLER)
    assert [line.amount for line in invoice.lines] == [Decimal("45.00"), Decimal("120.00"),
                                                       Decimal("9.60")]
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("174.60"), Decimal("33.17"),
                                                         Decimal("207.77"))
    assert invoice.currency == "EUR" and invoice.notes == ()
    assert invoice.route_summary == "Hamburg to Berlin"


def test_distance_is_billed_to_a_tenth_of_a_km_and_cents_round_half_up():
    # 123.45 km → 123.5 km; x 1.20 = 148.20; fuel 8 % = 11.856 → 11.86;
    # net 45.00 + 148.20 + 11.86 = 205.06; VAT 19 % = 38.9614 → 38.96; gross 244.02
    invoice = price_route(route(123.45), Rates(), SELLER)
    assert invoice.lines[1].quantity == Decimal("123.5")
    assert invoice.lines[2].amount == Decimal("11.86")
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("205.06"), Decimal("38.96"),
                                                         Decimal("244.02"))


def test_a_half_cent_rounds_up_not_to_even():
    # 1.0 km x 0.125 = 0.125 → 0.13 (banker's rounding would give 0.12);
    # net 10.00 + 0.13 + 0.00 = 10.13; VAT 10 % = 1.013 → 1.01; gross 11.14
    rates = Rates(base_fee=Decimal("10"), rate_per_km=Decimal("0.125"),
                  fuel_surcharge_pct=Decimal("0"), vat_pct=Decimal("10"))
    invoice = price_route(route(1.0), rates, SELLER)
    assert invoice.lines[1].amount == Decimal("0.13")
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("10.13"), Decimal("1.01"),
                                                         Decimal("11.14"))


def test_a_route_without_distance_is_billed_the_base_fee_only_and_says_so():
    # net 10.05; VAT 10 % = 1.005 → 1.01 (half-up); gross 11.06
    minimal = RouteCalculated(event_id="rc-min", truck_id="TR-P", eta_ms=TS_2026, timestamp_ms=TS_2026,
                              minimal=True)
    rates = Rates(base_fee=Decimal("10.05"), vat_pct=Decimal("10"))
    invoice = price_route(minimal, rates, SELLER)
    assert [line.description for line in invoice.lines] == ["Route base fee"]
    assert (invoice.net, invoice.vat, invoice.gross) == (Decimal("10.05"), Decimal("1.01"),
                                                         Decimal("11.06"))
    assert len(invoice.notes) == 1 and "base fee only" in invoice.notes[0]
    assert "TR-P" in invoice.bill_to.name  # no customer id: billed to the truck's customer of record
    assert invoice.route_summary == "route details not supplied by the producer"


def test_the_invoice_id_is_the_same_for_the_same_route_event_and_differs_between_events():
    assert invoice_id_for("rc-1") == invoice_id_for("rc-1")
    assert invoice_id_for("rc-1") != invoice_id_for("rc-2")
    assert price_route(route(), Rates(), SELLER) == price_route(route(), Rates(), SELLER)


@given(st.text(max_size=80))
def test_every_invoice_id_made_is_accepted_as_one(event_id):
    assert is_invoice_id(invoice_id_for(event_id))


@pytest.mark.parametrize("text", [
    "", "INV-", "INV-../../etc/passwd", "INV-AAAAAAAAAAAAAAAAAA/..", "../INV-AAAAAAAAAAAAAAAAAAAA",
    "inv-AAAAAAAAAAAAAAAAAAAA", "INV-aaaaaaaaaaaaaaaaaaaa", "INV-AAAAAAAAAAAAAAAAAAA",
    "INV-AAAAAAAAAAAAAAAAAAAAA", "INV-AAAAAAAAAAAAAAAAAAA1", "INV-AAAAAAAAAAAAAAAAAAA=",
    "XXX-AAAAAAAAAAAAAAAAAAAA", "INV-AAAAAAAAAAAAAAAAAAAA.pdf", "INV-AAAAAAAAAAAAAAAAAAA\x00",
])
def test_anything_else_is_not_an_invoice_id(text):
    assert not is_invoice_id(text)


def test_an_id_of_the_right_shape_is_accepted_even_if_never_issued():
    assert is_invoice_id("INV-" + "A" * 20) and is_invoice_id("INV-" + "7" * 20)


def test_the_invoice_number_carries_the_year_of_the_route_event():
    invoice_id = invoice_id_for("rc-1")
    assert invoice_number_for(invoice_id, TS_2026).startswith("LF-2026-")
    assert invoice_number_for(invoice_id, TS_2027).startswith("LF-2027-")
    assert invoice_number_for(invoice_id, TS_2026)[len("LF-2026-"):] == invoice_id[4:14]
    assert price_route(route(timestamp_ms=TS_2027), Rates(), SELLER).invoice_number.startswith("LF-2027-")


def test_the_invoice_generated_event_id_derives_from_the_invoice_id():
    a = price_route(route(event_id="rc-a"), Rates(), SELLER)
    b = price_route(route(event_id="rc-b"), Rates(), SELLER)
    ev = invoice_generated(a, "/invoices/x.pdf")
    assert ev.event_id == "ig-" + a.invoice_id[4:].lower()
    assert ev.event_id == invoice_generated(a, "/elsewhere.pdf").event_id
    assert ev.event_id != invoice_generated(b, "/invoices/x.pdf").event_id
    assert (ev.invoice_id, ev.route_event_id, ev.gross, ev.pdf_path) == (
        a.invoice_id, "rc-a", a.gross, "/invoices/x.pdf")


money_rates = st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False)
percent = st.decimals(min_value=0, max_value=100, places=1, allow_nan=False, allow_infinity=False)


@given(distance=st.one_of(st.none(), st.floats(min_value=0, max_value=50_000, allow_nan=False)),
       base=money_rates, per_km=st.decimals(min_value=0, max_value=50, places=3),
       fuel=percent, vat=percent)
def test_gross_is_net_plus_vat_in_non_negative_cents_for_any_distance_and_tariff(
        distance, base, per_km, fuel, vat):
    rates = Rates(base_fee=base, rate_per_km=per_km, fuel_surcharge_pct=fuel, vat_pct=vat)
    invoice = price_route(route(distance), rates, SELLER)
    assert invoice.gross == invoice.net + invoice.vat
    assert invoice.net == sum(line.amount for line in invoice.lines)
    for amount in (invoice.net, invoice.vat, invoice.gross, *(line.amount for line in invoice.lines)):
        assert amount.as_tuple().exponent == -2, amount
        assert amount >= 0
