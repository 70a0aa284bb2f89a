"""Acks and folded table writes, shared by the agents that process events in batches.

The agents take batches with ``stream.noack_take()`` and ack each event themselves once it is
done, never before. (``take_events()`` acks the whole batch in a ``finally``: a batch an agent
abandons mid-way, e.g. at a shutdown, is acked with its unprocessed events, whose offsets may
then be committed.) An agent that acks only after the whole batch may fold the batch's
table writes: each key is written once, at the end, under the last event that touched it (the
changelog record goes to that event's partition, which is the key's partition since topics
and tables are co-partitioned).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from logiflow.processing.faust_compat import current_event, mark_processed, set_current_event

V = TypeVar("V")


async def ack(stream: Any, *events: Any) -> None:
    """Ack processed events of a ``noack`` stream: their offsets may now be committed."""
    for event in events:
        mark_processed(event)
        await stream.ack(event)


class BatchWrites(Generic[V]):
    """A table's writes during one batch: read-through, folded per key, written by :meth:`flush`.

    One table write per key per batch instead of one per event: a Faust table write costs a
    store write, a changelog record and the offset bookkeeping, several times the routing work
    itself. Nothing is lost by holding the writes: the batch's events are acked only after
    the agent flushed (and Faust flushes the producer, changelog included, before it commits).

    The agent makes each event current (``faust_compat.set_current_event``) before handling
    it: a RocksDB table reads a key from the current event's partition (a stale current event reads another
    partition's store and finds nothing), and :meth:`set` records that event for the write.
    """

    def __init__(self, table: Any) -> None:
        self.table = table
        self._values: dict[str, V] = {}
        self._events: dict[str, Any] = {}

    def get(self, key: str) -> V | None:
        if key in self._values:
            return self._values[key]
        value: V | None = self.table.get(key)
        return value

    def set(self, key: str, value: V) -> None:
        self._values[key] = value
        self._events[key] = current_event()

    def flush(self) -> int:
        """Write every folded key under its last event; returns how many keys were written."""
        written = len(self._values)
        for key, value in self._values.items():
            set_current_event(self._events[key])
            self.table[key] = value
        self._values.clear()
        self._events.clear()
        return written
