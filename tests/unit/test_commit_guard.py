"""The offset bookkeeping fixes of faust_compat, against Faust's own ``Consumer._new_offset``.

Faust's method runs on a stand-in consumer holding the same structures (acked offsets, gaps,
committed offsets), so each test shows what Faust alone would commit and what the guard does.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.consumer import Consumer
from faust.transport.utils import DefaultSchedulingStrategy
from faust.types import TP
from intervaltree import IntervalTree
from mode.utils.queues import FlowControlEvent, FlowControlQueue

from logiflow.processing.faust_compat import CommitGuard, DropGuard, keep_buffers_on_resume

SOURCE = TP("lf.routing.events", 0)
OTHER = TP("lf-truck-routes-changelog", 0)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def consumer(committed: int | None, acked: list[int], tp: TP = SOURCE) -> Any:
    c = SimpleNamespace(_acked=defaultdict(list), _acked_index=defaultdict(set),
                        _gap=defaultdict(IntervalTree), _committed_offset=defaultdict(lambda: None),
                        seeks=[], assigned={SOURCE, OTHER})
    c._acked[tp].extend(acked)
    c._acked_index[tp].update(acked)
    if committed is not None:
        c._committed_offset[tp] = committed
    c._new_offset = Consumer._new_offset.__get__(c)
    c.assignment = lambda: c.assigned

    async def seek(tp: TP, offset: int) -> None:
        c.seeks.append((tp, offset))

    async def seek_to_committed() -> dict[TP, int | None]:
        return {}

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return {tp: c.first for tp in tps}
    c.first = 0
    c.seek, c.seek_to_committed, c.earliest_offsets = seek, seek_to_committed, earliest_offsets
    return c


def guarded(c: Any, clock: Clock | None = None) -> CommitGuard:
    guard = CommitGuard(c, [SOURCE.topic], grace_s=10.0, clock=clock or Clock())
    guard.install()
    return guard


def test_faust_alone_commits_past_a_one_offset_hole_at_the_committed_offset() -> None:
    assert consumer(10, [11, 12])._new_offset(SOURCE) == 13  # offset 10 was never processed


def test_the_guard_does_not_commit_past_it() -> None:
    c = consumer(10, [11, 12])
    guarded(c)
    assert c._new_offset(SOURCE) is None
    c._acked[SOURCE].append(10)  # processed at last
    assert c._new_offset(SOURCE) == 13


def test_a_run_starting_at_the_committed_offset_is_committed_as_faust_would() -> None:
    c = consumer(10, [10, 11, 12, 14])
    guarded(c)
    assert c._new_offset(SOURCE) == 13


def test_after_a_revoke_the_last_committed_offset_seen_still_bounds_the_commit() -> None:
    c = consumer(10, [10, 11])
    guarded(c)
    assert c._new_offset(SOURCE) == 12
    # A revoke forgets the committed offset and the acks; in-flight events acked after it
    # come after a hole (12-14 dropped): Faust alone would commit 18.
    c._committed_offset.pop(SOURCE)
    c._acked[SOURCE] = [15, 16, 17]
    plain = consumer(None, [15, 16, 17])
    assert plain._new_offset(SOURCE) == 18
    assert c._new_offset(SOURCE) is None


def test_a_gap_below_the_acked_offsets_counts_as_processed_as_in_faust() -> None:
    c = consumer(10, [13, 14])
    c._gap[SOURCE].addi(10, 13)
    guarded(c)
    assert c._new_offset(SOURCE) == 15


def test_a_hole_that_stays_is_fetched_again_from_the_committed_offset() -> None:
    clock = Clock()
    c = consumer(10, [12, 13])
    guarded(c, clock)

    async def commits() -> None:
        assert c._new_offset(SOURCE) is None
        clock.now = 9.0
        assert c._new_offset(SOURCE) is None
        await asyncio.sleep(0)
        assert c.seeks == []  # within the grace: events may still be on their way
        clock.now = 10.5
        assert c._new_offset(SOURCE) is None
        await asyncio.sleep(0)
        assert c.seeks == [(SOURCE, 10)]
        clock.now = 12.0
        assert c._new_offset(SOURCE) is None
        await asyncio.sleep(0)
        assert c.seeks == [(SOURCE, 10)]  # once per grace period, not per commit

    asyncio.run(commits())


def commit_past_the_grace(c: Any) -> None:
    """Guard ``c``, then try to commit twice, the second time after the hole's grace."""
    clock = Clock()
    guarded(c, clock)

    async def commits() -> None:
        c._new_offset(SOURCE)
        clock.now = 11.0
        c._new_offset(SOURCE)
        await asyncio.sleep(0)

    asyncio.run(commits())


