"""The DLQ index: one entry per failed message, folded from the DLQ topic. Pure: no I/O.

The worker's ``dlq-entries`` table and the broker-only ``logiflow dlq`` commands keep the same
fold. An entry is a JSON object (camelCase, as the table stores it and the web API shows it);
:class:`Entry` names its keys so that mypy checks every read.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, MutableMapping
from typing import Any, NotRequired, TypedDict

from logiflow.domain.dlq.headers import (
    H_AGENT,
    H_ATTEMPTS,
    H_ERROR_CLASS,
    H_ERROR_MESSAGE,
    H_EVENT,
    H_FIRST_FAILURE,
    H_GROUP,
    H_ID,
    H_KIND,
    H_LAST_FAILURE,
    H_OFFSET,
    H_PARTITION,
    H_REASON,
    H_REPLAY_COUNT,
    H_SHA256,
    H_SIZE,
    H_STACKTRACE,
    H_TIMESTAMP,
    H_TOPIC,
    H_TRUCK,
    H_TRUNCATED,
    H_VERSION,
    Headers,
    header,
    original_headers,
)
from logiflow.domain.dlq.records import parse_lifecycle

STATUSES = ("new", "replayed", "resolved", "discarded", "parked")
MAX_HISTORY = 50
PREVIEW_BYTES = 2048


class HistoryItem(TypedDict):
    """One line of an entry's audit trail: a failure or a lifecycle event."""

    at: int | None
    action: str  # failed | replayed | resolved | discarded | parked
    by: str | None
    detail: str


class Entry(TypedDict):
    """One failed message, as the ``dlq-entries`` table stores it (JSON)."""

    id: str
    status: str  # one of STATUSES
    failures: int  # failure records folded (a replay that fails again adds one)
    history: list[HistoryItem]  # the latest MAX_HISTORY items
    replayCount: int
    sourceTopic: str
    sourcePartition: int
    sourceOffset: int
    sourceTimestamp: int | None
    group: str
    agent: str
    kind: str  # poison | transient | unexpected
    reason: str
    errorClass: str
    errorMessage: str
    stacktrace: str
    attempts: int
    firstFailure: int  # epoch ms
    lastFailure: int  # epoch ms
    version: str
    truckId: str | None
    key: str | None  # base64
    valueSize: int
    valueSha256: str
    truncated: bool
    preview: str  # base64 of the first PREVIEW_BYTES of the value
    headers: list[list[str]]  # the original headers as [name, base64 value]
    dlqPartition: int  # where the latest failure record is (what a replay re-publishes)
    dlqOffset: int
    # The highest DLQ offset folded into the entry (failure or lifecycle). Entries written
    # before it existed lack it.
    lastDlqOffset: NotRequired[int]
    resolvedReplay: NotRequired[int | None]  # the replay a "resolved" event named


def _already_folded(entry: Entry, dlq_offset: int) -> bool:
    """True for a record at or below the last DLQ offset folded into ``entry``: a redelivery.

    The DLQ topic has one partition, so its offsets order failures and lifecycle events alike;
    after a restart the consumer resumes from its last committed offset and sees the records
    after it again. Entries indexed before ``lastDlqOffset`` existed fall back to ``dlqOffset``.
    """
    return dlq_offset <= entry.get("lastDlqOffset", entry["dlqOffset"])


def _history(entry: Entry | None, item: HistoryItem) -> list[HistoryItem]:
    return [*(entry["history"] if entry else []), item][-MAX_HISTORY:]


