"""Faust stream glue shared by the agents that process events in batches.

The agents take batches with ``stream.noack_take()`` and ack each event themselves once it is
done, never before. (``take_events()`` acks the whole batch in a ``finally``: a batch an agent
abandons mid-way, e.g. at a shutdown, is acked with its unprocessed events, whose offsets may
then be committed.) An agent that acks only after the whole batch may fold the batch's
table writes: each key is written once, at the end, under the last event that touched it (the
changelog record goes to that event's partition, which is the key's partition since topics
and tables are co-partitioned).
"""

from __future__ import annotations

import weakref
from typing import Any, Generic, TypeVar

from faust import streams

V = TypeVar("V")


def as_current_event(event: Any) -> None:
    """Make ``event`` the one Faust's tables write for (changelog and store partition).

    Only the context variable tables read is set, in the agent's task. Not the stream's own
    ``current_event`` attribute: ``noack_take``/``take_events`` read that one, in another task,
    to record which event they just buffered, so changing it made a batch lose an event (found by the
    integration tests: 198 of 200 invoices).
    """
    streams._current_event.set(weakref.ref(event))


async def ack(stream: Any, *events: Any) -> None:
    """Ack events of a ``noack_take()`` batch: their offsets may now be committed."""
    for event in events:
        await stream.ack(event)


def abandon_unacked(app: Any, topic: str) -> int:
    """Make the worker stop waiting for the events of ``topic`` it took but did not ack.

    For an agent that must end without processing what it holds (the worker is stopping while
    its dependency is down). Acking those events would commit their offsets: lost. Leaving them
    makes Faust's shutdown wait for them until it is killed: it waits for every unacked event
    still referenced, and the stream's own reader keeps one. Removed from the consumer's
    in-flight set, they are neither acked nor waited for; their offsets stay uncommitted, so
    they are delivered again after the restart. (Faust has no public call for this: the set is
    ``Consumer._unacked_messages``.)
    """
    in_flight = app.consumer._unacked_messages
    mine = [m for m in list(in_flight) if m.topic == topic and not m.acked]
    for message in mine:
        in_flight.discard(message)
    return len(mine)


class BatchWrites(Generic[V]):
    """A table's writes during one batch: read-through, folded per key, written by :meth:`flush`.

    One table write per key per batch instead of one per event: a Faust table write costs a
    store write, a changelog record and the offset bookkeeping, several times the routing work
    itself. Nothing is lost by holding the writes: the batch's events are acked only after
    the agent flushed (and Faust flushes the producer, changelog included, before it commits).

    The agent makes each event current (:func:`as_current_event`) before handling it: a RocksDB
    table reads a key from the current event's partition (a stale current event reads another
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
        self._events[key] = streams.current_event()

    def flush(self) -> int:
        """Write every folded key under its last event; returns how many keys were written."""
        written = len(self._values)
        for key, value in self._values.items():
            as_current_event(self._events[key])
            self.table[key] = value
        self._values.clear()
        self._events.clear()
        return written
