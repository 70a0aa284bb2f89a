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
  ack guard (issue 8).

:func:`check` runs when the worker starts (``LogiflowApp.on_start``): on a faust-streaming
version outside the tested range, or one whose internals moved, the worker stops at once with
:class:`FaustIncompatible` instead of mis-partitioning state or hanging at shutdown later.
ruff's SLF001 is enabled everywhere else (pyproject.toml), so a new private access elsewhere
needs a reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
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

log = logging.getLogger(__name__)

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


HOLE_GRACE_S = 10.0  # a hole at the committed offset this long is re-fetched (see CommitGuard)


class CommitGuard:
    """Never commit past an offset of ``topics`` no agent processed; re-fetch one that stays.

    Faust commits the end of the first run of consecutive acked offsets, with two lapses that
    turn a dropped event (a hole in the acked offsets) into a lost one: it lets the run start
    one past the committed offset (``min(acked) - committed > 1`` is its only check), and right
    after a revoke, which forgets the committed offset, it does not check at all. The guard
    commits only a run that starts at the committed offset (the last one known, across a
    revoke). A hole that stays longer than ``grace_s`` (a dropped event the partition will not
    fetch again by itself) is logged and re-fetched: the partition is sought back to the
    committed offset, and the re-delivered events already processed are skipped by the agents.

    A source written by transactional producers has offsets that are not records (commit
    markers); one at the committed offset stalls the commit here rather than risking a lost
    event (its partition is re-fetched every ``grace_s`` with a warning): LogiFlow's producers,
    and the clients it documents, are not transactional.
    """

    def __init__(self, consumer: Any, topics: Iterable[str], grace_s: float = HOLE_GRACE_S,
                 clock: Any = time.monotonic) -> None:
        self.consumer, self.guarded = consumer, frozenset(topics)
        self.grace_s, self.clock = grace_s, clock
        self._faust_new_offset = consumer._new_offset
        self._known: dict[Any, int] = {}               # tp -> last committed offset seen
        self._holes: dict[Any, tuple[int, float]] = {}  # tp -> (hole offset, first seen)
        self._seeks: set[asyncio.Future[Any]] = set()

    def install(self) -> None:
        self.consumer._new_offset = self.new_offset
        self._faust_seek_to_committed = self.consumer.seek_to_committed
        self.consumer.seek_to_committed = self.seek_to_committed

    async def seek_to_committed(self) -> Mapping[Any, int | None]:
        """Faust's seek to the committed offsets, and to the first offset where none is.

        aiokafka seeks only a partition whose committed offset is above 0: one the group never
        committed (or committed at 0) keeps its fetch position, which is past any event fetched
        and then dropped when a rebalance or a table recovery suspended the flow. Faust counts
        on this seek to fetch such events again, so on a partition no one had committed yet
        they were lost, and its first commit went past them (found by the roles test: offsets
        0-99 of a partition that received its first events while its owner was stopping). Such
        a partition is sought to its first offset (``auto_offset_reset=earliest``), which also
        becomes the offset a commit must start from.
        """
        committed = await self._faust_seek_to_committed()
        fresh = [tp for tp, offset in committed.items() if tp.topic in self.guarded and not offset]
        if fresh:
            first = await self.consumer.earliest_offsets(*fresh)
            for tp in fresh:
                start = first.get(tp) or 0
                await self.consumer._seek(tp, start)
                self._known[tp] = start
        return committed

    def new_offset(self, tp: Any) -> int | None:
        if tp.topic not in self.guarded:
            return self._faust_new_offset(tp)
        acked = self.consumer._acked.get(tp)
        committed = self.consumer._committed_offset.get(tp)
        if committed is None:
            committed = self._known.get(tp)  # forgotten at a revoke: the last one we saw
        else:
            self._known[tp] = committed
        if acked and committed is not None:
            lowest = min([min(acked), *(iv.begin for iv in self.consumer._gap.get(tp, ()))])
            if lowest > committed:
                self._hole(tp, committed)
                return None
        self._holes.pop(tp, None)
        return self._faust_new_offset(tp)

    def _hole(self, tp: Any, offset: int) -> None:
        now = self.clock()
        seen = self._holes.get(tp)
        if seen is None or seen[0] != offset:
            self._holes[tp] = (offset, now)
            return
        if now - seen[1] < self.grace_s:
            return
        self._holes[tp] = (offset, now)
        if tp not in self.consumer.assignment():
            return
        log.warning("%s offset %d was never processed (events after it were): not committing "
                    "past it; fetching the partition again from there", tp, offset)
        seek = asyncio.ensure_future(self.consumer.seek(tp, offset))
        self._seeks.add(seek)
        seek.add_done_callback(self._seeks.discard)


def install_commit_guard(app: Any, topics: Iterable[str]) -> CommitGuard:
    """Install a :class:`CommitGuard` on the app's consumer for ``topics``."""
    guard = CommitGuard(app.consumer, topics)
    guard.install()
    return guard


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
                 "seek_to_committed", "earliest_offsets"):
        if not hasattr(consumer, name):
            raise FaustIncompatible(f"Faust's Consumer.{name} is missing")
    flow = app.flow_control
    events = [getattr(flow, name, None) for name in ("_suspend", "_resume")]
    if not all(callable(getattr(e, "set", None)) and callable(getattr(e, "clear", None))
               for e in events):
        raise FaustIncompatible("mode's FlowControlEvent._suspend/_resume are no longer events")
