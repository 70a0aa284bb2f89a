"""Payload generators and checks shared by the integration tests (bench/ has its own, in payloads.py)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from tests.support.harness import Record, read_all

CITIES = ["Hamburg", "Munich", "Berlin", "Rotterdam", "Antwerp", "Duisburg", "Frankfurt",
          "Cologne", "Leipzig", "Vienna", "Prague", "Warsaw", "Milan", "Lyon", "Paris",
          "Madrid", "Barcelona", "Zurich", "Copenhagen", "Budapest"]


def route_request(i: int, truck: str, rng: random.Random) -> dict[str, Any]:
    origin, destination = rng.sample(CITIES, 2)
    body: dict[str, Any] = {
        "type": "RouteRequested",
        "requestId": f"req-{i}",
        "truckId": truck,
        "customerId": f"CUST-{i % 7}",
        "origin": origin,
        "destination": destination,
        "departureTime": 1_795_000_000_000 + i * 60_000,
    }
    if i % 3 == 0:
        body["stops"] = rng.sample([c for c in CITIES if c not in (origin, destination)],
                                   1 + i % 3)
    if i % 5 == 0:
        body["origin"] = {"lat": 53.55 + (i % 10) / 100, "lon": 9.99, "name": f"Depot {i % 10}"}
    if i % 4 == 0:
        body["cargoWeightKg"] = 1000 + i
    return body


def route_requests(count: int, trucks: int, seed: int = 7) -> list[tuple[bytes, bytes]]:
    """``count`` requests spread over ``trucks`` trucks, as (key, value) pairs."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        truck = f"TR-{i % trucks:03d}"
        out.append((truck.encode(), json.dumps(route_request(i, truck, rng)).encode()))
    return out


def seed_event(truck: str, eta: Any, timestamp: int) -> bytes:
    """Exactly the original producer's shape."""
    return json.dumps({"type": "RouteCalculated", "truckId": truck, "eta": eta,
                       "timestamp": timestamp}).encode()


def values(records: list[Record]) -> list[dict[str, Any]]:
    return [json.loads(r.value) for r in records]


def latest_table(changelog_topic: str) -> dict[str, Any]:
    """The table as its changelog says: last value per key (JSON keys and values)."""
    table: dict[str, Any] = {}
    for r in read_all(changelog_topic):
        key = json.loads(r.key) if r.key else None
        if r.value is None or r.value == b"":
            table.pop(key, None)
        else:
            table[key] = json.loads(r.value)
    return table


def totals_from_events(routes: list[dict[str, Any]],
                       invoices: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per truck, what the tables must say, recomputed from the published events."""
    out: dict[str, dict[str, Any]] = defaultdict(lambda: {"routes": 0, "km": 0.0, "invoices": 0,
                                                          "revenue": Decimal("0")})
    for ev in routes:
        t = out[ev["truckId"]]
        t["routes"] += 1
        t["km"] = round(t["km"] + (ev.get("distanceKm") or 0.0), 1)
    for ev in invoices:
        t = out[ev["truckId"]]
        t["invoices"] += 1
        t["revenue"] += Decimal(ev["gross"])
    return dict(out)


def pdf_text(path: str | Path) -> str:
    reader = PdfReader(str(path))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def money_text(amount: str) -> str:
    return f"{Decimal(amount):,.2f}"
