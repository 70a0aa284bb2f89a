"""Dead-letter records, their headers, and the DLQ index as a fold. Pure: no I/O.

A DLQ record keeps the failed message exactly: its key, its raw value bytes and its own headers,
plus context headers under ``logiflow.dlq.*`` (modelled on Kafka Connect's ``__connect.errors.*``
and Spring's ``kafka_dlt-*``). Lifecycle changes (replayed, resolved, discarded, parked) are
small JSON records on the same single-partition topic, marked ``logiflow.dlq.event: lifecycle``,
so failures and their lifecycle are totally ordered; the index folds them into one entry per
failure.

Header reference (all values UTF-8 text):

===============================  ============================================================
``logiflow.dlq.id``              entry id; stable across replays of the same message
``logiflow.dlq.topic``           source topic
``logiflow.dlq.partition``       source partition
``logiflow.dlq.offset``          source offset
``logiflow.dlq.timestamp``       source record timestamp (epoch ms)
``logiflow.dlq.group``           consumer group (Faust app id)
``logiflow.dlq.agent``           the agent that failed
``logiflow.dlq.kind``            poison | transient | unexpected
``logiflow.dlq.reason``          short stable reason code (e.g. invalid-json, render-timeout)
``logiflow.dlq.error.class``     exception class
``logiflow.dlq.error.message``   exception message (bounded)
``logiflow.dlq.error.stacktrace``  traceback (bounded to the last 8 KiB)
``logiflow.dlq.attempts``        attempts made before dead-lettering
``logiflow.dlq.first.failure``   first failure time (epoch ms)
``logiflow.dlq.last.failure``    last failure time (epoch ms)
``logiflow.dlq.version``         LogiFlow version that failed
``logiflow.dlq.replay.count``    how many times this entry was replayed before this failure
``logiflow.dlq.truck``           truck id (the record key), when there is one
``logiflow.dlq.value.truncated`` ``true`` when the value was cut to fit
``logiflow.dlq.value.size``      original value size in bytes
``logiflow.dlq.value.sha256``    SHA-256 of the original value (hex)
===============================  ============================================================

A replayed message carries ``logiflow.replay.entry`` (entry id), ``logiflow.replay.count`` and
``logiflow.replay.from`` (dlq topic/partition@offset); its ``logiflow.dlq.*`` headers are removed.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from logiflow.domain.model import SourceRecord

H = "logiflow.dlq."
H_ID, H_TOPIC, H_PARTITION, H_OFFSET = H + "id", H + "topic", H + "partition", H + "offset"
H_TIMESTAMP, H_GROUP, H_AGENT, H_KIND = H + "timestamp", H + "group", H + "agent", H + "kind"
H_REASON, H_ERROR_CLASS, H_ERROR_MESSAGE = H + "reason", H + "error.class", H + "error.message"
H_STACKTRACE, H_ATTEMPTS = H + "error.stacktrace", H + "attempts"
H_FIRST_FAILURE, H_LAST_FAILURE, H_VERSION = H + "first.failure", H + "last.failure", H + "version"
H_REPLAY_COUNT, H_TRUCK = H + "replay.count", H + "truck"
H_TRUNCATED, H_SIZE, H_SHA256 = H + "value.truncated", H + "value.size", H + "value.sha256"
H_EVENT = H + "event"  # "lifecycle" on lifecycle records; absent on failure records
LIFECYCLE_HEADERS: list[tuple[str, bytes]] = [(H_EVENT, b"lifecycle")]

R = "logiflow.replay."
H_REPLAY_ENTRY, H_REPLAY_N, H_REPLAY_FROM = R + "entry", R + "count", R + "from"

STATUSES = ("new", "replayed", "resolved", "discarded", "parked")
ACTIONS = ("replayed", "resolved", "discarded", "parked")
MAX_STACKTRACE = 8 * 1024
MAX_MESSAGE = 1024
MAX_HISTORY = 50
PREVIEW_BYTES = 2048

Headers = Sequence[tuple[str, bytes]]


def header(headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None, name: str) -> str | None:
    """The last value of header ``name`` as text, or None."""
    if not headers:
        return None
    items = headers.items() if isinstance(headers, Mapping) else headers
    found = None
    for key, value in items:
        if key == name and value is not None:
            found = bytes(value).decode("utf-8", "replace")
    return found


def normalize_headers(headers: Any) -> list[tuple[str, bytes]]:
    """Faust gives headers as a list of tuples or a dict; always return a list of (str, bytes)."""
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for key, value in items:
        name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
        out.append((name, b"" if value is None else bytes(value)))
    return out


@dataclass(frozen=True)
class Failure:
    """What the agent knows when it gives up on a message."""

    source: SourceRecord
    group: str
    agent: str
    kind: str
    reason: str
    error_class: str
    error_message: str
    stacktrace: str
    attempts: int
    first_failure_ms: int
    last_failure_ms: int
    version: str


def entry_id_for(topic: str, partition: int, offset: int) -> str:
    digest = hashlib.sha256(f"{topic}/{partition}@{offset}".encode()).hexdigest()
    return f"dlq-{digest[:16]}"


@dataclass(frozen=True)
class DlqRecord:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def build_record(f: Failure, max_value_bytes: int) -> DlqRecord:
    """The DLQ record for a failure: original key, value and headers plus context headers."""
    src = f.source
    original = [(k, v) for k, v in src.headers
                if not k.startswith(H) and not k.startswith(R)]
    entry_id = header(src.headers, H_REPLAY_ENTRY) or entry_id_for(src.topic, src.partition, src.offset)
    replay_count = header(src.headers, H_REPLAY_N) or "0"
    value = src.value
    context: list[tuple[str, str]] = [
        (H_ID, entry_id), (H_TOPIC, src.topic), (H_PARTITION, str(src.partition)),
        (H_OFFSET, str(src.offset)), (H_GROUP, f.group), (H_AGENT, f.agent), (H_KIND, f.kind),
        (H_REASON, f.reason), (H_ERROR_CLASS, f.error_class),
        (H_ERROR_MESSAGE, f.error_message[:MAX_MESSAGE]),
        (H_STACKTRACE, f.stacktrace[-MAX_STACKTRACE:]), (H_ATTEMPTS, str(f.attempts)),
        (H_FIRST_FAILURE, str(f.first_failure_ms)), (H_LAST_FAILURE, str(f.last_failure_ms)),
        (H_VERSION, f.version), (H_REPLAY_COUNT, replay_count),
        (H_SIZE, str(len(src.value))), (H_SHA256, hashlib.sha256(src.value).hexdigest()),
    ]
    if src.timestamp_ms is not None:
        context.append((H_TIMESTAMP, str(src.timestamp_ms)))
    if src.key is not None:
        context.append((H_TRUCK, src.key.decode("utf-8", "replace")[:200]))
    if len(value) > max_value_bytes:
        value = value[:max_value_bytes]
        context.append((H_TRUNCATED, "true"))
    return DlqRecord(key=src.key, value=value,
                     headers=original + [(k, v.encode("utf-8")) for k, v in context])


def replay_headers(record_headers: Headers, entry_id: str, replay_count: int,
                   source: str) -> list[tuple[str, bytes]]:
    """Headers for re-publishing a DLQ record: the originals, plus the replay references."""
    original = [(k, v) for k, v in record_headers if not k.startswith(H) and not k.startswith(R)]
    return [*original, (H_REPLAY_ENTRY, entry_id.encode()),
            (H_REPLAY_N, str(replay_count).encode()), (H_REPLAY_FROM, source.encode())]


# --- lifecycle events ----------------------------------------------------------------------

def lifecycle_event(entry_id: str, action: str, by: str, at_ms: int, *, reason: str = "",
                    replay_count: int | None = None) -> bytes:
    if action not in ACTIONS:
        raise ValueError(f"unknown DLQ action {action!r}")
    body: dict[str, Any] = {"entryId": entry_id, "action": action, "by": by, "at": at_ms}
    if reason:
        body["reason"] = reason
    if replay_count is not None:
        body["replayCount"] = replay_count
    return json.dumps(body, separators=(",", ":")).encode()


def parse_lifecycle(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or body.get("action") not in ACTIONS or not body.get("entryId"):
        return None
    return body


# --- the index: one entry per failed message -----------------------------------------------

Entry = dict[str, Any]


def _already_folded(entry: Entry, dlq_offset: int) -> bool:
    """True for a record at or below the last DLQ offset folded into ``entry``: a redelivery.

    The DLQ topic has one partition, so its offsets order failures and lifecycle events alike;
    after a restart the consumer resumes from its last committed offset and sees the records
    after it again. Entries indexed before ``lastDlqOffset`` existed fall back to ``dlqOffset``.
    """
    last = entry.get("lastDlqOffset", entry.get("dlqOffset"))
    return last is not None and dlq_offset <= last


def _history(entry: Entry, item: dict[str, Any]) -> list[dict[str, Any]]:
    return [*entry.get("history", []), item][-MAX_HISTORY:]


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
    entry_id = h(H_ID)
    new = dict(entry or {"id": entry_id, "status": "new", "failures": 0, "history": [],
                         "replayCount": 0})
    at = num(H_LAST_FAILURE)
    original_headers = [[k, base64.b64encode(v).decode()] for k, v in headers
                        if not k.startswith(H) and not k.startswith(R)]
    new.update(
        sourceTopic=h(H_TOPIC), sourcePartition=num(H_PARTITION), sourceOffset=num(H_OFFSET),
        sourceTimestamp=num(H_TIMESTAMP) or None, group=h(H_GROUP), agent=h(H_AGENT),
        kind=h(H_KIND), reason=h(H_REASON), errorClass=h(H_ERROR_CLASS),
        errorMessage=h(H_ERROR_MESSAGE), stacktrace=h(H_STACKTRACE), attempts=num(H_ATTEMPTS),
        firstFailure=new.get("firstFailure") or num(H_FIRST_FAILURE), lastFailure=at,
        version=h(H_VERSION), truckId=header(headers, H_TRUCK),
        key=base64.b64encode(key).decode() if key is not None else None,
        valueSize=num(H_SIZE), valueSha256=h(H_SHA256), truncated=h(H_TRUNCATED) == "true",
        preview=base64.b64encode(value[:PREVIEW_BYTES]).decode(),
        headers=original_headers, dlqPartition=dlq_partition, dlqOffset=dlq_offset,
        lastDlqOffset=dlq_offset,
        failures=new.get("failures", 0) + 1,
        replayCount=max(new.get("replayCount", 0), num(H_REPLAY_COUNT)),
    )
    if new.get("status") not in ("discarded", "parked"):
        new["status"] = "new"
    new["history"] = _history(new, {"at": at, "action": "failed", "by": h(H_AGENT),
                                    "detail": f"{h(H_KIND)}: {h(H_REASON)}"})
    return new


def apply_lifecycle(entry: Entry | None, event: Mapping[str, Any], dlq_offset: int) -> Entry | None:
    """Fold a lifecycle event read at ``dlq_offset``. None when the entry is unknown.

    A redelivered event (``dlq_offset`` already folded) returns ``entry`` unchanged.
    """
    if entry is None:
        return None
    if _already_folded(entry, dlq_offset):
        return entry
    new = dict(entry)
    new["lastDlqOffset"] = dlq_offset
    action = event["action"]
    count = event.get("replayCount")
    if action == "replayed":
        new["replayCount"] = max(new.get("replayCount", 0), int(count or 0))
        # A resolution of this same replay may already have been folded (it can race ahead).
        if not (new.get("status") == "resolved" and new.get("resolvedReplay") == count):
            new["status"] = "replayed"
    elif action == "resolved":
        new["status"] = "resolved"
        new["resolvedReplay"] = count
    elif action in ("discarded", "parked"):
        new["status"] = action
    new["history"] = _history(new, {"at": event.get("at"), "action": action,
                                    "by": event.get("by"), "detail": event.get("reason", "")})
    return new


# --- queries -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Query:
    status: str | None = None
    topic: str | None = None
    error_class: str | None = None
    truck: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    ids: tuple[str, ...] = ()

    def matches(self, e: Entry) -> bool:
        return ((not self.ids or e.get("id") in self.ids)
                and (self.status is None or e.get("status") == self.status)
                and (self.topic is None or e.get("sourceTopic") == self.topic)
                and (self.error_class is None or e.get("errorClass") == self.error_class
                     or e.get("reason") == self.error_class)
                and (self.truck is None or e.get("truckId") == self.truck)
                and (self.since_ms is None or (e.get("lastFailure") or 0) >= self.since_ms)
                and (self.until_ms is None or (e.get("lastFailure") or 0) <= self.until_ms))


def select(entries: Iterable[Entry], query: Query, limit: int | None = None) -> list[Entry]:
    """Entries matching ``query``, newest failure first."""
    found = sorted((e for e in entries if query.matches(e)),
                   key=lambda e: (e.get("lastFailure") or 0, e.get("id", "")), reverse=True)
    return found[:limit] if limit is not None else found


def summary(entries: Iterable[Entry], now_ms: int) -> dict[str, Any]:
    """Depth and oldest age of open entries, by error class and by source topic."""
    open_statuses = ("new", "replayed", "parked")
    by_class: dict[str, dict[str, Any]] = {}
    by_topic: dict[str, dict[str, Any]] = {}
    statuses = dict.fromkeys(STATUSES, 0)
    for e in entries:
        statuses[e.get("status", "new")] = statuses.get(e.get("status", "new"), 0) + 1
        if e.get("status") not in open_statuses:
            continue
        age = max(0, now_ms - (e.get("firstFailure") or now_ms)) / 1000
        for group, name in ((by_class, e.get("errorClass") or "?"), (by_topic, e.get("sourceTopic") or "?")):
            slot = group.setdefault(name, {"depth": 0, "oldestAgeS": 0.0})
            slot["depth"] += 1
            slot["oldestAgeS"] = max(slot["oldestAgeS"], round(age, 1))
    depth = sum(v["depth"] for v in by_class.values())
    return {"depth": depth, "statuses": statuses, "byErrorClass": by_class, "byTopic": by_topic}


def describe_payload(raw: bytes) -> dict[str, Any]:
    """A safe view of a payload: decoded JSON, or text, or hex for binary."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"encoding": "hex", "text": raw[:PREVIEW_BYTES].hex(" ")}
    try:
        return {"encoding": "json", "json": json.loads(text)}
    except ValueError:
        return {"encoding": "text", "text": text[:PREVIEW_BYTES]}


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
