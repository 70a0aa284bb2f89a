"""The DLQ index: one entry per failed message, keyed by entry id, with its lifecycle history.

One partition, like the DLQ topic it is folded from (see :mod:`logiflow.domain.dlq.index`).
"""

from logiflow import topics
from logiflow.app import app

dlq_entries = app.Table(
    topics.DLQ_ENTRIES, key_type=str, partitions=1,
    help="DLQ entries: status new/replayed/resolved/discarded/parked and audit trail.",
)
