"""The headers LogiFlow puts on DLQ and replayed records, and reading headers. Pure: no I/O.

A DLQ record keeps the failed message's own headers and adds context headers under
``logiflow.dlq.*`` (modelled on Kafka Connect's ``__connect.errors.*`` and Spring's
``kafka_dlt-*``). All values are UTF-8 text:

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

Lifecycle records on the same topic carry ``logiflow.dlq.event: lifecycle`` instead.

A replayed message carries ``logiflow.replay.entry`` (entry id), ``logiflow.replay.count`` and
``logiflow.replay.from`` (dlq topic/partition@offset); its ``logiflow.dlq.*`` headers are removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DLQ_PREFIX = "logiflow.dlq."
REPLAY_PREFIX = "logiflow.replay."

H_ID = DLQ_PREFIX + "id"
H_TOPIC = DLQ_PREFIX + "topic"
H_PARTITION = DLQ_PREFIX + "partition"
H_OFFSET = DLQ_PREFIX + "offset"
H_TIMESTAMP = DLQ_PREFIX + "timestamp"
H_GROUP = DLQ_PREFIX + "group"
H_AGENT = DLQ_PREFIX + "agent"
H_KIND = DLQ_PREFIX + "kind"
H_REASON = DLQ_PREFIX + "reason"
H_ERROR_CLASS = DLQ_PREFIX + "error.class"
H_ERROR_MESSAGE = DLQ_PREFIX + "error.message"
H_STACKTRACE = DLQ_PREFIX + "error.stacktrace"
H_ATTEMPTS = DLQ_PREFIX + "attempts"
H_FIRST_FAILURE = DLQ_PREFIX + "first.failure"
H_LAST_FAILURE = DLQ_PREFIX + "last.failure"
H_VERSION = DLQ_PREFIX + "version"
H_REPLAY_COUNT = DLQ_PREFIX + "replay.count"
H_TRUCK = DLQ_PREFIX + "truck"
H_TRUNCATED = DLQ_PREFIX + "value.truncated"
H_SIZE = DLQ_PREFIX + "value.size"
H_SHA256 = DLQ_PREFIX + "value.sha256"
H_EVENT = DLQ_PREFIX + "event"  # "lifecycle" on lifecycle records; absent on failure records
LIFECYCLE_HEADERS: list[tuple[str, bytes]] = [(H_EVENT, b"lifecycle")]

H_REPLAY_ENTRY = REPLAY_PREFIX + "entry"
H_REPLAY_N = REPLAY_PREFIX + "count"
H_REPLAY_FROM = REPLAY_PREFIX + "from"

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


def original_headers(headers: Headers) -> list[tuple[str, bytes]]:
    """The headers that are not ours: without any ``logiflow.dlq.*`` or ``logiflow.replay.*``."""
    return [(k, v) for k, v in headers if not k.startswith((DLQ_PREFIX, REPLAY_PREFIX))]


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
