"""Per-truck state as folds over events. Pure: plain dicts in, new plain dicts out.

Table values are JSON objects (camelCase, like the wire). Each fold returns a *new* dict so the
agent reassigns the table key and Faust writes the changelog. Folds are idempotent against
redelivery: a route is applied once per source offset (``lastOffset``), an invoice once per
invoice id (the invoice agent checks its ``invoices-issued`` table first).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from logiflow.domain.model import InvoiceGenerated, RouteCalculated, format_instant

TruckRoutes = dict[str, Any]
TruckInvoices = dict[str, Any]
# Recent routes / invoices kept per truck for the truck page. The whole value is re-encoded on
# every event, so this is kept small: it is a third of routing's per-event cost at 10.
RECENT = 5


def apply_route(state: TruckRoutes | None, ev: RouteCalculated, offset: int) -> TruckRoutes:
    """Fold one RouteCalculated (consumed at source ``offset``) into a truck's route state."""
    state = dict(state or {"truckId": ev.truck_id, "routes": 0, "km": 0.0, "lastOffset": -1,
                           "recent": []})
    if offset <= state.get("lastOffset", -1):
        return state  # redelivered after a restart: already counted
    km = ev.distance_km or 0.0
    eta = format_instant(ev.eta_ms)
    recent = [{
        "eventId": ev.event_id,
        "routeId": ev.route_id,
        "origin": ev.origin.label if ev.origin else None,
        "destination": ev.destination.label if ev.destination else None,
        "distanceKm": ev.distance_km,
        "eta": eta,
        "timestamp": ev.timestamp_ms,
    }, *state.get("recent", [])][:RECENT]
    state.update(
        routes=state.get("routes", 0) + 1,
        km=round(state.get("km", 0.0) + km, 1),
        lastRouteId=ev.route_id,
        lastDestination=ev.destination.label if ev.destination else None,
        eta=eta,
        lastEventTime=max(ev.timestamp_ms, state.get("lastEventTime", 0)),
        lastOffset=offset,
        recent=recent,
    )
    return state


def apply_invoice(state: TruckInvoices | None, ev: InvoiceGenerated,
                  offset: int | None = None) -> TruckInvoices:
    """Fold one InvoiceGenerated into a truck's invoice state (revenue kept as a Decimal string).

    ``offset``: the route event's source offset; an offset at or below the last one folded is
    a redelivery, already counted (a truck's route events are all on one partition).
    """
    state = dict(state or {"truckId": ev.truck_id, "invoices": 0, "revenue": "0.00",
                           "currency": ev.currency, "recent": []})
    if offset is not None:
        if offset <= state.get("lastOffset", -1):
            return state
        state["lastOffset"] = offset
    recent = [{
        "invoiceId": ev.invoice_id,
        "invoiceNumber": ev.invoice_number,
        "gross": str(ev.gross),
        "currency": ev.currency,
        "routeEventId": ev.route_event_id,
        "timestamp": ev.timestamp_ms,
    }, *state.get("recent", [])][:RECENT]
    state.update(
        invoices=state.get("invoices", 0) + 1,
        revenue=str(Decimal(state.get("revenue", "0")) + ev.gross),
        currency=ev.currency,
        lastInvoiceTime=max(ev.timestamp_ms, state.get("lastInvoiceTime", 0)),
        recent=recent,
    )
    return state


def issued_record(generated: InvoiceGenerated, issued_at_ms: int,
                  source_offset: int | None = None) -> dict[str, Any]:
    """The ``invoices-issued`` table value for a published InvoiceGenerated.

    Its presence makes invoicing idempotent; the web's invoice list reads these fields.
    ``issued_at_ms`` is the wall-clock time it was published (the agent's clock);
    ``source_offset`` the route event's offset, which tells a redelivery of that same record
    (whose truck-table write may have been lost with the worker) from a replay or an upstream
    duplicate of the event (a new record, never counted again).
    """
    return {
        "invoiceNumber": generated.invoice_number, "truckId": generated.truck_id,
        "gross": str(generated.gross), "currency": generated.currency,
        "routeEventId": generated.route_event_id, "timestamp": generated.timestamp_ms,
        "issuedAt": issued_at_ms, "sourceOffset": source_offset,
    }


def lost_truck_write(issued: dict[str, Any] | None, truck: TruckInvoices | None,
                     source_offset: int) -> bool:
    """True when ``source_offset`` is the record that issued the invoice and the truck's state
    never counted it: the worker died between the two table writes."""
    return (issued is not None and issued.get("sourceOffset") == source_offset
            and source_offset > (truck or {}).get("lastOffset", -1))