def test_a_hole_that_retention_deleted_is_accepted_and_the_commit_goes_on_from_what_is_left(
        caplog: pytest.LogCaptureFixture) -> None:
    c = consumer(10, [600, 601])
    c.first = 500  # offsets 10-499 are gone: they cannot be fetched again
    commit_past_the_grace(c)
    assert c.seeks == [(SOURCE, 500)]
    assert "offsets 10-499 were deleted by retention" in caplog.text
    c._acked[SOURCE].extend(range(500, 600))  # fetched again from 500 and processed
    assert c._new_offset(SOURCE) == 602


def test_a_hole_on_a_partition_no_longer_assigned_is_not_fetched() -> None:
    c = consumer(10, [12])
    c.assigned = set()
    commit_past_the_grace(c)
    assert c.seeks == []


def fresh_consumer(committed: dict[TP, int | None], first: int) -> Any:
    """A stand-in whose seek to the committed offsets behaves as aiokafka's: no seek at 0/None."""
    c = consumer(None, [])
    c.low_level_seeks = []

    async def seek_to_committed() -> dict[TP, int | None]:
        for tp, offset in committed.items():
            if offset and offset > 0:
                c.low_level_seeks.append((tp, offset))
        return dict(committed)

    async def earliest_offsets(*tps: TP) -> dict[TP, int]:
        return {tp: first for tp in tps}

    async def _seek(tp: TP, offset: int) -> None:
        c.low_level_seeks.append((tp, offset))
    c.seek_to_committed, c.earliest_offsets, c._seek = seek_to_committed, earliest_offsets, _seek
    return c


def test_a_partition_never_committed_is_sought_to_its_first_offset() -> None:
    c = fresh_consumer({SOURCE: None, OTHER: None}, first=0)
    guarded(c)
    assert asyncio.run(c.seek_to_committed()) == {SOURCE: None, OTHER: None}
    assert c.low_level_seeks == [(SOURCE, 0)]  # the changelog is left to Faust's recovery


def test_a_partition_committed_at_zero_is_sought_too_and_one_above_is_left_to_faust() -> None:
    third = TP(SOURCE.topic, 2)
    c = fresh_consumer({SOURCE: 0, third: 42}, first=0)
    guarded(c)
    asyncio.run(c.seek_to_committed())
    assert sorted(c.low_level_seeks) == [(SOURCE, 0), (third, 42)]


def test_events_dropped_before_the_first_commit_bound_the_commit() -> None:
    # Offsets 0-99 were fetched and dropped when the flow was suspended; the fetch position
    # stayed at 100 and the first events acked are 100-105. Faust alone commits 106.
    assert consumer(None, list(range(100, 106)))._new_offset(SOURCE) == 106
    c = fresh_consumer({SOURCE: None}, first=0)
    guarded(c)
    asyncio.run(c.seek_to_committed())
    c._acked[SOURCE].extend(range(100, 106))
    assert c._new_offset(SOURCE) is None
    c._acked[SOURCE].extend(range(0, 100))  # fetched again from offset 0 and processed
    assert c._new_offset(SOURCE) == 106


def test_a_truncated_partition_starts_from_its_first_remaining_offset() -> None:
    c = fresh_consumer({SOURCE: None}, first=500)
    guarded(c)
    asyncio.run(c.seek_to_committed())
    assert c.low_level_seeks == [(SOURCE, 500)]
    c._acked[SOURCE].extend([500, 501])
    assert c._new_offset(SOURCE) == 502


