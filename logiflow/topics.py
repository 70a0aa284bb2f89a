"""Pinned names: topics, tables and event types. Renaming any of these is a data migration.

Topic names get the deployment's ``LOGIFLOW_TOPIC_PREFIX`` (empty by default); table names are
prefixed by Faust with the app id to name their changelog topics
(``<app_id>-<table>-changelog``).
"""

from __future__ import annotations

from typing import Any, Final

# Topics (all keyed by truck id, JSON values).
ROUTE_REQUESTS: Final = "routing.requests"
ROUTING_EVENTS: Final = "routing.events"
INVOICE_EVENTS: Final = "invoice.events"
# The dead-letter topic's default name; LOGIFLOW_DLQ_TOPIC may override it.
DLQ: Final = "logiflow.dlq"

# Tables.
TRUCK_ROUTES: Final = "truck-routes"          # per truck: routes, km, last destination and ETA
TRUCK_INVOICES: Final = "truck-invoices"      # per truck: invoices issued, revenue
INVOICES_ISSUED: Final = "invoices-issued"    # per invoice id: published InvoiceGenerated
DLQ_ENTRIES: Final = "dlq-entries"            # per DLQ entry id: the entry and its history

# Event type names (the "type" field on the wire).
ROUTE_REQUESTED: Final = "RouteRequested"
ROUTE_CALCULATED: Final = "RouteCalculated"
INVOICE_GENERATED: Final = "InvoiceGenerated"

# Agents (named in DLQ headers and metrics).
CALCULATE_ROUTES: Final = "calculate_routes"
GENERATE_INVOICES: Final = "generate_invoices"
INDEX_DEAD_LETTERS: Final = "index_dead_letters"


class AppTopics:
    """An app's topic objects, declared once with their pinned names and the deployment prefix."""

    def __init__(self, app: Any, prefix: str, partitions: int, dlq_topic: str = DLQ) -> None:
        def topic(name: str, n: int) -> Any:
            return app.topic(f"{prefix}{name}", key_type=bytes, value_type=bytes, partitions=n)

        self.partitions = partitions
        self.route_requests = topic(ROUTE_REQUESTS, partitions)
        self.routing_events = topic(ROUTING_EVENTS, partitions)
        self.invoice_events = topic(INVOICE_EVENTS, partitions)
        # Failures and their lifecycle events share this topic; one partition orders them all.
        self.dlq = topic(dlq_topic, 1)

    def sources(self) -> list[Any]:
        """The topics the agents consume."""
        return [self.route_requests, self.routing_events, self.dlq]

    def partitions_of(self) -> list[tuple[str, int]]:
        """(name, partitions) of every topic, for creation before anything subscribes."""
        return [(t.get_topic_name(), self.partitions if t is not self.dlq else 1)
                for t in (self.route_requests, self.routing_events, self.invoice_events, self.dlq)]
