"""What goes onto the DLQ topic: failure records and lifecycle events. Pure: no I/O.

A failure record keeps the failed message exactly (its key, its raw value bytes and its own
headers) plus the context headers of :mod:`logiflow.domain.dlq.headers`. Lifecycle changes
(replayed, resolved, discarded, parked) are small JSON records on the same single-partition
topic, marked ``logiflow.dlq.event: lifecycle``, so failures and their lifecycle are totally
ordered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from logiflow.domain.dlq.headers import (
    H_AGENT,
    H_ATTEMPTS,
    H_ERROR_CLASS,
    H_ERROR_MESSAGE,
    H_FIRST_FAILURE,
    H_GROUP,
    H_ID,
    H_KIND,
    H_LAST_FAILURE,
    H_OFFSET,
    H_PARTITION,
    H_REASON,
    H_REPLAY_COUNT,
    H_REPLAY_ENTRY,
    H_REPLAY_FROM,
    H_REPLAY_N,
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
from logiflow.domain.model import SourceRecord

ACTIONS = ("replayed", "resolved", "discarded", "parked")
MAX_STACKTRACE = 8 * 1024
MAX_MESSAGE = 1024


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
    """A record to produce to the DLQ topic (it has no position until the broker gives it one)."""

    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def build_record(f: Failure, max_value_bytes: int) -> DlqRecord:
    """The DLQ record for a failure: original key, value and headers plus context headers."""
    src = f.source
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
                     headers=original_headers(src.headers) + [(k, v.encode("utf-8")) for k, v in context])


def replay_headers(record_headers: Headers, entry_id: str, replay_count: int,
                   source: str) -> list[tuple[str, bytes]]:
    """Headers for re-publishing a DLQ record: the originals, plus the replay references."""
    return [*original_headers(record_headers), (H_REPLAY_ENTRY, entry_id.encode()),
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