def test_other_topics_keep_faust_behaviour() -> None:
    c = consumer(10, [11, 12], tp=OTHER)
    guarded(c)
    assert c._new_offset(OTHER) == 13


def test_resuming_the_flow_keeps_buffered_events() -> None:
    async def resume(patched: bool) -> int:
        flow = FlowControlEvent()
        flow.resume()
        queue: FlowControlQueue[str] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        if patched:
            keep_buffers_on_resume(SimpleNamespace(flow_control=flow))
        await queue.put("fetched after the first seek")
        flow.resume()  # the recovery resumes a second time
        return queue.qsize()

    assert asyncio.run(resume(patched=False)) == 0  # Faust alone: dropped, never acked
    assert asyncio.run(resume(patched=True)) == 1


def fetching_consumer(records: dict[TP, list[int]]) -> Any:
    """A stand-in running Faust's own ``Consumer.getmany`` over one fetch of ``records``."""
    c = consumer(None, [])
    c.active = set(records)
    c.app = SimpleNamespace(consumer_generation_id=1,
                            monitor=SimpleNamespace(track_tp_end_offset=lambda tp, hw: None))
    c.app.consumer = c
    c.flow_active, c.should_stop, c._buffered_partitions = True, False, set()
    c.scheduler = DefaultSchedulingStrategy()
    c.highwater = lambda tp: 100
    c.log = SimpleNamespace(dev=lambda *args: None)
    c._to_message = lambda tp, record: SimpleNamespace(offset=record.offset)
    c.assigned = set(records)

    async def wait_next_records(timeout: float) -> Any:
        return ({tp: [SimpleNamespace(offset=o) for o in offsets]
                 for tp, offsets in records.items()}, c.active)
    c._wait_next_records = wait_next_records
    c.getmany = Consumer.getmany.__get__(c)
    return c


def deliver(c: Any, pause_after: int) -> list[int]:
    """Take one fetch from ``c.getmany``; the partition is paused after ``pause_after``."""
    async def run() -> list[int]:
        got = []
        async for _tp, message in c.getmany(timeout=1.0):
            got.append(message.offset)
            if message.offset == pause_after:
                c.active.discard(SOURCE)  # the breaker opens while the batch is in hand
        return got
    return asyncio.run(run())


def test_faust_alone_drops_what_it_fetched_for_a_partition_paused_meanwhile() -> None:
    c = fetching_consumer({SOURCE: list(range(40, 50))})
    assert deliver(c, pause_after=43) == [40, 41, 42, 43]
    assert c.seeks == []  # 44-49 dropped; the fetch position is past them


def test_the_drop_guard_fetches_them_again_from_the_first_dropped_offset() -> None:
    c = fetching_consumer({SOURCE: list(range(40, 50)), OTHER: [7, 8]})
    guard = DropGuard(c.app, [SOURCE.topic])
    guard.install()
    assert sorted(deliver(c, pause_after=43)) == [7, 8, 40, 41, 42, 43]
    assert c.seeks == [(SOURCE, 44)]  # before the next fetch; the other topic is Faust's
    assert guard.refetched == 1


def test_the_drop_guard_leaves_a_rebalance_to_the_seek_that_follows_it() -> None:
    c = fetching_consumer({SOURCE: list(range(40, 50))})
    DropGuard(c.app, [SOURCE.topic]).install()

    async def run() -> list[int]:
        got = []
        async for _tp, message in c.getmany(timeout=1.0):
            got.append(message.offset)
            c.app.consumer_generation_id = 2  # a rebalance: Faust stops, then seeks to committed
        return got
    assert asyncio.run(run()) == [40]
    assert c.seeks == []


def test_the_start_up_check_accepts_the_installed_faust_and_mode() -> None:
    from logiflow.app import app
    from logiflow.processing import faust_compat

    faust_compat.check(app)  # raises FaustIncompatible if an internal used above moved
