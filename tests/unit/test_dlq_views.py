"""The text of ``logiflow dlq list`` and ``show``, from an entry folded the way the index folds it."""

from __future__ import annotations

from logiflow.dlq.views import LIST_HEADER, describe_payload, list_row, show_text, when
from logiflow.domain.dlq.index import Entry, apply_lifecycle, apply_record
from logiflow.domain.dlq.records import Failure, build_record, parse_lifecycle
from logiflow.domain.model import SourceRecord

T0 = 1_795_735_109_000  # 2026-11-26 23:18:29 UTC


def folded() -> tuple[Entry, SourceRecord]:
    source = SourceRecord("routing.events", 3, 42, T0, b"TR-1", b'{"truckId":"TR-1"',
                          [("traceparent", b"00-abc-01")])
    failure = Failure(source, "logiflow", "generate_invoices", "poison", "invalid-json",
                      "PoisonMessage", "invalid-json: Expecting ','", "Traceback ...\nValueError: x",
                      1, T0 + 10, T0 + 20, "0.1.0")
    record = build_record(failure, 1024)
    entry = apply_record(None, record.headers, record.key, record.value, 0, 5)
    event = parse_lifecycle(b'{"entryId":"x","action":"discarded","by":"ops","at":%d,"reason":"dup"}'
                            % (T0 + 60_000))
    assert event is not None
    discarded = apply_lifecycle(entry, event, 6)
    assert discarded is not None
    return discarded, SourceRecord("logiflow.dlq", 0, 5, T0, record.key, record.value, record.headers)


def test_a_list_row_has_one_column_under_each_heading():
    entry, _record = folded()
    row = list_row(entry)
    columns = ["ID", "STATUS", "TOPIC", "KIND", "REASON", "TRUCK"]
    starts = [LIST_HEADER.index(name) for name in columns]
    values = [entry["id"], "discarded", "routing.events", "poison", "invalid-json", "TR-1"]
    assert [row[s:s + len(v)] for s, v in zip(starts, values, strict=True)] == values
    assert row.endswith(when(T0 + 20)) and when(T0 + 20) == "2026-11-26 23:18:29"


def test_show_lists_the_original_and_context_headers_but_not_the_traceback_twice():
    entry, record = folded()
    text = "\n".join(show_text(entry, record, describe_payload(record.value)))
    assert "  traceparent: 00-abc-01" in text
    assert "  logiflow.dlq.reason: invalid-json" in text
    assert "logiflow.dlq.error.stacktrace" not in text
    assert text.count("ValueError: x") == 1
    assert "payload   (text, 17 bytes)" in text
    history = text.split("history\n", 1)[1].splitlines()
    assert [line.split()[2] for line in history] == ["failed", "discarded"]
    assert history[1].endswith("by ops  dup")


def test_an_unknown_time_reads_as_a_dash():
    assert when(None) == "-" and when(0) == "-"
