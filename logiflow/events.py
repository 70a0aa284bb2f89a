"""Domain events and their JSON wire form. Pure: no I/O.

Decoders take the raw bytes exactly as they came off Kafka and return a typed event or raise
:class:`~logiflow.errors.PoisonMessage` with a stable reason code. They never raise anything
else (a property test holds them to that), so an agent can dead-letter whatever they reject.

Wire names are camelCase; the ``type`` field names the event (see :mod:`logiflow.topics`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from logiflow import topics
from logiflow.errors import PoisonMessage

MAX_ID_CHARS = 64
MAX_TEXT_CHARS = 200
MAX_STOPS = 25
# Epoch-ms bounds: 2000-01-01 .. 2100-01-01. Anything else is a unit mistake (seconds, µs).
MIN_EPOCH_MS = 946_684_800_000
MAX_EPOCH_MS = 4_102_444_800_000


@dataclass(frozen=True)
class PlaceRef:
    """A place as a request names it: a gazetteer name, or coordinates (optionally labelled)."""

    name: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Place:
    """A resolved place: coordinates, plus the gazetteer name when there is one."""

    lat: float
    lon: float
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"{self.lat:.4f},{self.lon:.4f}"


@dataclass(frozen=True)
class RouteRequested:
    """A customer asks for a truck to go from origin to destination, via optional stops."""

    request_id: str
    truck_id: str
    customer_id: str
    origin: PlaceRef
    destination: PlaceRef
    stops: tuple[PlaceRef, ...] = ()
    departure_ms: int | None = None
    cargo_kg: float | None = None


@dataclass(frozen=True)
class RouteCalculated:
    """A route was planned. ``minimal`` marks the seed's shape (truckId, eta, timestamp only)."""

    event_id: str
    truck_id: str
    eta_ms: int
    timestamp_ms: int
    route_id: str | None = None
    request_id: str | None = None
    customer_id: str | None = None
    origin: Place | None = None
    destination: Place | None = None
    stops: tuple[Place, ...] = ()
    distance_km: float | None = None
    duration_min: float | None = None
    minimal: bool = False


@dataclass(frozen=True)
class InvoiceGenerated:
    """An invoice for one RouteCalculated was rendered and stored."""

    event_id: str
    invoice_id: str
    invoice_number: str
    route_event_id: str
    truck_id: str
    customer_id: str | None
    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str
    pdf_path: str
    timestamp_ms: int


# --- helpers -------------------------------------------------------------------------------

def _reject_constant(name: str) -> Any:
    raise PoisonMessage("non-finite-number", f"{name} is not allowed in JSON")


def parse_json_object(raw: bytes, max_bytes: int | None = None) -> dict[str, Any]:
    """Bytes → a JSON object, or PoisonMessage (size, UTF-8, syntax, NaN/Infinity, not an object)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise PoisonMessage("not-bytes", f"expected bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if max_bytes is not None and len(raw) > max_bytes:
        raise PoisonMessage("oversized", f"{len(raw)} bytes exceeds the {max_bytes}-byte limit")
    if not raw.strip():
        raise PoisonMessage("empty", "the message value is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PoisonMessage("not-utf8", f"value is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except PoisonMessage:
        raise
    except RecursionError:
        raise PoisonMessage("invalid-json", "JSON nested too deeply") from None
    except ValueError as exc:
        raise PoisonMessage("invalid-json", f"invalid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise PoisonMessage("not-an-object", f"JSON value is a {type(value).__name__}, not an object")
    return value


class _Fields:
    """Typed access to a decoded JSON object; every failure is a PoisonMessage naming the field."""

    def __init__(self, obj: Mapping[str, Any], where: str = "") -> None:
        self.obj = obj
        self.where = where

    def _name(self, key: str) -> str:
        return f"{self.where}{key}"

    def text(self, key: str, *, required: bool = True, max_chars: int = MAX_TEXT_CHARS) -> str | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise PoisonMessage("missing-field", f"{self._name(key)} is required")
            return None
        if not isinstance(value, str):
            raise PoisonMessage("wrong-type", f"{self._name(key)} must be a string, got {_jtype(value)}")
        if not value.strip():
            raise PoisonMessage("invalid-value", f"{self._name(key)} must not be blank")
        if len(value) > max_chars:
            raise PoisonMessage("oversized-text", f"{self._name(key)} is longer than {max_chars} characters")
        if any(ord(c) < 32 for c in value):
            raise PoisonMessage("invalid-value", f"{self._name(key)} contains control characters")
        return value

    def req_text(self, key: str, max_chars: int = MAX_TEXT_CHARS) -> str:
        value = self.text(key, max_chars=max_chars)
        assert value is not None
        return value

    def number(self, key: str, *, required: bool = True, minimum: float | None = None,
               maximum: float | None = None) -> float | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise PoisonMessage("missing-field", f"{self._name(key)} is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PoisonMessage("wrong-type", f"{self._name(key)} must be a number, got {_jtype(value)}")
        number = float(value)
        if not math.isfinite(number):
            raise PoisonMessage("non-finite-number", f"{self._name(key)} is not finite")
        if minimum is not None and number < minimum:
            kind = "negative-number" if minimum == 0 else "out-of-range"
            raise PoisonMessage(kind, f"{self._name(key)}={value} is below {minimum}")
        if maximum is not None and number > maximum:
            raise PoisonMessage("out-of-range", f"{self._name(key)}={value} is above {maximum}")
        return number

    def instant(self, key: str, *, required: bool = True) -> int | None:
        """An instant given as epoch milliseconds or an ISO-8601 string; returned as epoch ms."""
        value = self.obj.get(key)
        if value is None:
            if required:
                raise PoisonMessage("missing-field", f"{self._name(key)} is required")
            return None
        if isinstance(value, str):
            return parse_instant(value, self._name(key))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PoisonMessage("wrong-type",
                                f"{self._name(key)} must be epoch ms or an ISO-8601 string, "
                                f"got {_jtype(value)}")
        if not math.isfinite(value):
            raise PoisonMessage("non-finite-number", f"{self._name(key)} is not finite")
        ms = int(value)
        if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
            raise PoisonMessage("out-of-range",
                                f"{self._name(key)}={value} is not epoch milliseconds between 2000 and 2100")
        return ms


def _jtype(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean",
            int: "number", float: "number"}.get(type(value), type(value).__name__)


def parse_instant(text: str, name: str = "time") -> int:
    """ISO-8601 → epoch ms (UTC assumed when no offset is given)."""
    if len(text) > 40:
        raise PoisonMessage("oversized-text", f"{name} is too long for a timestamp")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PoisonMessage("invalid-value", f"{name}={text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        raise PoisonMessage("out-of-range", f"{name}={text!r} is out of range") from None
    if not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise PoisonMessage("out-of-range", f"{name}={text!r} is not between 2000 and 2100")
    return ms


def format_instant(ms: int) -> str:
    """Epoch ms → ISO-8601 UTC with a Z, to the second (what we put on the wire)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_type(fields: _Fields, expected: str) -> None:
    kind = fields.obj.get("type")
    if kind is None:
        return  # tolerated: the topic says what it carries
    if kind != expected:
        raise PoisonMessage("wrong-event-type", f"type={str(kind)[:40]!r} on a topic that carries {expected}")


