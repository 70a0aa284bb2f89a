"""index_dead_letters: keeps the DLQ index.

Consumes: the DLQ topic, one partition: failure records (original key/value/headers +
``logiflow.dlq.*`` context headers) and lifecycle records (replayed/resolved/discarded/parked,
marked ``logiflow.dlq.event: lifecycle``), in one total order.
Produces: nothing.
State:    ``dlq-entries`` (one entry per failed message, with status and audit trail).
On failure: a record it cannot fold is logged and skipped: the record itself stays in the DLQ
topic, so nothing is lost and the index can be rebuilt by folding the topic again.
"""

import logging
from collections.abc import AsyncIterator
from typing import Any

from logiflow import topics
from logiflow.app import app
from logiflow.domain import dlq
from logiflow.processing.batches import ack
from logiflow.processing.failure_policy import source_of
from tables.dead_letters import dlq_entries

log = logging.getLogger(__name__)


@app.agent(app.app_topics.dlq, name=topics.INDEX_DEAD_LETTERS, concurrency=1)
async def index_dead_letters(stream: Any) -> AsyncIterator[bool]:
    indexer = dlq.Indexer(dlq_entries)
    async for event in stream.noack().events():
        s = source_of(event)
        try:
            ok = indexer.on_message(s.headers, s.key, s.value, s.partition, s.offset)
            if not ok:
                log.warning("DLQ record %s/%d@%d is neither a failure nor a lifecycle event; "
                            "skipped", s.topic, s.partition, s.offset)
        except Exception:
            # The record stays in its topic; keep indexing the rest.
            log.exception("could not index DLQ message %s/%d@%d", s.topic, s.partition, s.offset)
            ok = False
        await ack(stream, event)
        yield ok  # the outcome, as in the other agents
