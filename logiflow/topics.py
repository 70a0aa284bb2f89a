"""Pinned names: topics, tables and event types. Renaming any of these is a data migration.

Topic names get the deployment's ``LOGIFLOW_TOPIC_PREFIX`` (empty by default); table names are
prefixed by Faust with the app id to name their changelog topics
(``<app_id>-<table>-changelog``).
"""

from __future__ import annotations

from typing import Final

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
