"""index_dead_letters: keeps the DLQ index.

Consumes: the DLQ topic (failure records: original key/value/headers + ``logiflow.dlq.*``
context headers) and its ``.lifecycle`` topic (replayed/resolved/discarded/parked events).
Produces: nothing.
State:    ``dlq-entries`` (one entry per failed message, with status and audit trail).
On failure: a record it cannot fold is logged and skipped: the record itself stays in the DLQ
topic, so nothing is lost and the index can be rebuilt by folding the topic again.
"""

import logging

from logiflow.app import app, topics_
from logiflow.domain import dlq
from logiflow.failures import source_of
from tables.dead_letters import dlq_entries

log = logging.getLogger(__name__)
AGENT = "index_dead_letters"
_pending: dict[str, list[dict]] = {}  # lifecycle events that raced ahead of their record


def fold(source_topic: str, dlq_topic: str, headers, key, value, partition, offset):  # type: ignore[no-untyped-def]
    if source_topic == dlq_topic:
        entry_id = dlq.header(headers, dlq.H_ID)
        if not entry_id:
            log.warning("DLQ record at %d@%d has no %s header; not indexed", partition, offset,
                        dlq.H_ID)
            return
        entry = dlq.apply_record(dlq_entries.get(entry_id), headers, key, value, partition, offset)
        for event in _pending.pop(entry_id, []):
            entry = dlq.apply_lifecycle(entry, event) or entry
        dlq_entries[entry_id] = entry
        return
    event = dlq.parse_lifecycle(value)
    if event is None:
        log.warning("unreadable DLQ lifecycle event at %d@%d; skipped", partition, offset)
        return
    entry = dlq.apply_lifecycle(dlq_entries.get(event["entryId"]), event)
    if entry is None:
        _pending.setdefault(event["entryId"], []).append(event)
    else:
        dlq_entries[event["entryId"]] = entry


@app.agent(app.topic(topics_.dlq.get_topic_name(), topics_.dlq_lifecycle.get_topic_name(),
                     key_type=bytes, value_type=bytes, partitions=1),
           name=AGENT, concurrency=1)
async def index_dead_letters(stream):  # type: ignore[no-untyped-def]
    dlq_topic = topics_.dlq.get_topic_name()
    async for event in stream.events():
        s = source_of(event)
        try:
            fold(s.topic, dlq_topic, s.headers, s.key, s.value, s.partition, s.offset)
        except Exception:  # noqa: BLE001 - the record stays in the topic; keep indexing the rest
            log.exception("could not index DLQ message %s/%d@%d", s.topic, s.partition, s.offset)
