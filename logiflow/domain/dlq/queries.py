"""Questions asked of the DLQ index: which entries match, how deep it is, what a replay does. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from logiflow.domain.dlq.headers import H_TRUNCATED, header
from logiflow.domain.dlq.index import STATUSES, Entry
from logiflow.domain.model import SourceRecord

OPEN_STATUSES = ("new", "replayed", "parked")


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
        return ((not self.ids or e["id"] in self.ids)
                and (self.status is None or e["status"] == self.status)
                and (self.topic is None or e["sourceTopic"] == self.topic)
                and (self.error_class is None or e["errorClass"] == self.error_class
                     or e["reason"] == self.error_class)
                and (self.truck is None or e["truckId"] == self.truck)
                and (self.since_ms is None or e["lastFailure"] >= self.since_ms)
                and (self.until_ms is None or e["lastFailure"] <= self.until_ms))


def select(entries: Iterable[Entry], query: Query, limit: int | None = None) -> list[Entry]:
    """Entries matching ``query``, newest failure first."""
    found = sorted((e for e in entries if query.matches(e)),
                   key=lambda e: (e["lastFailure"], e["id"]), reverse=True)
    return found[:limit] if limit is not None else found


def summary(entries: Iterable[Entry], now_ms: int) -> dict[str, Any]:
    """Depth and oldest age of open entries, by error class and by source topic."""
    by_class: dict[str, dict[str, Any]] = {}
    by_topic: dict[str, dict[str, Any]] = {}
    statuses = dict.fromkeys(STATUSES, 0)
    for e in entries:
        statuses[e["status"]] = statuses.get(e["status"], 0) + 1
        if e["status"] not in OPEN_STATUSES:
            continue
        age = max(0, now_ms - (e["firstFailure"] or now_ms)) / 1000
        for group, name in ((by_class, e["errorClass"] or "?"), (by_topic, e["sourceTopic"] or "?")):
            slot = group.setdefault(name, {"depth": 0, "oldestAgeS": 0.0})
            slot["depth"] += 1
            slot["oldestAgeS"] = max(slot["oldestAgeS"], round(age, 1))
    depth = sum(v["depth"] for v in by_class.values())
    return {"depth": depth, "statuses": statuses, "byErrorClass": by_class, "byTopic": by_topic}


def plan_replay(entry: Entry, record: SourceRecord | None, cap: int,
                force: bool = False) -> tuple[str, str]:
    """What a replay of ``entry`` (its DLQ record: ``record``) would do: (action, detail).

    The action is ``replay``, ``park`` (at the replay cap) or ``skipped``. ``force`` also
    replays resolved and discarded entries (idempotent invoicing makes that safe); the replay
    cap still applies.
    """
    status = entry["status"]
    if status in ("resolved", "discarded") and not force:
        return "skipped", f"status is {status}"
    if record is None:
        return "skipped", "its DLQ record is no longer in the topic (retention)"
    if header(record.headers, H_TRUNCATED) == "true":
        return "skipped", "the payload was truncated in the DLQ; replay it from the source system"
    if entry["replayCount"] >= cap or status == "parked":
        return "park", f"replayed {entry['replayCount']} times; cap is {cap}"
    return "replay", f"replay #{entry['replayCount'] + 1} to {entry['sourceTopic']}"
