"""The domain's value types: events, places and the consumed record. Pure: no I/O.

The JSON wire codec (:mod:`logiflow.wire`) builds and reads these; the domain never imports the
codec. Instants are epoch milliseconds; money is :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import orjson

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


@dataclass(frozen=True)
class SourceRecord:
    """A consumed record as plain values: exactly the key, value and headers that came in."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]


def content_id(prefix: str, obj: Mapping[str, Any]) -> str:
    """A stable identity for an event that carries none: a hash of its canonical JSON.

    The canonical form is the standard library's (sorted keys, compact, UTF-8). An object of
    text values only (a route's request identity: every route) is written by orjson, which
    gives the same bytes for text and is faster; anything else keeps the standard library,
    whose float and big-integer forms orjson does not share (ids must not change).
    """
    if all(type(v) is str for v in obj.values()):
        canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    else:
        canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False).encode("utf-8")
    return f"{prefix}-{hashlib.sha256(canonical).hexdigest()[:24]}"


def format_instant(ms: int) -> str:
    """Epoch ms → ISO-8601 UTC with a Z, to the second (what we put on the wire)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def parse_instant(text: str, *, plausible: bool = True) -> int:
    """ISO-8601 (UTC when no offset is given) → epoch ms, within 2000..2100 if ``plausible``.

    The one instant parser: the wire, the web's query parameters and the CLI's options all use
    it. A query bound passes ``plausible=False``: it names a moment to compare with, not an
    event time. Raises :class:`ValueError` with a message that names no field; callers add it.
    """
    if len(text) > 40:
        raise ValueError("is too long for a timestamp")
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError("is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        ms = int(moment.timestamp() * 1000)
    except (OverflowError, ValueError, OSError):
        raise ValueError("is out of range") from None
    if plausible and not MIN_EPOCH_MS <= ms <= MAX_EPOCH_MS:
        raise ValueError("is not between 2000 and 2100")
    return ms
