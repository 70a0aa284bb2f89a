"""Invoices: identity, pricing and the document model. Pure: no I/O, Decimal money.

The invoice id and number derive from the route event's identity, so processing the same
RouteCalculated twice (redelivery, replay, restart) yields the same invoice, byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from logiflow.domain.model import InvoiceGenerated, RouteCalculated, format_instant

CENT = Decimal("0.01")
INVOICE_ID_PREFIX = "INV-"
# Invoice ids are "INV-" + 20 characters of base32 (A-Z, 2-7). Web downloads accept nothing else.
INVOICE_ID_CHARS = 20


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Rates:
    """Tariff, from settings."""

    currency: str = "EUR"
    base_fee: Decimal = Decimal("45.00")
    rate_per_km: Decimal = Decimal("1.20")
    fuel_surcharge_pct: Decimal = Decimal("8")
    vat_pct: Decimal = Decimal("19")


@dataclass(frozen=True)
class Party:
    name: str
    address: str = ""
    vat_id: str = ""


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    """Everything printed on the PDF and published in InvoiceGenerated."""

    invoice_id: str
    invoice_number: str
    issued_ms: int
    route_event_id: str
    truck_id: str
    customer_id: str | None
    seller: Party
    bill_to: Party
    route_summary: str
    eta_ms: int
    lines: tuple[InvoiceLine, ...]
    net: Decimal
    vat_pct: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    notes: tuple[str, ...] = ()

    @property
    def issued_date(self) -> str:
        return datetime.fromtimestamp(self.issued_ms / 1000, tz=UTC).strftime("%Y-%m-%d")

    @property
    def eta_text(self) -> str:
        return format_instant(self.eta_ms)


def invoice_id_for(route_event_id: str) -> str:
    digest = hashlib.sha256(f"invoice:{route_event_id}".encode()).digest()
    return INVOICE_ID_PREFIX + base64.b32encode(digest).decode("ascii")[:INVOICE_ID_CHARS]


def is_invoice_id(text: str) -> bool:
    """True for exactly the ids :func:`invoice_id_for` makes (checked before touching disk)."""
    body = text[len(INVOICE_ID_PREFIX):]
    return (text.startswith(INVOICE_ID_PREFIX) and len(body) == INVOICE_ID_CHARS
            and all(c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for c in body))


def invoice_number_for(invoice_id: str, issued_ms: int) -> str:
    year = datetime.fromtimestamp(issued_ms / 1000, tz=UTC).year
    return f"LF-{year}-{invoice_id[len(INVOICE_ID_PREFIX):][:10]}"


def route_summary(ev: RouteCalculated) -> str:
    if ev.origin is None or ev.destination is None:
        return "route details not supplied by the producer"
    via = f" via {', '.join(s.label for s in ev.stops)}" if ev.stops else ""
    return f"{ev.origin.label} to {ev.destination.label}{via}"


def price_route(ev: RouteCalculated, rates: Rates, seller: Party) -> Invoice:
    """Price one RouteCalculated. A route without a distance is billed the base fee and says so."""
    lines = [InvoiceLine("Route base fee", Decimal(1), "route", money(rates.base_fee),
                         money(rates.base_fee))]
    notes: list[str] = []
    if ev.distance_km is None:
        notes.append("No distance was supplied with this route event: billed the base fee only.")
    else:
        km = Decimal(str(ev.distance_km)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        distance_amount = money(km * rates.rate_per_km)
        lines.append(InvoiceLine("Distance", km, "km", money(rates.rate_per_km), distance_amount))
        surcharge = money(distance_amount * rates.fuel_surcharge_pct / 100)
        lines.append(InvoiceLine(f"Fuel surcharge {rates.fuel_surcharge_pct}% of distance",
                                 Decimal(1), "", surcharge, surcharge))
    net = money(sum((line.amount for line in lines), Decimal(0)))
    vat = money(net * rates.vat_pct / 100)
    invoice_id = invoice_id_for(ev.event_id)
    return Invoice(
        invoice_id=invoice_id,
        invoice_number=invoice_number_for(invoice_id, ev.timestamp_ms),
        issued_ms=ev.timestamp_ms,
        route_event_id=ev.event_id,
        truck_id=ev.truck_id,
        customer_id=ev.customer_id,
        seller=seller,
        bill_to=Party(name=ev.customer_id or "Customer of record for truck " + ev.truck_id),
        route_summary=route_summary(ev),
        eta_ms=ev.eta_ms,
        lines=tuple(lines),
        net=net,
        vat_pct=rates.vat_pct,
        vat=vat,
        gross=net + vat,
        currency=rates.currency,
        notes=tuple(notes),
    )


def invoice_generated(invoice: Invoice, pdf_path: str) -> InvoiceGenerated:
    """The event announcing an invoice. Its event id derives from the invoice id (dedupable)."""
    return InvoiceGenerated(
        event_id="ig-" + invoice.invoice_id[len(INVOICE_ID_PREFIX):].lower(),
        invoice_id=invoice.invoice_id,
        invoice_number=invoice.invoice_number,
        route_event_id=invoice.route_event_id,
        truck_id=invoice.truck_id,
        customer_id=invoice.customer_id,
        net=invoice.net,
        vat=invoice.vat,
        gross=invoice.gross,
        currency=invoice.currency,
        pdf_path=pdf_path,
        timestamp_ms=invoice.issued_ms,
    )