def _check_key(key: bytes | None, truck_id: str) -> None:
    if key is None:
        return
    if key != truck_id.encode("utf-8"):
        shown = key[:MAX_ID_CHARS].decode("utf-8", "replace")
        raise PoisonMessage("key-mismatch", f"record key {shown!r} disagrees with truckId {truck_id!r}")


def _place_ref(value: Any, name: str) -> PlaceRef:
    if isinstance(value, str):
        text = _Fields({name: value}).req_text(name)
        return PlaceRef(name=text.strip())
    if isinstance(value, dict):
        f = _Fields(value, where=f"{name}.")
        label = f.text("name", required=False)
        lat = f.number("lat", required=True, minimum=-90, maximum=90)
        lon = f.number("lon", required=True, minimum=-180, maximum=180)
        return PlaceRef(name=label, lat=lat, lon=lon)
    if value is None:
        raise PoisonMessage("missing-field", f"{name} is required")
    raise PoisonMessage("wrong-type",
                        f"{name} must be a place name or {{\"lat\":..,\"lon\":..}}, got {_jtype(value)}")


def _place(value: Any, name: str) -> Place | None:
    if value is None:
        return None
    ref = _place_ref(value, name)
    if not ref.has_coordinates:
        # RouteCalculated carries resolved places; a bare name is kept as a label only.
        return None
    assert ref.lat is not None and ref.lon is not None
    return Place(lat=ref.lat, lon=ref.lon, name=ref.name)


def content_id(prefix: str, obj: Mapping[str, Any]) -> str:
    """A stable identity for an event that carries none: a hash of its canonical JSON."""
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f"{prefix}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()[:24]}"


# --- decoders ------------------------------------------------------------------------------

def decode_route_requested(raw: bytes, key: bytes | None = None,
                           max_bytes: int | None = None) -> RouteRequested:
    obj = parse_json_object(raw, max_bytes)
    _check_type(_Fields(obj), topics.ROUTE_REQUESTED)
    f = _Fields(obj)
    truck_id = f.req_text("truckId", MAX_ID_CHARS)
    _check_key(key, truck_id)
    stops_raw = obj.get("stops", [])
    if stops_raw is None:
        stops_raw = []
    if not isinstance(stops_raw, list):
        raise PoisonMessage("wrong-type", f"stops must be an array, got {_jtype(stops_raw)}")
    if len(stops_raw) > MAX_STOPS:
        raise PoisonMessage("out-of-range", f"{len(stops_raw)} stops exceeds the limit of {MAX_STOPS}")
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
    f = _Fields(obj)
    if obj.get("type") != topics.ROUTE_CALCULATED:
        raise PoisonMessage("wrong-event-type",
                            f"type must be {topics.ROUTE_CALCULATED!r}, got {str(obj.get('type'))[:40]!r}")
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
    stops_raw = obj.get("stops") or []
    if not isinstance(stops_raw, list):
        raise PoisonMessage("wrong-type", f"stops must be an array, got {_jtype(stops_raw)}")
    if len(stops_raw) > MAX_STOPS:
        raise PoisonMessage("out-of-range", f"{len(stops_raw)} stops exceeds the limit of {MAX_STOPS}")
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
    f = _Fields(obj)
    if obj.get("type") != topics.INVOICE_GENERATED:
        raise PoisonMessage("wrong-event-type", "not an InvoiceGenerated event")

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
    return json.dumps({k: v for k, v in obj.items() if v is not None},
                      separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


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
