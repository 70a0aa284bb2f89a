"""BatchWrites: one table write per key per batch, under the event that touched the key last."""

from __future__ import annotations

import contextvars
from typing import Any

from logiflow.processing import faust_compat
from logiflow.processing.batches import BatchWrites
from logiflow.processing.faust_compat import set_current_event as as_current_event


class RecordingTable(dict[str, Any]):
    """A dict that records, per write, the event Faust's tables would write the changelog for."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.writes: list[tuple[str, Any, object]] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.writes.append((key, value, faust_compat.current_event()))
        super().__setitem__(key, value)


class Ev:
    def __init__(self, name: str) -> None:
        self.name = name


def in_own_context(test: Any) -> Any:
    """Run ``test`` in a copy of the context: the current event it sets must not leak."""
    def run() -> None:
        contextvars.copy_context().run(test)
    run.__name__ = test.__name__
    return run


@in_own_context
def test_reads_see_the_batch_folds_and_each_key_is_written_once_under_its_last_event():
    table = RecordingTable({"TR-1": 10})
    writes: BatchWrites[int] = BatchWrites(table)
    e1, e2, e3 = Ev("e1"), Ev("e2"), Ev("e3")
    for event, key in ((e1, "TR-1"), (e2, "TR-2"), (e3, "TR-1")):
        as_current_event(event)
        writes.set(key, (writes.get(key) or 0) + 1)
    assert table.writes == []  # nothing written before the flush
    assert writes.flush() == 2
    assert table.writes == [("TR-1", 12, e3), ("TR-2", 1, e2)]
    assert table == {"TR-1": 12, "TR-2": 1}


@in_own_context
def test_a_flush_starts_the_next_batch_empty():
    table = RecordingTable()
    writes: BatchWrites[int] = BatchWrites(table)
    event = Ev("e1")  # held: Faust keeps only a weak reference to the current event
    as_current_event(event)
    writes.set("TR-1", 1)
    writes.flush()
    assert writes.flush() == 0 and len(table.writes) == 1
    assert writes.get("TR-1") == 1  # read through to the table
