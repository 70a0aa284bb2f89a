"""A poison corpus: one or more bad messages for every class of the failure taxonomy.

Each case: (name, key, raw value bytes, expected reason). Shared by the decoder unit tests and
the real-broker DLQ test, so both levels agree on what is poison and why.
"""

from __future__ import annotations

import json
from typing import Any

GOOD_REQUEST: dict[str, Any] = {"requestId": "r-good", "truckId": "TR-P", "customerId": "C-1",
                                "origin": "Hamburg", "destination": "Munich"}
GOOD_ROUTE: dict[str, Any] = {"type": "RouteCalculated", "truckId": "TR-P",
                              "eta": "2026-11-27T10:00:00Z", "timestamp": 1_795_735_109_054}


def _j(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def _req(**changes: Any) -> bytes:
    body = {**GOOD_REQUEST, **changes}
    return _j({k: v for k, v in body.items() if v is not DROP})


def _route(**changes: Any) -> bytes:
    body = {**GOOD_ROUTE, **changes}
    return _j({k: v for k, v in body.items() if v is not DROP})


DROP = object()
KEY = b"TR-P"

# (name, key, value, expected reason)
REQUEST_POISON: list[tuple[str, bytes | None, bytes, str]] = [
    ("undecodable bytes", KEY, b"\x80\x81\xfe\xff\x00binary", "not-utf8"),
    ("latin-1 text", KEY, '{"truckId": "Müller"}'.encode("latin-1"), "not-utf8"),
    ("invalid json", KEY, b'{"requestId": "r1",', "invalid-json"),
    ("empty value", KEY, b"", "empty"),
    ("json array", KEY, b"[1, 2, 3]", "not-an-object"),
    ("json string", KEY, b'"hello"', "not-an-object"),
    ("json null", KEY, b"null", "not-an-object"),
    ("missing truckId", KEY, _req(truckId=DROP), "missing-field"),
    ("missing origin", KEY, _req(origin=DROP), "missing-field"),
    ("wrong-typed truckId", KEY, _req(truckId=42), "wrong-type"),
    ("wrong-typed stops", KEY, _req(stops="Berlin"), "wrong-type"),
    ("boolean latitude", KEY, _req(origin={"lat": True, "lon": 9.9}), "wrong-type"),
    ("NaN latitude", KEY, b'{"requestId":"r","truckId":"TR-P","customerId":"C","origin":'
                          b'{"lat":NaN,"lon":1},"destination":"Munich"}', "non-finite-number"),
    ("Infinity weight", KEY, b'{"requestId":"r","truckId":"TR-P","customerId":"C","origin":'
                             b'"Hamburg","destination":"Munich","cargoWeightKg":Infinity}',
     "non-finite-number"),
    ("latitude out of range", KEY, _req(origin={"lat": 95.0, "lon": 9.9}), "out-of-range"),
    ("departure in seconds", KEY, _req(departureTime=1_795_735_109), "out-of-range"),
    ("negative cargo weight", KEY, _req(cargoWeightKg=-5), "negative-number"),
    ("unknown place", KEY, _req(destination="Atlantis"), "unknown-place"),
    ("key disagrees with truckId", b"TR-OTHER", _req(), "key-mismatch"),
    ("oversized text", b"T" * 300, _req(truckId="T" * 300), "oversized-text"),
    ("oversized message", KEY, _req(customerId="C", padding="x" * 300_000), "oversized"),
    ("wrong event type", KEY, _req(type="InvoiceGenerated"), "wrong-event-type"),
]

ROUTE_POISON: list[tuple[str, bytes | None, bytes, str]] = [
    ("undecodable bytes", KEY, b"\xc3\x28\xa0\xa1", "not-utf8"),
    ("invalid json", KEY, b"{'single': 'quotes'}", "invalid-json"),
    ("json number", KEY, b"42", "not-an-object"),
    ("missing type", KEY, _route(type=DROP), "wrong-event-type"),
    ("missing eta", KEY, _route(eta=DROP), "missing-field"),
    ("eta not a time", KEY, _route(eta="next tuesday"), "invalid-value"),
    ("timestamp as text number", KEY, _route(timestamp="soon"), "invalid-value"),
    ("NaN distance", KEY, b'{"type":"RouteCalculated","truckId":"TR-P","eta":"2026-11-27T10:00:00Z",'
                          b'"timestamp":1795735109054,"distanceKm":NaN}', "non-finite-number"),
    ("negative distance", KEY, _route(distanceKm=-12.5), "negative-number"),
    ("key disagrees with truckId", b"TR-ELSE", _route(), "key-mismatch"),
    ("oversized text", KEY, _route(customerId="c" * 5000), "oversized-text"),
]
