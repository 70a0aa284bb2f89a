"""The JSON wire form of the domain's events (:mod:`logiflow.domain.model`). Pure: no I/O.

Decoders take the raw bytes exactly as they came off Kafka and return a typed event or raise
:class:`~logiflow.errors.PoisonMessage` with a stable reason code. They never raise anything
else (a property test holds them to that), so an agent can dead-letter whatever they reject.

Wire names are camelCase; the ``type`` field names the event (see :mod:`logiflow.topics`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

from logiflow import topics
from logiflow.domain.model import (
    InvoiceGenerated,
    Place,
    PlaceRef,
    RouteCalculated,
    RouteRequested,
    content_id,
    format_instant,
)
from logiflow.errors import PoisonMessage
from logiflow.json_fields import Fields, jtype, parse_json_object

MAX_ID_CHARS = 64
MAX_STOPS = 25


def _check_type(obj: Mapping[str, Any], expected: str, *, required: bool) -> None:
    """The ``type`` policy, for every event: when present it must name the topic's event.

    Required on events (RouteCalculated, InvoiceGenerated: the seed's minimal shape has it);
    tolerated when absent on requests (the topic says what it carries).
    """
    kind = obj.get("type")
    if kind is None and not required:
        return
    if kind != expected:
        raise PoisonMessage("wrong-event-type",
                            f"type must be {expected!r}, got {str(kind)[:40]!r}")


def _stops(obj: Mapping[str, Any]) -> list[Any]:
    """The ``stops`` array (absent or null = none), bounded by MAX_STOPS."""
    stops = obj.get("stops")
    if stops is None:
        return []
    if not isinstance(stops, list):
        raise PoisonMessage("wrong-type", f"stops must be an array, got {jtype(stops)}")
    if len(stops) > MAX_STOPS:
        raise PoisonMessage("out-of-range", f"{len(stops)} stops exceeds the limit of {MAX_STOPS}")
    return stops


def _check_key(key: bytes | None, truck_id: str) -> None:
    if key is None:
        return
    if key != truck_id.encode("utf-8"):
        shown = key[:MAX_ID_CHARS].decode("utf-8", "replace")
        raise PoisonMessage("key-mismatch", f"record key {shown!r} disagrees with truckId {truck_id!r}")


def _place_ref(value: Any, name: str) -> PlaceRef:
    if isinstance(value, str):
        text = Fields({name: value}).req_text(name)
        return PlaceRef(name=text.strip())
    if isinstance(value, dict):
        f = Fields(value, where=f"{name}.")
        label = f.text("name", required=False)
        lat = f.number("lat", required=True, minimum=-90, maximum=90)
        lon = f.number("lon", required=True, minimum=-180, maximum=180)
        return PlaceRef(name=label, lat=lat, lon=lon)
    if value is None:
        raise PoisonMessage("missing-field", f"{name} is required")
    raise PoisonMessage("wrong-type",
                        f"{name} must be a place name or {{\"lat\":..,\"lon\":..}}, got {jtype(value)}")


def _place(value: Any, name: str) -> Place | None:
    if value is None:
        return None
    ref = _place_ref(value, name)
    if not ref.has_coordinates:
        # RouteCalculated carries resolved places; a bare name is kept as a label only.
        return None
    assert ref.lat is not None and ref.lon is not None
    return Place(lat=ref.lat, lon=ref.lon, name=ref.name)


# --- decoders ------------------------------------------------------------------------------

def decode_route_requested(raw: bytes, key: bytes | None = None,
                           max_bytes: int | None = None) -> RouteRequested:
    obj = parse_json_object(raw, max_bytes)
    _check_type(obj, topics.ROUTE_REQUESTED, required=False)
    f = Fields(obj)
    truck_id = f.req_text("truckId", MAX_ID_CHARS)
    _check_key(key, truck_id)
    stops_raw = _stops(obj)
    return RouteRequested(
        request_id=f.req_text("requestId", MAX_ID_CHARS),
        truck_id=truck_id,
        customer_id=f.req_text("customerId", MAX_ID_CHARS),
        origin=_place_ref(obj.get("origin"), "origin"),
        destination=_place_ref(obj.get("destination"), "destination"),
        stops=tuple(_place_ref(s, f"stops[{i}]") for i, s in enumerate(stops_raw)),
        departure_ms=f.instant("departureTime", required=False),
        cargo_kg=f.number("cargoWeightKg", required=False, minimum=0, maximum=100_000),
    )


def decode_route_calculated(raw: bytes, key: bytes | None = None,
                            max_bytes: int | None = None) -> RouteCalculated:
    """The full shape from our routing agent, or the seed's minimal shape from any producer."""
    obj = parse_json_object(raw, max_bytes)
    _check_type(obj, topics.ROUTE_CALCULATED, required=True)
    f = Fields(obj)
    truck_id = f.req_text("truckId", MAX_ID_CHARS)
    _check_key(key, truck_id)
    eta_ms = f.instant("eta")
    timestamp_ms = f.instant("timestamp")
    assert eta_ms is not None and timestamp_ms is not None
    event_id = f.text("eventId", required=False, max_chars=MAX_ID_CHARS)
    minimal = event_id is None
    if minimal:
        event_id = content_id("rc", obj)
    assert event_id is not None
    stops_raw = _stops(obj)
    stops = tuple(p for i, s in enumerate(stops_raw) if (p := _place(s, f"stops[{i}]")) is not None)
    return RouteCalculated(
        event_id=event_id,
        truck_id=truck_id,
        eta_ms=eta_ms,
        timestamp_ms=timestamp_ms,
        route_id=f.text("routeId", required=False, max_chars=MAX_ID_CHARS),
        request_id=f.text("requestId", required=False, max_chars=MAX_ID_CHARS),
        customer_id=f.text("customerId", required=False, max_chars=MAX_ID_CHARS),
        origin=_place(obj.get("origin"), "origin"),
        destination=_place(obj.get("destination"), "destination"),
        stops=stops,
        distance_km=f.number("distanceKm", required=False, minimum=0, maximum=50_000),
        duration_min=f.number("durationMin", required=False, minimum=0, maximum=100_000),
        minimal=minimal,
    )


def decode_invoice_generated(raw: bytes) -> InvoiceGenerated:
    obj = parse_json_object(raw)
    _check_type(obj, topics.INVOICE_GENERATED, required=True)
    f = Fields(obj)

    def money(name: str) -> Decimal:
        text = f.req_text(name, 32)
        try:
            return Decimal(text)
        except ArithmeticError:
            raise PoisonMessage("invalid-value", f"{name}={text!r} is not a decimal amount") from None

    timestamp = f.instant("timestamp")
    assert timestamp is not None
    return InvoiceGenerated(
        event_id=f.req_text("eventId"),
        invoice_id=f.req_text("invoiceId"),
        invoice_number=f.req_text("invoiceNumber"),
        route_event_id=f.req_text("routeEventId"),
        truck_id=f.req_text("truckId", MAX_ID_CHARS),
        customer_id=f.text("customerId", required=False),
        net=money("net"),
        vat=money("vat"),
        gross=money("gross"),
        currency=f.req_text("currency", 8),
        pdf_path=f.req_text("pdfPath", 4096),
        timestamp_ms=timestamp,
    )


# --- encoders ------------------------------------------------------------------------------

def _place_json(place: Place | None) -> dict[str, Any] | None:
    if place is None:
        return None
    out: dict[str, Any] = {"lat": round(place.lat, 6), "lon": round(place.lon, 6)}
    if place.name:
        out["name"] = place.name
    return out


def _dumps(obj: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON without the null fields (orjson: the standard library's bytes, except
    that a float with a small exponent is written ``1e-6``, not ``1e-06``). Every number here
    comes from a decoder that refused non-finite ones, or is computed from such numbers."""
    return orjson.dumps({k: v for k, v in obj.items() if v is not None})


def encode_route_requested(req: RouteRequested) -> bytes:
    def ref(p: PlaceRef) -> Any:
        if not p.has_coordinates:
            return p.name
        out: dict[str, Any] = {"lat": p.lat, "lon": p.lon}
        if p.name:
            out["name"] = p.name
        return out

    return _dumps({
        "type": topics.ROUTE_REQUESTED,
        "requestId": req.request_id,
        "truckId": req.truck_id,
        "customerId": req.customer_id,
        "origin": ref(req.origin),
        "destination": ref(req.destination),
        "stops": [ref(s) for s in req.stops] or None,
        "departureTime": format_instant(req.departure_ms) if req.departure_ms is not None else None,
        "cargoWeightKg": req.cargo_kg,
    })


def encode_route_calculated(ev: RouteCalculated) -> bytes:
    return _dumps({
        "type": topics.ROUTE_CALCULATED,
        "eventId": ev.event_id,
        "routeId": ev.route_id,
        "requestId": ev.request_id,
        "truckId": ev.truck_id,
        "customerId": ev.customer_id,
        "origin": _place_json(ev.origin),
        "destination": _place_json(ev.destination),
        "stops": [_place_json(s) for s in ev.stops],
        "distanceKm": ev.distance_km,
        "durationMin": ev.duration_min,
        "eta": format_instant(ev.eta_ms),
        "timestamp": ev.timestamp_ms,
    })


def encode_invoice_generated(ev: InvoiceGenerated) -> bytes:
    return _dumps({
        "type": topics.INVOICE_GENERATED,
        "eventId": ev.event_id,
        "invoiceId": ev.invoice_id,
        "invoiceNumber": ev.invoice_number,
        "routeEventId": ev.route_event_id,
        "truckId": ev.truck_id,
        "customerId": ev.customer_id,
        "net": str(ev.net),
        "vat": str(ev.vat),
        "gross": str(ev.gross),
        "currency": ev.currency,
        "pdfPath": ev.pdf_path,
        "timestamp": ev.timestamp_ms,
    })
