"""Every private Faust attribute LogiFlow touches, in one place, checked at worker start.

Faust has no public API for three things the agents need:

* making an event *current* for table writes in the agent's own task (tables read the context
  variable ``faust.streams._current_event`` to pick the changelog and store partition);
* taking events an agent holds unacked out of the consumer's in-flight set at a shutdown
  (``Consumer._unacked_messages``), so the shutdown neither waits for them nor commits them;
* the offsets the consumer last committed (``Consumer._committed_offset``), for the stats page;
* telling an ack of a processed event from one a stream makes for an event it *skipped*
  (:func:`install_ack_guard`);
* keeping the events a stream has buffered when the flow resumes after a rebalance
  (:func:`keep_buffers_on_resume`), and never committing past an offset no agent processed
  (:class:`CommitGuard`): the two causes of lost invoices the fault campaign found after the
  ack guard (issue 8); and fetching again what ``getmany`` fetched and then dropped because
  its partition was paused meanwhile (:class:`DropGuard`);
* an idempotent producer outside transactions (:func:`make_producer_idempotent`): Faust turns
  ``enable_idempotence`` on only for exactly-once, in ``Producer._settings_extra``.

:func:`check` runs when the worker starts (``LogiflowApp.on_start``): on a faust-streaming
version outside the tested range, or one whose internals moved, the worker stops at once with
:class:`FaustIncompatible` instead of mis-partitioning state or hanging at shutdown later.
ruff's SLF001 is enabled everywhere else (pyproject.toml), so a new private access elsewhere
needs a reason.
"""

from __future__ import annotations

import logging
import types
import weakref
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

import faust
from faust import streams
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from logiflow.errors import LogiflowError
from logiflow.processing.faust_compat.offsets import (
    HOLE_GRACE_S,
    CommitGuard,
    DropGuard,
    install_commit_guard,
    install_drop_guard,
)

log = logging.getLogger(__name__)

__all__ = ["HOLE_GRACE_S", "CommitGuard", "DropGuard", "FaustIncompatible", "abandon_unacked",
           "check", "committed_offsets", "current_event", "install_ack_guard",
           "install_commit_guard", "install_drop_guard", "keep_buffers_on_resume",
           "make_producer_idempotent", "mark_processed", "set_current_event"]

# The faust-streaming versions whose internals this module was checked against.
TESTED = ("0.15.",)


class FaustIncompatible(LogiflowError):
    """The installed faust-streaming lacks an internal LogiFlow relies on.

    Operator: install a faust-streaming version in the range pinned in pyproject.toml.
    """


def set_current_event(event: Any) -> None:
    """Make ``event`` the one Faust's tables read and write for (changelog and store partition).

    Only the context variable tables read is set, in the agent's task. Not the stream's own
    ``current_event`` attribute: ``noack_take`` reads that one, in another task, to record which
    event it just buffered, so changing it makes a batch lose an event.
    """
    streams._current_event.set(weakref.ref(event))


def current_event() -> Any:
    """The event table writes currently go to (public in Faust)."""
    return streams.current_event()


def abandon_unacked(app: Any, topic: str) -> int:
    """Make the worker stop waiting for the events of ``topic`` it took but did not ack.

    For an agent that must end without processing what it holds (the worker is stopping while
    its dependency is down). Acking those events would commit their offsets: lost. Leaving them
    makes Faust's shutdown wait for them until it is killed. Removed from the consumer's
    in-flight set, they are neither acked nor waited for; their offsets stay uncommitted, so
    they are delivered again after the restart.
    """
    in_flight = app.consumer._unacked_messages
    mine = [m for m in list(in_flight) if m.topic == topic and not m.acked]
    for message in mine:
        in_flight.discard(message)
    return len(mine)


# Messages whose event an agent finished: only their acks may make an offset committable.
_processed: weakref.WeakSet[Any] = weakref.WeakSet()


def mark_processed(event: Any) -> None:
    """Say that ``event`` was processed: its ack (which must follow) may be committed."""
    _processed.add(event.message)