def apply_record(entry: Entry | None, headers: Headers, key: bytes | None, value: bytes,
                 dlq_partition: int, dlq_offset: int) -> Entry:
    """Fold a DLQ failure record into its entry (a repeat failure after a replay reopens it).

    A redelivered record (``dlq_offset`` already folded) returns ``entry`` unchanged.
    """
    def h(name: str, default: str = "") -> str:
        return header(headers, name) or default

    def num(name: str) -> int:
        try:
            return int(h(name, "0"))
        except ValueError:
            return 0

    if entry is not None and _already_folded(entry, dlq_offset):
        return entry
    status = entry["status"] if entry and entry["status"] in ("discarded", "parked") else "new"
    new = Entry(
        id=h(H_ID), status=status, failures=(entry["failures"] if entry else 0) + 1,
        history=_history(entry, HistoryItem(at=num(H_LAST_FAILURE), action="failed", by=h(H_AGENT),
                                            detail=f"{h(H_KIND)}: {h(H_REASON)}")),
        replayCount=max(entry["replayCount"] if entry else 0, num(H_REPLAY_COUNT)),
        sourceTopic=h(H_TOPIC), sourcePartition=num(H_PARTITION), sourceOffset=num(H_OFFSET),
        sourceTimestamp=num(H_TIMESTAMP) or None, group=h(H_GROUP), agent=h(H_AGENT),
        kind=h(H_KIND), reason=h(H_REASON), errorClass=h(H_ERROR_CLASS),
        errorMessage=h(H_ERROR_MESSAGE), stacktrace=h(H_STACKTRACE), attempts=num(H_ATTEMPTS),
        firstFailure=(entry["firstFailure"] if entry else 0) or num(H_FIRST_FAILURE),
        lastFailure=num(H_LAST_FAILURE), version=h(H_VERSION), truckId=header(headers, H_TRUCK),
        key=base64.b64encode(key).decode() if key is not None else None,
        valueSize=num(H_SIZE), valueSha256=h(H_SHA256), truncated=h(H_TRUNCATED) == "true",
        preview=base64.b64encode(value[:PREVIEW_BYTES]).decode(),
        headers=[[k, base64.b64encode(v).decode()] for k, v in original_headers(headers)],
        dlqPartition=dlq_partition, dlqOffset=dlq_offset, lastDlqOffset=dlq_offset,
    )
    if entry and "resolvedReplay" in entry:
        new["resolvedReplay"] = entry["resolvedReplay"]
    return new


def apply_lifecycle(entry: Entry | None, event: Mapping[str, Any], dlq_offset: int) -> Entry | None:
    """Fold a lifecycle event read at ``dlq_offset``. None when the entry is unknown.

    A redelivered event (``dlq_offset`` already folded) returns ``entry`` unchanged.
    """
    if entry is None:
        return None
    if _already_folded(entry, dlq_offset):
        return entry
    new = entry.copy()
    new["lastDlqOffset"] = dlq_offset
    action = event["action"]
    count = event.get("replayCount")
    if action == "replayed":
        new["replayCount"] = max(new["replayCount"], int(count or 0))
        # Not if a resolution of this same replay is already folded: two operators replaying
        # the entry at once both send replay #n, and the first may be resolved in between.
        if not (new["status"] == "resolved" and new.get("resolvedReplay") == count):
            new["status"] = "replayed"
    elif action == "resolved":
        new["status"] = "resolved"
        new["resolvedReplay"] = count
    elif action in ("discarded", "parked"):
        new["status"] = action
    new["history"] = _history(new, HistoryItem(at=event.get("at"), action=action,
                                               by=event.get("by"), detail=event.get("reason", "")))
    return new


class Indexer:
    """Folds the records of the DLQ topic, in offset order, into ``entries`` (a dict or a Faust table).

    Failures and lifecycle events share the topic's one partition, and every lifecycle event is
    written after the failure record it names (an operator acts on an indexed entry; a
    resolution follows a replay of that record). So an event for an entry that is not in
    ``entries`` has no record to wait for (it expired under retention, or was written by hand):
    it folds to nothing.
    """

    def __init__(self, entries: MutableMapping[str, Entry]) -> None:
        self.entries = entries

    def on_record(self, headers: Headers, key: bytes | None, value: bytes, partition: int,
                  offset: int) -> str | None:
        """Fold one DLQ failure record; returns its entry id (None for a record without one)."""
        entry_id = header(headers, H_ID)
        if not entry_id:
            return None
        old = self.entries.get(entry_id)
        entry = apply_record(old, headers, key, value, partition, offset)
        if entry is not old:  # a redelivery changes nothing: no table (changelog) write
            self.entries[entry_id] = entry
        return entry_id

    def on_message(self, headers: Headers, key: bytes | None, value: bytes, partition: int,
                   offset: int) -> bool:
        """Fold any record of the DLQ topic; False if it is neither a failure nor a lifecycle event."""
        if header(headers, H_ID):
            self.on_record(headers, key, value, partition, offset)
            return True
        if header(headers, H_EVENT) == "lifecycle":
            return self.on_lifecycle(value, offset)
        return False

    def on_lifecycle(self, raw: bytes, offset: int) -> bool:
        """Fold one lifecycle event read at DLQ ``offset``; False if it is unreadable."""
        event = parse_lifecycle(raw)
        if event is None:
            return False
        old = self.entries.get(event["entryId"])
        folded = apply_lifecycle(old, event, offset)
        if folded is not None and folded is not old:
            self.entries[event["entryId"]] = folded
        return True
