"""Per-truck state, keyed by truck id and co-partitioned with the truck-keyed topics.

RocksDB-backed in a worker (``LOGIFLOW_STORE=rocksdb://``), rebuilt from the changelog topics
``<app_id>-truck-routes-changelog`` and ``<app_id>-truck-invoices-changelog`` when the local
data is lost. Values are the JSON objects made by :mod:`logiflow.domain.trucks`.
"""

from logiflow import topics
from logiflow.app import app

truck_routes = app.Table(
    topics.TRUCK_ROUTES, key_type=str, partitions=app.conf.topic_partitions,
    help="Per truck: routes calculated, km, last destination and ETA (routing agent).",
)

truck_invoices = app.Table(
    topics.TRUCK_INVOICES, key_type=str, partitions=app.conf.topic_partitions,
    help="Per truck: invoices issued and revenue (invoice agent).",
)

invoices_issued = app.Table(
    topics.INVOICES_ISSUED, key_type=str, partitions=app.conf.topic_partitions,
    help="Per invoice id: the InvoiceGenerated already published (makes invoicing idempotent).",
)