def install_ack_guard(app: Any, topics: Iterable[str]) -> None:
    """Make the consumer commit only offsets of events an agent processed, on ``topics``.

    A Faust stream *acks* the events it skips: those it takes while a rebalance suspends the
    flow, and those fetched in an older consumer generation. Their offsets then become
    committable, and the commit Faust makes when the partitions are revoked moves the group
    past events no one processed (faust-streaming 0.15: ``Stream.__aiter__`` and the Cython
    iterator ack ``skipped_value``). Found by the rebalance test: the old owner committed 21
    offsets it never processed and the new owner started after them.

    With the guard, an ack on ``topics`` for a message the agent did not mark processed
    (:func:`mark_processed`) only takes the message out of the in-flight set: its offset is not
    recorded, so the group's offset stays below it and it is fetched again (Faust seeks every
    assigned partition to its committed offset after each rebalance).
    """
    consumer = app.consumer
    guarded = frozenset(topics)
    original = type(consumer).ack

    def ack(self: Any, message: Any) -> bool:
        if message.topic in guarded and message not in _processed:
            with ack_lock:
                if not message.acked:
                    message.acked = True
                    self._unacked_messages.discard(message)
                    notify(self._waiting_for_ack)
            return False
        return bool(original(self, message))

    consumer.ack = types.MethodType(ack, consumer)


def keep_buffers_on_resume(app: Any) -> None:
    """Make resuming the flow keep the events already buffered in the streams' queues.

    Faust's flow control *clears* every stream queue each time it resumes, and a table recovery
    resumes it more than once: once when the stream partitions are sought to their committed
    offsets and fetching starts, and again after a second seek. Events fetched in between, of
    the current generation, are dropped from the queue without being tracked or acked, while
    the fetch position has moved past them: no one processes them, and the consumer's offset
    bookkeeping has a hole (found by the rebalance test: offsets 569-601 of a partition dropped
    this way; the commit stalled there or, once the committed offset was reset by the next
    revoke, went past them). Kept in the queue, such events are processed (a duplicate of a
    re-fetched one is skipped by the agents' idempotence); events of an older generation still
    in a queue are skipped by the stream's generation check, as before. The clear at a revoke,
    before the partitions are sought again, is left as it is.
    """
    flow = app.flow_control

    def resume() -> None:
        flow._suspend.clear()
        flow._resume.set()

    flow.resume = resume


def make_producer_idempotent(app: Any) -> None:
    """Make the aiokafka producer Faust is about to create idempotent (call before it starts).

    Without it a produce request retried after a broker failover is appended twice: the fault
    campaign's seed 15 found four ``InvoiceGenerated`` records each written twice, byte for
    byte, same CreateTime, one before and one after a leader change (producerId -1 on every
    batch of the worker). With ``enable_idempotence`` the broker drops the retried batch by
    its producer id and sequence; it needs ``acks=all``, which LogiFlow uses anyway.
    """
    producer = app.producer
    extra = producer._settings_extra

    def settings_extra() -> Mapping[str, Any]:
        return {**extra(), "acks": "all", "enable_idempotence": True}

    producer._settings_extra = settings_extra


def committed_offsets(app: Any) -> Mapping[Any, int | None]:
    """The offsets the consumer committed last, by topic-partition (empty before the first)."""
    return dict(app.consumer._committed_offset)


def check(app: Any) -> None:
    """Fail loudly now if the internals above are not what this module expects."""
    version = faust.__version__
    if not version.startswith(TESTED):
        raise FaustIncompatible(f"faust-streaming {version} is untested with LogiFlow "
                                f"(tested: {', '.join(v + 'x' for v in TESTED)})")
    if not isinstance(getattr(streams, "_current_event", None), ContextVar):
        raise FaustIncompatible("faust.streams._current_event is no longer a ContextVar")
    consumer = app.consumer
    for name, kind in (("_unacked_messages", weakref.WeakSet), ("_committed_offset", dict),
                       ("_acked", dict)):
        value = getattr(consumer, name, None)
        if not isinstance(value, kind):
            raise FaustIncompatible(f"Faust's Consumer.{name} is missing or no longer a "
                                    f"{kind.__name__} (got {type(value).__name__})")
    if not hasattr(consumer, "_waiting_for_ack") or not callable(getattr(consumer, "ack", None)):
        raise FaustIncompatible("Faust's Consumer.ack/_waiting_for_ack changed")
    for name in ("_new_offset", "_gap", "_acked", "seek", "_seek", "assignment",
                 "seek_to_committed", "earliest_offsets", "_wait_next_records", "getmany",
                 "flow_active", "should_stop"):
        if not hasattr(consumer, name):
            raise FaustIncompatible(f"Faust's Consumer.{name} is missing")
    if not callable(getattr(app.producer, "_settings_extra", None)) or not callable(
            getattr(app.producer, "_new_producer", None)):
        raise FaustIncompatible("Faust's Producer._settings_extra/_new_producer changed")
    flow = app.flow_control
    events = [getattr(flow, name, None) for name in ("_suspend", "_resume")]
    if not all(callable(getattr(e, "set", None)) and callable(getattr(e, "clear", None))
               for e in events):
        raise FaustIncompatible("mode's FlowControlEvent._suspend/_resume are no longer events")
