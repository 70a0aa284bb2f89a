"""Dead-letter records, replay headers, the index fold, queries, and the replay plan. All pure."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from logiflow.dlq.views import describe_payload
from logiflow.domain import dlq
from logiflow.domain.dlq.queries import plan_replay
from logiflow.domain.model import SourceRecord

T0 = 1_795_735_109_000

# The header names documented in logiflow/domain/dlq/headers.py, spelled out: renaming one breaks readers.
CONTEXT_HEADERS = {
    "logiflow.dlq.id", "logiflow.dlq.topic", "logiflow.dlq.partition", "logiflow.dlq.offset",
    "logiflow.dlq.timestamp", "logiflow.dlq.group", "logiflow.dlq.agent", "logiflow.dlq.kind",
    "logiflow.dlq.reason", "logiflow.dlq.error.class", "logiflow.dlq.error.message",
    "logiflow.dlq.error.stacktrace", "logiflow.dlq.attempts", "logiflow.dlq.first.failure",
    "logiflow.dlq.last.failure", "logiflow.dlq.version", "logiflow.dlq.replay.count",
    "logiflow.dlq.truck", "logiflow.dlq.value.size", "logiflow.dlq.value.sha256",
}


SOURCE_FIELDS = ("topic", "partition", "offset", "timestamp_ms", "key", "value", "headers")


def failure(**changes: Any) -> dlq.Failure:
    values: dict[str, Any] = dict(
        topic="routing.events", partition=3, offset=42, timestamp_ms=T0, key=b"TR-1",
        value=b'{"truckId":"TR-1"', headers=[("traceparent", b"00-abc-01"), ("source", b"seed")],
        group="logiflow", agent="generate_invoices", kind="poison", reason="invalid-json",
        error_class="PoisonMessage", error_message="invalid-json: Expecting ','",
        stacktrace="Traceback ...", attempts=1, first_failure_ms=T0 + 10, last_failure_ms=T0 + 20,
        version="0.1.0",
    )
    values.update(changes)
    source = SourceRecord(**{k: values.pop(k) for k in SOURCE_FIELDS})
    return dlq.Failure(source=source, **values)


def as_text(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    return {k: v.decode() for k, v in headers}


def replayed_from(entry_id: str, count: int) -> list[tuple[str, bytes]]:
    return [("traceparent", b"00-abc-01"), (dlq.H_REPLAY_ENTRY, entry_id.encode()),
            (dlq.H_REPLAY_N, str(count).encode()), (dlq.H_REPLAY_FROM, b"logiflow.dlq/0@5")]


# --- building a record ---------------------------------------------------------------------

def test_a_dlq_record_keeps_the_original_key_value_and_headers_first():
    f = failure()
    record = dlq.build_record(f, max_value_bytes=1024)
    assert record.key == b"TR-1"
    assert record.value == f.source.value
    assert record.headers[:2] == [("traceparent", b"00-abc-01"), ("source", b"seed")]


def test_a_dlq_record_carries_every_documented_context_header():
    record = dlq.build_record(failure(), max_value_bytes=1024)
    h = as_text(record.headers)
    assert set(h) - {"traceparent", "source"} == CONTEXT_HEADERS
    assert (h["logiflow.dlq.topic"], h["logiflow.dlq.partition"], h["logiflow.dlq.offset"]) == (
        "routing.events", "3", "42")
    assert (h["logiflow.dlq.kind"], h["logiflow.dlq.reason"], h["logiflow.dlq.truck"]) == (
        "poison", "invalid-json", "TR-1")
    assert h["logiflow.dlq.first.failure"] == str(T0 + 10)
    assert h["logiflow.dlq.last.failure"] == str(T0 + 20)
    assert h["logiflow.dlq.timestamp"] == str(T0)
    assert h["logiflow.dlq.replay.count"] == "0"
    assert "logiflow.dlq.value.truncated" not in h


def test_a_keyless_record_without_timestamp_has_no_truck_or_timestamp_header():
    h = as_text(dlq.build_record(failure(key=None, timestamp_ms=None), 1024).headers)
    assert "logiflow.dlq.truck" not in h and "logiflow.dlq.timestamp" not in h


def test_an_oversized_value_is_truncated_but_its_size_and_hash_describe_the_original():
    original = bytes(range(256)) * 4
    record = dlq.build_record(failure(value=original), max_value_bytes=100)
    h = as_text(record.headers)
    assert record.value == original[:100]
    assert h["logiflow.dlq.value.truncated"] == "true"
    assert h["logiflow.dlq.value.size"] == "1024"
    assert h["logiflow.dlq.value.sha256"] == hashlib.sha256(original).hexdigest()


def test_a_value_exactly_at_the_limit_is_kept_whole():
    record = dlq.build_record(failure(value=b"x" * 100), max_value_bytes=100)
    assert record.value == b"x" * 100
    assert "logiflow.dlq.value.truncated" not in as_text(record.headers)


def test_long_error_messages_are_cut_and_stacktraces_keep_their_last_lines():
    trace = "first line\n" + "x" * (2 * dlq.MAX_STACKTRACE) + "\nValueError: the cause"
    h = as_text(dlq.build_record(failure(error_message="m" * 5000, stacktrace=trace), 1024).headers)
    assert len(h["logiflow.dlq.error.message"]) == dlq.MAX_MESSAGE
    assert len(h["logiflow.dlq.error.stacktrace"]) == dlq.MAX_STACKTRACE
    assert h["logiflow.dlq.error.stacktrace"].endswith("ValueError: the cause")


def test_the_entry_id_depends_only_on_the_source_position():
    a = as_text(dlq.build_record(failure(), 1024).headers)["logiflow.dlq.id"]
    same = as_text(dlq.build_record(failure(kind="transient", value=b"other"), 1024).headers)
    other = as_text(dlq.build_record(failure(offset=43), 1024).headers)
    assert a.startswith("dlq-")
    assert same["logiflow.dlq.id"] == a
    assert other["logiflow.dlq.id"] != a
    assert dlq.entry_id_for("t", 0, 1) != dlq.entry_id_for("t", 1, 0)


def test_a_replayed_message_that_fails_again_keeps_its_entry_id_and_replay_count():
    record = dlq.build_record(failure(offset=900, headers=replayed_from("dlq-original", 2)), 1024)
    h = as_text(record.headers)
    assert h["logiflow.dlq.id"] == "dlq-original"
    assert h["logiflow.dlq.replay.count"] == "2"
    assert not any(k.startswith("logiflow.replay.") for k, _ in record.headers)
    assert record.headers[0] == ("traceparent", b"00-abc-01")


def test_stale_context_headers_on_the_input_are_not_duplicated():
    stale = [("a", b"1"), ("logiflow.dlq.kind", b"poison"), ("logiflow.dlq.id", b"dlq-stale")]
    record = dlq.build_record(failure(headers=stale, kind="transient"), 1024)
    names = [k for k, _ in record.headers]
    assert names.count("logiflow.dlq.kind") == 1 and names.count("logiflow.dlq.id") == 1
    assert as_text(record.headers)["logiflow.dlq.kind"] == "transient"


def test_replay_headers_keep_the_originals_and_replace_dlq_and_old_replay_headers():
    record = dlq.build_record(failure(headers=[("x", b"1"), *replayed_from("dlq-e", 1)[1:],
                                               ("y", b"2")]), 1024)
    out = dlq.replay_headers(record.headers, "dlq-e", 2, "logiflow.dlq/0@17")
    assert out == [("x", b"1"), ("y", b"2"), ("logiflow.replay.entry", b"dlq-e"),
                   ("logiflow.replay.count", b"2"), ("logiflow.replay.from", b"logiflow.dlq/0@17")]


# --- the index fold ------------------------------------------------------------------------

def fold_failure(entry: dlq.Entry | None = None, dlq_offset: int = 0, **changes: Any) -> dlq.Entry:
    record = dlq.build_record(failure(**changes), 1024)
    return dlq.apply_record(entry, record.headers, record.key, record.value, 0, dlq_offset)


def event(action: str, count: int | None = None, at: int = T0 + 100) -> dict[str, Any]:
    parsed = dlq.parse_lifecycle(dlq.lifecycle_event("ignored", action, "ops", at, reason="why",
                                                     replay_count=count))
    assert parsed is not None
    return parsed


def test_a_first_failure_opens_a_new_entry_describing_it():
    entry = fold_failure()
    assert entry["id"] == dlq.entry_id_for("routing.events", 3, 42)
    assert (entry["status"], entry["failures"], entry["replayCount"]) == ("new", 1, 0)
    assert (entry["sourceTopic"], entry["sourcePartition"], entry["sourceOffset"]) == (
        "routing.events", 3, 42)
    assert (entry["kind"], entry["reason"], entry["truckId"]) == ("poison", "invalid-json", "TR-1")
    assert entry["headers"] == [["traceparent", "MDAtYWJjLTAx"], ["source", "c2VlZA=="]]
    assert [h["action"] for h in entry["history"]] == ["failed"]


def test_an_entry_goes_from_new_to_replayed_to_resolved():
    entry = fold_failure()
    entry = dlq.apply_lifecycle(entry, event("replayed", 1), 1)
    assert entry is not None and (entry["status"], entry["replayCount"]) == ("replayed", 1)
    entry = dlq.apply_lifecycle(entry, event("resolved", 1), 2)
    assert entry is not None and entry["status"] == "resolved"
    assert [h["action"] for h in entry["history"]] == ["failed", "replayed", "resolved"]


def test_a_resolution_that_raced_ahead_of_its_replay_event_stays_resolved():
    entry = dlq.apply_lifecycle(fold_failure(), event("resolved", 1), 1)
    entry = dlq.apply_lifecycle(entry, event("replayed", 1), 2)
    assert entry is not None and (entry["status"], entry["replayCount"]) == ("resolved", 1)


def test_a_newer_replay_after_a_resolution_marks_the_entry_replayed_again():
    entry = dlq.apply_lifecycle(fold_failure(), event("resolved", 1), 1)
    entry = dlq.apply_lifecycle(entry, event("replayed", 2), 2)
    assert entry is not None and (entry["status"], entry["replayCount"]) == ("replayed", 2)


def test_a_failure_after_a_replay_reopens_the_entry_and_keeps_its_replay_count():
    first = fold_failure()
    replayed = dlq.apply_lifecycle(first, event("replayed", 1), 1)
    again = fold_failure(replayed, dlq_offset=2, offset=900, headers=replayed_from(first["id"], 1),
                         first_failure_ms=T0 + 5000, last_failure_ms=T0 + 6000)
    assert again["id"] == first["id"]
    assert (again["status"], again["replayCount"], again["failures"]) == ("new", 1, 2)
    assert again["firstFailure"] == T0 + 10 and again["lastFailure"] == T0 + 6000
    assert again["dlqOffset"] == 2


@pytest.mark.parametrize("action", ["discarded", "parked"])
def test_a_discarded_or_parked_entry_is_not_reopened_by_a_later_failure(action):
    first = fold_failure()
    closed = dlq.apply_lifecycle(first, event(action), 1)
    again = fold_failure(closed, dlq_offset=2, headers=replayed_from(first["id"], 1))
    assert again["status"] == action
    assert again["failures"] == 2


def test_the_history_keeps_only_the_latest_items():
    entry = None
    for n in range(dlq.MAX_HISTORY + 7):
        entry = fold_failure(entry, dlq_offset=n, last_failure_ms=T0 + n)
    assert entry is not None
    assert len(entry["history"]) == dlq.MAX_HISTORY
    assert entry["history"][-1]["at"] == T0 + dlq.MAX_HISTORY + 6
    assert entry["history"][0]["at"] == T0 + 7


def test_a_lifecycle_event_for_an_unknown_entry_folds_to_nothing():
    assert dlq.apply_lifecycle(None, event("resolved", 1), 0) is None


def test_unknown_actions_are_refused_and_unreadable_events_are_not_parsed():
    with pytest.raises(ValueError):
        dlq.lifecycle_event("dlq-1", "deleted", "ops", T0)
    for raw in (b"", b"\xff", b"[]", b'{"action":"resolved"}', b'{"entryId":"x","action":"gone"}'):
        assert dlq.parse_lifecycle(raw) is None, raw


def lifecycle_bytes(entry_id: str, action: str, count: int | None = None) -> bytes:
    return dlq.lifecycle_event(entry_id, action, "ops", T0 + 100, reason="why", replay_count=count)


def test_a_redelivered_failure_record_is_not_counted_again():
    first = fold_failure(dlq_offset=7)
    again = fold_failure(first, dlq_offset=7)
    assert again == first
    assert (again["failures"], [h["action"] for h in again["history"]]) == (1, ["failed"])


def test_a_lifecycle_event_folded_twice_at_the_same_offset_changes_nothing_the_second_time():
    once = dlq.apply_lifecycle(fold_failure(dlq_offset=7), event("discarded"), 8)
    assert once is not None
    twice = dlq.apply_lifecycle(once, event("discarded"), 8)
    assert twice == once
    assert [h["action"] for h in once["history"]] == ["failed", "discarded"]


def test_a_failure_record_redelivered_after_a_later_lifecycle_event_changes_nothing():
    replayed = dlq.apply_lifecycle(fold_failure(dlq_offset=7), event("replayed", 1), 8)
    assert replayed is not None
    assert fold_failure(replayed, dlq_offset=7) == replayed


def test_an_entry_indexed_before_last_dlq_offset_existed_dedupes_by_its_dlq_offset():
    old = fold_failure(dlq_offset=7)
    del old["lastDlqOffset"]
    assert fold_failure(old, dlq_offset=7) is old
    assert fold_failure(old, dlq_offset=9)["failures"] == 2


def test_the_indexer_does_not_apply_a_redelivered_lifecycle_event_again():
    entries: dict[str, dlq.Entry] = {}
    indexer = dlq.Indexer(entries)
    record = dlq.build_record(failure(), 1024)
    entry_id = indexer.on_record(record.headers, record.key, record.value, 0, 7)
    assert entry_id is not None
    replayed = lifecycle_bytes(entry_id, "replayed", 1)
    assert indexer.on_message(dlq.LIFECYCLE_HEADERS, entry_id.encode(), replayed, 0, 8)
    once = entries[entry_id]
    assert indexer.on_message(dlq.LIFECYCLE_HEADERS, entry_id.encode(), replayed, 0, 8)
    assert entries[entry_id] == once
    assert [h["action"] for h in entries[entry_id]["history"]] == ["failed", "replayed"]


def test_redelivering_the_tail_of_the_dlq_topic_leaves_the_index_as_it_was():
    """A restart resumes from the last committed offset: everything after it comes again."""
    record = dlq.build_record(failure(), 1024)
    entry_id = dlq.header(record.headers, dlq.H_ID)
    assert entry_id is not None
    again = dlq.build_record(failure(offset=900, headers=replayed_from(entry_id, 1),
                                     last_failure_ms=T0 + 900), 1024)
    topic = [
        (record.headers, record.key, record.value),
        (dlq.LIFECYCLE_HEADERS, entry_id.encode(), lifecycle_bytes(entry_id, "replayed", 1)),
        (again.headers, again.key, again.value),
        (dlq.LIFECYCLE_HEADERS, entry_id.encode(), lifecycle_bytes(entry_id, "parked", 1)),
    ]
    entries: dict[str, dlq.Entry] = {}
    indexer = dlq.Indexer(entries)
    for offset, (headers, key, value) in enumerate(topic):
        assert indexer.on_message(headers, key, value, 0, offset)
    folded = dict(entries)
    for offset, (headers, key, value) in list(enumerate(topic))[1:]:
        assert indexer.on_message(headers, key, value, 0, offset)
    assert entries == folded
    entry = entries[entry_id]
    assert (entry["status"], entry["failures"], entry["replayCount"]) == ("parked", 2, 1)
    assert [h["action"] for h in entry["history"]] == ["failed", "replayed", "failed", "parked"]


def test_the_indexer_drops_a_lifecycle_event_for_an_entry_it_has_not_seen():
    """On the one DLQ partition an event follows its record; one without is an orphan."""
    entries: dict[str, dlq.Entry] = {}
    indexer = dlq.Indexer(entries)
    entry_id = dlq.entry_id_for("routing.events", 3, 42)
    assert indexer.on_lifecycle(dlq.lifecycle_event(entry_id, "discarded", "ops", T0, reason="dup"), 0)
    assert entries == {}
    record = dlq.build_record(failure(), 1024)
    assert indexer.on_record(record.headers, record.key, record.value, 0, 1) == entry_id
    assert entries[entry_id]["status"] == "new"


def test_the_indexer_ignores_records_without_an_id_and_unreadable_events():
    entries: dict[str, dlq.Entry] = {}
    indexer = dlq.Indexer(entries)
    assert indexer.on_record([("x", b"1")], b"k", b"v", 0, 0) is None
    assert indexer.on_lifecycle(b"not json", 1) is False
    assert entries == {}


# --- queries -------------------------------------------------------------------------------

def entry(entry_id: str, last: int, status: str = "new", topic: str = "routing.events",
          error: str = "PoisonMessage", reason: str = "invalid-json", truck: str = "TR-1",
          first: int | None = None) -> dlq.Entry:
    return {"id": entry_id, "status": status, "sourceTopic": topic, "errorClass": error,
            "reason": reason, "truckId": truck, "lastFailure": last,
            "firstFailure": last if first is None else first}


ENTRIES = [
    entry("a", 100),
    entry("b", 300, status="resolved", topic="routing.requests"),
    entry("c", 200, error="RenderTimeout", reason="render-timeout", truck="TR-2"),
    entry("d", 400, status="discarded", truck="TR-2"),
]


def ids(query: dlq.Query, limit: int | None = None) -> list[str]:
    return [e["id"] for e in dlq.select(ENTRIES, query, limit)]


def test_select_without_filters_lists_everything_newest_failure_first():
    assert ids(dlq.Query()) == ["d", "b", "c", "a"]
    assert ids(dlq.Query(), limit=2) == ["d", "b"]


@pytest.mark.parametrize(("query", "expected"), [
    (dlq.Query(status="new"), ["c", "a"]),
    (dlq.Query(topic="routing.requests"), ["b"]),
    (dlq.Query(error_class="RenderTimeout"), ["c"]),
    (dlq.Query(error_class="render-timeout"), ["c"]),
    (dlq.Query(truck="TR-2"), ["d", "c"]),
    (dlq.Query(since_ms=200), ["d", "b", "c"]),
    (dlq.Query(until_ms=300), ["b", "c", "a"]),
    (dlq.Query(since_ms=200, until_ms=300), ["b", "c"]),
    (dlq.Query(ids=("a", "d", "zz")), ["d", "a"]),
    (dlq.Query(status="new", truck="TR-2"), ["c"]),
    (dlq.Query(status="parked"), []),
])
def test_select_filters(query, expected):
    assert ids(query) == expected


def test_the_summary_counts_only_open_entries_by_error_class_and_topic():
    now = 100_000
    entries = [
        entry("a", 0, first=40_000),                                     # new, 60 s old
        entry("b", 0, status="replayed", first=90_000),                  # replayed, 10 s old
        entry("c", 0, status="parked", error="RenderTimeout", topic="invoice.events", first=70_000),
        entry("d", 0, status="resolved", first=0),                       # closed: not counted
        entry("e", 0, status="discarded", error="RenderTimeout", first=0),
    ]
    s = dlq.summary(entries, now)
    assert s["depth"] == 3
    assert s["byErrorClass"] == {"PoisonMessage": {"depth": 2, "oldestAgeS": 60.0},
                                 "RenderTimeout": {"depth": 1, "oldestAgeS": 30.0}}
    assert s["byTopic"] == {"routing.events": {"depth": 2, "oldestAgeS": 60.0},
                            "invoice.events": {"depth": 1, "oldestAgeS": 30.0}}
    assert s["statuses"] == {"new": 1, "replayed": 1, "resolved": 1, "discarded": 1, "parked": 1}


def test_payloads_are_described_as_json_text_or_hex():
    assert describe_payload(b'{"a": [1, 2]}') == {"encoding": "json", "json": {"a": [1, 2]}}
    assert describe_payload(b'{"truckId": "TR-1"') == {"encoding": "text", "text": '{"truckId": "TR-1"'}
    assert describe_payload(b"\xff\x00\x10") == {"encoding": "hex", "text": "ff 00 10"}


# --- the replay plan -----------------------------------------------------------------------

def raw_record(truncated: bool = False) -> SourceRecord:
    record = dlq.build_record(failure(value=b"v" * 50), max_value_bytes=10 if truncated else 1024)
    return SourceRecord("logiflow.dlq", 0, 5, T0, record.key, record.value, record.headers)


@pytest.mark.parametrize(("status", "replays", "record", "force", "action"), [
    ("new", 0, raw_record(), False, "replay"),
    ("replayed", 2, raw_record(), False, "replay"),
    ("resolved", 0, raw_record(), False, "skipped"),
    ("discarded", 0, raw_record(), False, "skipped"),
    ("resolved", 0, raw_record(), True, "replay"),
    ("discarded", 0, raw_record(), True, "replay"),
    ("new", 0, None, False, "skipped"),
    ("new", 0, raw_record(truncated=True), False, "skipped"),
    ("new", 3, raw_record(), False, "park"),
    ("resolved", 3, raw_record(), True, "park"),
    ("parked", 1, raw_record(), False, "park"),
])
def test_the_replay_plan(status, replays, record, force, action):
    planned, detail = plan_replay({"id": "dlq-1", "status": status, "replayCount": replays,
                                   "sourceTopic": "routing.events"}, record, cap=3, force=force)
    assert planned == action, detail


def test_a_planned_replay_names_its_number_and_target_topic():
    _action, detail = plan_replay({"id": "dlq-1", "status": "new", "replayCount": 1,
                                   "sourceTopic": "routing.events"}, raw_record(), cap=3)
    assert detail == "replay #2 to routing.events"
