"""Builders of domain values for tests: one realistic value each, varied by keyword.

Shared by unit tests that need the same invoice (the PDF, the renderer pool, the renderer
contract), so no test module imports another.
"""

from __future__ import annotations

import dataclasses

from logiflow.domain.invoice import Invoice, Party, Rates, price_route
from logiflow.domain.model import Place, RouteCalculated


def route_invoice(truck_id: str = "TRUCK-042", **changes: object) -> Invoice:
    """The invoice for a Hamburg → Hannover → Berlin route, priced with the default rates."""
    event = RouteCalculated(
        event_id="rc-test-0001", truck_id=truck_id, customer_id="CUST-7",
        eta_ms=1_767_261_600_000, timestamp_ms=1_767_225_600_000,
        origin=Place(53.5511, 9.9937, "Hamburg"), destination=Place(52.52, 13.405, "Berlin"),
        stops=(Place(52.3759, 9.732, "Hannover"),), distance_km=412.7,
    )
    seller = Party("LogiFlow Transport GmbH", "Hafenstrasse 1, 20457 Hamburg, Germany",
                   "DE123456789")
    invoice = price_route(event, Rates(), seller)
    return dataclasses.replace(invoice, **changes) if changes else invoice  # type: ignore[arg-type]
