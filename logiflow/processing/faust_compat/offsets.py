"""Faust's offset bookkeeping, made safe: no commit past an unprocessed event, none dropped.

Part of :mod:`logiflow.processing.faust_compat` (the one place Faust internals are touched,
checked at worker start by its :func:`~logiflow.processing.faust_compat.check`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from aiokafka.errors import KafkaError

log = logging.getLogger(__name__)


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
    and the clients it documents, are not transactional. Offsets that retention deleted before
    they were processed are the one hole accepted, with an error: they cannot be fetched again.
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
        seek = asyncio.ensure_future(self._refetch(tp, offset))
        self._seeks.add(seek)
        seek.add_done_callback(self._seeks.discard)

    async def _refetch(self, tp: Any, offset: int) -> None:
        """Seek ``tp`` back to ``offset``; if retention deleted it, accept the loss, loudly."""
        first = (await self.consumer.earliest_offsets(tp)).get(tp) or 0
        if first > offset:
            log.error("%s offsets %d-%d were deleted by retention before they were processed; "
                      "continuing from %d", tp, offset, first - 1, first)
            self._known[tp] = first
            self.consumer._committed_offset[tp] = first
            offset = first
        await self.consumer.seek(tp, offset)


class DropGuard:
    """Fetch again, at once, the events Faust fetched and then dropped for a paused partition.

    Faust's ``Consumer.getmany`` delivers a fetched record only if its partition is still
    active when its turn comes; a partition paused meanwhile (the invoice agent's circuit
    breaker pauses its partitions while a batch is in hand) has the rest of its records dropped,
    and the fetch position is already past them. The next record of that partition then looks
    to Faust like a gap (compaction, a transaction marker), which it counts as processed and
    commits past: the dropped events were lost (found by the renderer-outage test: offsets
    43-69, 70-118 and 69-118 of three partitions never invoiced, committed past). The guard
    sees which fetched records of a guarded topic were not delivered and seeks their partition
    back to the first of them before the next fetch, so nothing is skipped and no gap appears.
    Records dropped because the generation changed or the flow stopped (a rebalance) are left
    to the seek to the committed offsets that follows every rebalance.
    """

    def __init__(self, app: Any, topics: Iterable[str]) -> None:
        self.app, self.consumer, self.guarded = app, app.consumer, frozenset(topics)
        self._fetched: Mapping[Any, list[Any]] | None = None
        self.refetched = 0  # partitions sought back (read by the tests)

    def install(self) -> None:
        self._faust_wait_next_records = self.consumer._wait_next_records
        self._faust_getmany = self.consumer.getmany
        self.consumer._wait_next_records = self.wait_next_records
        self.consumer.getmany = self.getmany

    async def wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        records, active = await self._faust_wait_next_records(timeout)
        self._fetched = records
        return records, active

    async def getmany(self, timeout: float) -> Any:
        generation = self.app.consumer_generation_id
        delivered: dict[Any, int] = {}
        self._fetched = None
        try:
            async for tp, message in self._faust_getmany(timeout=timeout):
                delivered[tp] = message.offset
                yield tp, message
        finally:
            fetched, self._fetched = self._fetched, None
            if fetched and generation == self.app.consumer_generation_id \
                    and self.consumer.flow_active and not self.consumer.should_stop:
                await self._refetch_dropped(fetched, delivered)

    async def _refetch_dropped(self, fetched: Mapping[Any, list[Any]],
                               delivered: Mapping[Any, int]) -> None:
        for tp, records in fetched.items():
            if tp.topic not in self.guarded or not records:
                continue
            last = delivered.get(tp, -1)
            dropped = [r.offset for r in records if r.offset > last]
            if not dropped or tp not in self.consumer.assignment():
                continue
            log.info("%s/%d offsets %d-%d were fetched while the partition was paused; "
                     "fetching them again", tp.topic, tp.partition, dropped[0], dropped[-1])
            self.refetched += 1
            try:
                await self.consumer.seek(tp, dropped[0])
            except (KafkaError, ValueError) as exc:  # revoked meanwhile: keep Faust fetching
                # The CommitGuard still refuses to commit past them and re-fetches the hole.
                log.warning("%s/%d could not be sought back to %d: %r", tp.topic, tp.partition,
                            dropped[0], exc)


def install_drop_guard(app: Any, topics: Iterable[str]) -> DropGuard:
    """Install a :class:`DropGuard` on the app's consumer for ``topics``."""
    guard = DropGuard(app, topics)
    guard.install()
    return guard


def install_commit_guard(app: Any, topics: Iterable[str]) -> CommitGuard:
    """Install a :class:`CommitGuard` on the app's consumer for ``topics``."""
    guard = CommitGuard(app.consumer, topics)
    guard.install()
    return guard
